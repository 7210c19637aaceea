import { describe, expect, it } from 'vitest';
import { parseContract } from './url-contract.js';

describe('parseContract', () => {
  it('no model means the interactive page', () => {
    expect(parseContract('')).toEqual({ ok: true, run: undefined });
    expect(parseContract('?prompt=hi')).toEqual({ ok: true, run: undefined });
  });

  it('reads every parameter', () => {
    expect(parseContract('?model=%2Fm.gguf&prompt=Once%20upon&n=7&temperature=0.5&threads=2&cache=none&chat=0')).toEqual({
      ok: true,
      run: { model: '/m.gguf', prompt: 'Once upon', maxTokens: 7, temperature: 0.5, threads: 2, cache: 'none', chat: false },
    });
  });

  it('defaults: 32 tokens, greedy, engine threads and cache, chat template on', () => {
    expect(parseContract('?model=m.gguf')).toEqual({
      ok: true,
      run: { model: 'm.gguf', prompt: '', maxTokens: 32, temperature: 0, threads: undefined, cache: undefined, chat: true },
    });
  });

  it.each([
    ['?model=m&n=0', 'n must be an integer >= 1, got "0"'],
    ['?model=m&n=1.5', 'n must be an integer >= 1, got "1.5"'],
    ['?model=m&n=99999999999999999999', 'n must be an integer >= 1, got "99999999999999999999"'],
    ['?model=m&threads=-1', 'threads must be an integer >= 1, got "-1"'],
    ['?model=m&temperature=hot', 'temperature must be a number >= 0, got "hot"'],
    ['?model=m&temperature=', 'temperature must be a number >= 0, got ""'],
    ['?model=m&temperature=-1', 'temperature must be a number >= 0, got "-1"'],
    ['?model=m&cache=disk', 'cache must be opfs or none, got "disk"'],
    ['?model=m&chat=yes', 'chat must be 0 or 1, got "yes"'],
  ])('%s is refused, naming the parameter', (search, error) => {
    expect(parseContract(search)).toEqual({ ok: false, error });
  });
});
