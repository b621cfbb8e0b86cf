// The package's main entry. Where Node's Buffer exists, the core writes UTF-8 with it
// (transport/node-utf8.ts); `chwire/core` alone stays platform-free.
import './transport/node-utf8.js';
export * from './core/index.js';
export * from './client/index.js';
