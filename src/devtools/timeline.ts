/**
 * The panel's timeline: draws a history (the race kit's format) into an
 * element, once per animation frame at most however many events arrive.
 */
import type { History } from '../race/history.js';
import { renderTimelineSvg } from './timeline-svg.js';

export interface TimelineView {
  /** Draws `history()` on the next animation frame (once, however often it is called before). */
  schedule(): void;
  stop(): void;
}

export function drawTimeline(element: Element, history: () => History, width: () => number): TimelineView {
  let frame = 0;
  let drawn = '';
  const draw = () => {
    frame = 0;
    const svg = renderTimelineSvg(history(), { width: width(), rows: 'key' });
    // Parsing an unchanged picture again would cost a frame for nothing.
    if (svg !== drawn) element.innerHTML = drawn = svg;
  };
  return {
    schedule: () => void (frame ||= requestAnimationFrame(draw)),
    stop: () => cancelAnimationFrame(frame),
  };
}
