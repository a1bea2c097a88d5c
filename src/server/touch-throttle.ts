/**
 * Remembers when each session was last touched, so that a busy session costs
 * one expiry write per interval, not one per request. Per process: several
 * servers each touch at most once per interval.
 */
export class TouchThrottle {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly intervalMs: number,
    /** Bounds memory: past this many sessions the oldest are forgotten (and touched again). */
    private readonly capacity = 10_000,
  ) {}

  due(sessionId: string, now: number): boolean {
    const last = this.last.get(sessionId);
    return last === undefined || now - last >= this.intervalMs;
  }

  done(sessionId: string, now: number): void {
    this.last.delete(sessionId); // re-insert: Map order is then least recently touched first
    this.last.set(sessionId, now);
    if (this.last.size > this.capacity) {
      const oldest = this.last.keys().next().value;
      if (oldest !== undefined) this.last.delete(oldest);
    }
  }
}
