/** The logging surface the runtime writes to; inject your own to route or silence messages. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Writes to the console with a level prefix (the default logger). */
export const consoleLogger: Logger = {
  debug: (message) => console.debug(`[smallmind] DEBUG ${message}`),
  info: (message) => console.info(`[smallmind] INFO ${message}`),
  warn: (message) => console.warn(`[smallmind] WARN ${message}`),
  error: (message) => console.error(`[smallmind] ERROR ${message}`),
};

/** Discards everything. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
