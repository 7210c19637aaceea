/** The logging surface the runtime writes to; inject your own to route or silence messages. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Levels from most to least verbose; a logger prints its level and everything after it. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ConsoleLoggerOptions {
  /** The least severe level printed (default `info`: DEBUG lines, such as kernel memory details, only when asked). */
  readonly level?: LogLevel;
  /** Where each line goes instead of the console (a CLI passes stderr, keeping stdout for its output). */
  readonly write?: (line: string) => void;
}

/** Whether `value` names a log level (for `--log-level`-style settings read from strings). */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

/** A logger writing to the console with a level prefix, dropping messages below `level`. */
export function createConsoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const threshold = LOG_LEVELS.indexOf(options.level ?? 'info');
  if (threshold < 0) throw new RangeError(`log level must be one of ${LOG_LEVELS.join(', ')}, got ${String(options.level)}`);
  const enabled = (level: LogLevel): boolean => LOG_LEVELS.indexOf(level) >= threshold;
  const off = (): void => {};
  const write = options.write;
  const to = (level: 'debug' | 'info' | 'warn' | 'error', sink: (line: string) => void) =>
    enabled(level) ? (message: string) => sink(`[smallmind] ${level.toUpperCase()} ${message}`) : off;
  return {
    debug: to('debug', write ?? ((line) => console.debug(line))),
    info: to('info', write ?? ((line) => console.info(line))),
    warn: to('warn', write ?? ((line) => console.warn(line))),
    error: to('error', write ?? ((line) => console.error(line))),
  };
}

/** The default logger: the console at level `info` (no DEBUG lines). */
export const consoleLogger: Logger = createConsoleLogger();

/** Discards everything. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
