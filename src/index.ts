export * from './core/index.js';
export * from './client/index.js';
