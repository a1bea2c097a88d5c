/** The panel's stylesheet, inside its shadow root: nothing leaks into the app, nothing of the app's leaks in. */
export const STYLES: string = `
:host { all: initial; font: 12px/1.4 system-ui, sans-serif; color: #1d1d1f; }
:host([data-floating]) { position: fixed; z-index: 2147483000; }
:host([data-corner="bottom-right"]) { right: 12px; bottom: 12px; }
:host([data-corner="bottom-left"]) { left: 12px; bottom: 12px; }
:host([data-corner="top-right"]) { right: 12px; top: 12px; }
:host([data-corner="top-left"]) { left: 12px; top: 12px; }
.toggle { width: 40px; height: 40px; border-radius: 20px; border: 0; background: #24292f; color: #fff; font: 600 12px system-ui, sans-serif; cursor: pointer; box-shadow: 0 2px 8px #0004; }
/* The panel's redraws stay inside it: they never make the app's page lay out or paint again. */
.panel { contain: content; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; box-shadow: 0 4px 16px #0003; display: flex; flex-direction: column; overflow: hidden; }
:host([data-floating]) .panel { width: min(640px, 90vw); max-height: min(560px, 80vh); }
.panel[hidden], .toggle[hidden] { display: none; }
header { display: flex; align-items: center; gap: 8px; padding: 6px 8px; background: #f6f8fa; border-bottom: 1px solid #d0d7de; }
header strong { flex: 1; }
.body { overflow: auto; padding: 4px 8px 8px; }
h3 { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: #57606a; margin: 10px 0 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 2px 6px 2px 0; border-bottom: 1px solid #f0f0f0; vertical-align: top; }
th { font-weight: 600; color: #57606a; }
ul { margin: 0; padding-left: 16px; }
.muted { color: #8c959f; }
.other { color: #8250df; font-weight: 600; }
.here { color: #0969da; font-weight: 600; }
.warn { color: #cf222e; }
.timeline { overflow-x: auto; contain: content; }
.timeline svg { display: block; }
form { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; }
input, select, button { font: inherit; }
input[type=number] { width: 48px; }
`;
