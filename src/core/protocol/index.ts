export * from './revision.js';
export * from './codes.js';
export * from './common.js';
export * from './client-packets.js';
export * from './server-packets.js';
export * from './chunked.js';
export * from './params.js';
export * from './client-name.js';
