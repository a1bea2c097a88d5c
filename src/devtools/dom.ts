/** A few lines of DOM building, so that views read as the markup they make. Text is always text (never parsed as HTML). */
export type Child = Node | string | false | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Record<string, string | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== undefined) element.setAttribute(name, value);
  for (const child of children) if (child !== false && child !== undefined) element.append(child);
  return element;
}

/** Replaces `element`'s children. */
export const fill = (element: ParentNode, ...children: Child[]): void => element.replaceChildren(...children.filter((child): child is Node | string => child !== false && child !== undefined));

/** An age in ms, for people. */
export const age = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`);
