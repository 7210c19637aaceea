import { createTokenizer, type Tokenizer } from '@smallmind/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { vocabMetadata } from '../chat/test-support.js';
import { GenerationTextStream } from './text-stream.js';

let qwen: Tokenizer;
let phi: Tokenizer;
beforeAll(async () => {
  qwen = createTokenizer(await vocabMetadata('qwen2'));
  phi = createTokenizer(await vocabMetadata('phi-3'));
});

function stream(tokenizer: Tokenizer, tokens: readonly number[], stop: string[]): { pieces: string[]; stopped: boolean } {
  const s = new GenerationTextStream(tokenizer, { stop });
  const pieces: string[] = [];
  for (const token of tokens) {
    const r = s.push(token);
    pieces.push(r.text);
    if (r.stopped) return { pieces, stopped: true };
  }
  const last = s.flush();
  pieces.push(last.text);
  return { pieces, stopped: last.stopped };
}

describe('GenerationTextStream', () => {
  it('never splits a multi-byte character that spans tokens (SPM byte fallback and byte-level BPE)', () => {
    for (const tokenizer of [phi, qwen]) {
      const text = 'a 𝄞 b 龘 c 🌍';
      const tokens = tokenizer.encode(text, { addBos: false });
      // At least one character must really span tokens, or this test proves nothing.
      const lone = tokens.filter((t) => tokenizer.decode([t]).includes('\uFFFD'));
      expect(lone.length).toBeGreaterThan(1);
      const { pieces } = stream(tokenizer, tokens, []);
      // The stream keeps SPM's leading space (it is text the model produced); decode() drops it.
      expect(pieces.join('')).toBe(tokenizer.kind === 'spm' ? ` ${text}` : text);
      for (const piece of pieces) expect(piece).not.toContain('\uFFFD');
    }
  });

  it('stops at a stop string that spans tokens and holds back its prefix until then', () => {
    const text = 'The answer is 42.\nUser: next question';
    const tokens = qwen.encode(text, { addBos: false });
    const { pieces, stopped } = stream(qwen, tokens, ['\nUser:']);
    expect(stopped).toBe(true);
    expect(pieces.join('')).toBe('The answer is 42.');
    // The stop string is more than one token here, so a prefix of it was held back at some point.
    expect(qwen.encode('\nUser:', { addBos: false }).length).toBeGreaterThan(1);
  });

  it('a stop string ending inside a multi-byte character sequence is matched once the character is complete', () => {
    const tokens = phi.encode('ok 龘 then more', { addBos: false });
    const { pieces, stopped } = stream(phi, tokens, ['龘']);
    expect(stopped).toBe(true);
    expect(pieces.join('')).toBe(' ok ');
    expect(pieces.filter((p) => p.length > 0).length).toBeGreaterThan(0);
  });

  it('a partial stop string at the end is released by flush', () => {
    const tokens = qwen.encode('see you <|im', { addBos: false });
    const { pieces, stopped } = stream(qwen, tokens, ['<|im_end|>']);
    expect(stopped).toBe(false);
    expect(pieces.join('')).toBe('see you <|im');
    expect(pieces.at(-1)!.length).toBeGreaterThan(0);
  });
});
