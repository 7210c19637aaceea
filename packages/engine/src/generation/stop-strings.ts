/** What `StopStringMatcher.push` lets out. */
export interface StopMatch {
  /** Text that can be shown now: it can no longer be part of a stop string. */
  readonly text: string;
  /** A stop string was found: `text` ends just before it and generation should end. */
  readonly stopped: boolean;
  /** The stop string that matched (when `stopped`). */
  readonly stop?: string;
}

/**
 * Finds stop strings in streamed text, even when one spans several tokens. Text that might be the start of
 * a stop string is held back until the next pieces rule it out (then it is released) or complete the match
 * (then it is dropped together with everything after it). Held text never exceeds the longest stop string.
 */
export class StopStringMatcher {
  private readonly stops: readonly string[];
  private held = '';
  private done = false;

  /** Empty strings are ignored (they would match everywhere). */
  constructor(stops: readonly string[]) {
    this.stops = stops.filter((s) => s.length > 0);
  }

  /** Whether a stop string has matched (later pushes return nothing). */
  get stopped(): boolean {
    return this.done;
  }

  push(piece: string): StopMatch {
    if (this.done) return { text: '', stopped: true };
    const text = this.held + piece;
    // The earliest match wins; at the same position the longer stop string (it swallows more).
    let at = -1;
    let match: string | undefined;
    for (const stop of this.stops) {
      const i = text.indexOf(stop);
      if (i >= 0 && (at < 0 || i < at || (i === at && stop.length > match!.length))) {
        at = i;
        match = stop;
      }
    }
    if (match !== undefined) {
      this.done = true;
      this.held = '';
      return { text: text.slice(0, at), stopped: true, stop: match };
    }
    const keep = this.partialSuffix(text);
    this.held = text.slice(text.length - keep);
    return { text: text.slice(0, text.length - keep), stopped: false };
  }

  /** The end of the stream: whatever was held back is just text. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest suffix of `text` that is a proper prefix of some stop string. */
  private partialSuffix(text: string): number {
    let best = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > best; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
