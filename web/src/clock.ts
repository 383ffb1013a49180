/**
 * The countdown shows what the server says is left: each frame that carries `time_remaining_s`
 * re-syncs it, and between frames it only interpolates from the last server value.
 */
export class ServerClock {
  #seconds: number | undefined;
  #at = 0;
  #running = true;
  #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  /**
   * The server said `seconds` are left, now; `running` false when its clock stands still (a paused
   * assessment), so that nothing is interpolated until the next value.
   */
  sync(seconds: number, running = true): void {
    this.#seconds = seconds;
    this.#at = this.#now();
    this.#running = running;
  }

  /** Stops (or restarts) the interpolation at the value shown now, until the server says more. */
  hold(running = false): void {
    const left = this.secondsLeft();
    if (left !== undefined) this.sync(left, running);
    else this.#running = running;
  }

  /** Whole seconds left by the last server value minus the time since it came; undefined before any. */
  secondsLeft(): number | undefined {
    if (this.#seconds === undefined) return undefined;
    if (!this.#running) return Math.max(0, Math.ceil(this.#seconds));
    return Math.max(0, Math.ceil(this.#seconds - (this.#now() - this.#at) / 1000));
  }
}

/** `m:ss`, or `h:mm:ss` from an hour up. */
export function formatClock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A duration in words: "20 minutes", "1 minute 30 seconds", "45 seconds". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = s % 60;
  const parts: string[] = [];
  if (h > 0) parts.push(plural(h, 'hour'));
  if (m > 0) parts.push(plural(m, 'minute'));
  if (rest > 0 || parts.length === 0) parts.push(plural(rest, 'second'));
  return parts.join(' ');
}

/** `1 question`, `3 questions`. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
