/**
 * The panel's timeline: draws a history (the race kit's format) into an
 * element with the race kit's renderer, the one its HTML report uses; the
 * panel calls it from its animation-frame redraw.
 */
import type { History } from '../race/history.js';
import { renderTimelineSvg } from '../race/timeline-svg.js';

export interface TimelineView {
  draw(): void;
}

export function drawTimeline(element: Element, history: () => History, width: () => number): TimelineView {
  let drawn = '';
  return {
    draw() {
      const svg = renderTimelineSvg(history(), { width: width(), rows: 'key' });
      // Parsing an unchanged picture again would cost a frame for nothing.
      if (svg !== drawn) element.innerHTML = drawn = svg;
    },
  };
}
