import type { DecodeOptions, Tokenizer } from '@smallmind/runtime';
import { StopStringMatcher, type StopMatch } from './stop-strings.js';

export interface TextStreamOptions extends DecodeOptions {
  /** Stop strings (default none). */
  readonly stop?: readonly string[];
}

/**
 * Turns generated tokens into text that is safe to show: never half a UTF-8 character (the tokenizer's
 * stream decoder holds incomplete bytes), never the beginning of a stop string that may still complete
 * (held back until ruled out), and nothing from a matched stop string on.
 */
export class GenerationTextStream {
  private readonly decoder;
  private readonly matcher: StopStringMatcher;

  constructor(tokenizer: Tokenizer, options: TextStreamOptions = {}) {
    const { stop, ...decode } = options;
    this.decoder = tokenizer.createStreamDecoder(decode);
    this.matcher = new StopStringMatcher(stop ?? []);
  }

  get stopped(): boolean {
    return this.matcher.stopped;
  }

  /** Adds one generated token. When the result says `stopped`, end generation. */
  push(token: number): StopMatch {
    if (this.matcher.stopped) return { text: '', stopped: true };
    return this.matcher.push(this.decoder.push(token));
  }

  /**
   * The end of generation: incomplete bytes become U+FFFD, held-back text is released (a stop string
   * completed by that last text still stops it).
   */
  flush(): StopMatch {
    if (this.matcher.stopped) return { text: '', stopped: true };
    const last = this.matcher.push(this.decoder.flush());
    if (last.stopped) return last;
    return { text: last.text + this.matcher.flush(), stopped: false };
  }
}
