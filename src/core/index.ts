export * from './errors.js';
export { Cursor } from './io/cursor.js';
export { Writer, concatBytes } from './io/writer.js';
export type { TypeNode, TypeArg } from './types/type-node.js';
