export { registerServeCommand, serveOptions, serveUntilSignal } from './command.js';
export type { ServeFlags } from './command.js';
export { ApiError, toApiError } from './errors.js';
export type { ApiErrorType } from './errors.js';
export { startServer } from './server.js';
export type { RunningServer, ServerModelOptions, StartServerOptions } from './server.js';
