export { createServer, type ChwireServer, type ServerOptions, type ServerUser, type QueryLogEntry } from './server.js';
export { serveMain, parseServeArgs, SERVE_USAGE } from './cli.js';
