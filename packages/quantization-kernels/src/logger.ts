/**
 * Where the backend reports what it chose (kernel variant, fallbacks). Every method is optional, so
 * `console`, the runtime's `Logger` or `{}` all fit.
 */
export interface KernelLogger {
  debug?(message: string): void;
  info?(message: string): void;
  warn?(message: string): void;
}
