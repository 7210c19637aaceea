import { describe, expect, it } from 'vitest';
import { StopStringMatcher } from './stop-strings.js';

/** Feeds the pieces one by one; returns what was let out and where it stopped. */
function run(stops: string[], pieces: string[]): { shown: string[]; stopped: boolean; stop?: string } {
  const matcher = new StopStringMatcher(stops);
  const shown: string[] = [];
  for (const piece of pieces) {
    const result = matcher.push(piece);
    shown.push(result.text);
    if (result.stopped) return { shown, stopped: true, ...(result.stop === undefined ? {} : { stop: result.stop }) };
  }
  shown.push(matcher.flush());
  return { shown, stopped: false };
}

describe('StopStringMatcher', () => {
  it('passes text through when no stop string can start in it', () => {
    expect(run(['###'], ['Hello', ' world', '!'])).toEqual({ shown: ['Hello', ' world', '!', ''], stopped: false });
  });

  it('stops at a stop string spanning several pieces and trims it', () => {
    expect(run(['<|end|>'], ['Answer: 4', '<|', 'en', 'd|>', 'never shown'])).toEqual({ shown: ['Answer: 4', '', '', ''], stopped: true, stop: '<|end|>' });
  });

  it('holds back a partial match, then releases it when the next piece rules it out', () => {
    const { shown } = run(['User:'], ['Hi U', 'se', 'ful', ' thing']);
    expect(shown).toEqual(['Hi ', '', 'Useful', ' thing', '']);
    expect(shown.join('')).toBe('Hi Useful thing');
  });

  it('a rejected partial can contain the start of the real match (overlap)', () => {
    // "aaa" is no prefix of "aab", but its last two characters are: only the first "a" is released.
    expect(run(['aab'], ['a', 'a', 'a', 'b'])).toEqual({ shown: ['', '', 'a', ''], stopped: true, stop: 'aab' });
    expect(run(['ab'], ['a', 'a', 'b'])).toEqual({ shown: ['', 'a', ''], stopped: true, stop: 'ab' });
  });

  it('text before the stop string in the same piece is kept, text after is dropped', () => {
    expect(run(['\n\n'], ['one\n', '\ntwo'])).toEqual({ shown: ['one', ''], stopped: true, stop: '\n\n' });
    expect(run(['STOP'], ['aSTOPb'])).toEqual({ shown: ['a'], stopped: true, stop: 'STOP' });
  });

  it('the earliest match wins; at the same place the longer stop string; a complete match stops at once', () => {
    expect(run(['b', 'abc'], ['xab'])).toEqual({ shown: ['xa'], stopped: true, stop: 'b' });
    expect(run(['ab', 'abc'], ['xabc'])).toEqual({ shown: ['x'], stopped: true, stop: 'abc' });
    expect(run(['abc', 'ab'], ['ab', 'c'])).toEqual({ shown: [''], stopped: true, stop: 'ab' });
  });

  it('flush releases a partial match at the end, and nothing after a stop', () => {
    expect(run(['<|im_end|>'], ['done', '<|im'])).toEqual({ shown: ['done', '', '<|im'], stopped: false });
    const matcher = new StopStringMatcher(['x']);
    expect(matcher.push('axb')).toEqual({ text: 'a', stopped: true, stop: 'x' });
    expect(matcher.stopped).toBe(true);
    expect(matcher.push('more')).toEqual({ text: '', stopped: true });
    expect(matcher.flush()).toBe('');
  });

  it('holds back at most the longest stop string less one character', () => {
    const matcher = new StopStringMatcher(['aaaaX', 'bY', '']);
    expect(matcher.push('zzaaaa').text).toBe('zz');
    expect(matcher.push('aaa').text).toBe('aaa');
    expect(matcher.flush()).toBe('aaaa');
  });

  it('works on text with multi-byte characters and surrogate pairs', () => {
    expect(run(['🛑'], ['héllo ', '🌍 ', '🛑', 'x'])).toEqual({ shown: ['héllo ', '🌍 ', ''], stopped: true, stop: '🛑' });
  });
});
