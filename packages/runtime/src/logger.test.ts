import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleLogger, createConsoleLogger, isLogLevel } from './logger.js';

afterEach(() => vi.restoreAllMocks());

function spyConsole() {
  return {
    debug: vi.spyOn(console, 'debug').mockImplementation(() => {}),
    info: vi.spyOn(console, 'info').mockImplementation(() => {}),
    warn: vi.spyOn(console, 'warn').mockImplementation(() => {}),
    error: vi.spyOn(console, 'error').mockImplementation(() => {}),
  };
}

function logEveryLevel(logger: ReturnType<typeof createConsoleLogger>): void {
  logger.debug('d');
  logger.info('i');
  logger.warn('w');
  logger.error('e');
}

describe('createConsoleLogger', () => {
  it('defaults to info: no DEBUG lines, the rest prefixed with their level', () => {
    const spies = spyConsole();
    logEveryLevel(consoleLogger);
    expect(spies.debug).not.toHaveBeenCalled();
    expect(spies.info).toHaveBeenCalledWith('[smallmind] INFO i');
    expect(spies.warn).toHaveBeenCalledWith('[smallmind] WARN w');
    expect(spies.error).toHaveBeenCalledWith('[smallmind] ERROR e');
  });

  it('prints DEBUG when asked, and only errors (or nothing) at the strict levels', () => {
    let spies = spyConsole();
    logEveryLevel(createConsoleLogger({ level: 'debug' }));
    expect(spies.debug).toHaveBeenCalledWith('[smallmind] DEBUG d');
    vi.restoreAllMocks();
    spies = spyConsole();
    logEveryLevel(createConsoleLogger({ level: 'error' }));
    expect([spies.debug, spies.info, spies.warn].map((s) => s.mock.calls.length)).toEqual([0, 0, 0]);
    expect(spies.error).toHaveBeenCalledTimes(1);
    vi.restoreAllMocks();
    spies = spyConsole();
    logEveryLevel(createConsoleLogger({ level: 'silent' }));
    expect(Object.values(spies).map((s) => s.mock.calls.length)).toEqual([0, 0, 0, 0]);
  });

  it('sends every line to write when given, never to the console', () => {
    const spies = spyConsole();
    const lines: string[] = [];
    logEveryLevel(createConsoleLogger({ level: 'warn', write: (line) => lines.push(line) }));
    expect(lines).toEqual(['[smallmind] WARN w', '[smallmind] ERROR e']);
    expect(Object.values(spies).map((s) => s.mock.calls.length)).toEqual([0, 0, 0, 0]);
  });

  it('rejects an unknown level by name', () => {
    expect(() => createConsoleLogger({ level: 'loud' as never })).toThrow(/loud/);
    expect(isLogLevel('warn')).toBe(true);
    expect(isLogLevel('WARN')).toBe(false);
  });
});
