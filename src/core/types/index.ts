// Type names: parse (string → TypeNode), print (TypeNode → canonical string),
// and argument accessors for the codec registry.

import { TypeParseError } from '../errors.js';
import { quoteForError } from './parser.js';
import { printType } from './printer.js';
import type { TypeArg, TypeNode } from './type-node.js';

export type { TypeArg, TypeNode } from './type-node.js';
export { parseType } from './parser.js';
export { printType, quoteString, backQuoteIfNeed } from './printer.js';

const KIND_WORDS: Record<TypeArg['kind'], string> = {
  type: 'a type',
  number: 'a number',
  string: 'a quoted string',
  enum: 'an enum element',
  function: 'a function',
  setting: 'a setting',
  skip: 'a SKIP clause',
};

function argFail(node: TypeNode, i: number, wanted: string, got: TypeArg | undefined): never {
  const what = got === undefined ? `has only ${node.args.length} argument(s)` : `has ${KIND_WORDS[got.kind]} there`;
  throw new TypeParseError(
    `Bad ClickHouse type ${quoteForError(printType(node))}: argument ${i + 1} must be ${wanted}, but the type ${what}`,
  );
}

/** Argument `i` (0-based) of `node`, which must be a nested type; throws TypeParseError otherwise. */
export function typeArgType(node: TypeNode, i: number): TypeNode {
  const a = node.args[i];
  if (a === undefined || a.kind !== 'type') argFail(node, i, 'a type', a);
  return a.type;
}

/**
 * Argument `i` of `node` as a number. It must be a numeric literal that is a
 * safe integer (FixedString(16), Decimal(9, 2), DateTime64(3), QBit(Float32, 8)).
 */
export function typeArgNumber(node: TypeNode, i: number): number {
  const a = node.args[i];
  if (a === undefined || a.kind !== 'number') argFail(node, i, 'an integer', a);
  const v = Number(a.value);
  if (!/^[+-]?(?:[0-9]+|0[xX][0-9a-fA-F]+|0[bB][01]+)$/.test(a.value) || !Number.isSafeInteger(v)) {
    argFail(node, i, 'an integer', a);
  }
  return v;
}

/** Argument `i` of `node` as an unescaped string literal (DateTime('UTC')). */
export function typeArgString(node: TypeNode, i: number): string {
  const a = node.args[i];
  if (a === undefined || a.kind !== 'string') argFail(node, i, 'a quoted string', a);
  return a.value;
}

/** Argument `i` when present, else undefined (for optional arguments like DateTime's zone). */
export function typeArgOptional(node: TypeNode, i: number): TypeArg | undefined {
  return node.args[i];
}

/** The name of a named element (Tuple(a UInt8), Nested, JSON typed path), or undefined. */
export function typeArgName(node: TypeNode, i: number): string | undefined {
  const a = node.args[i];
  if (a === undefined || a.kind !== 'type') argFail(node, i, 'a type', a);
  return a.name;
}

/** Throws TypeParseError unless `node` has between `min` and `max` arguments. */
export function expectArgCount(node: TypeNode, min: number, max: number = min): void {
  const n = node.args.length;
  if (n < min || n > max) {
    const want = min === max ? `${min}` : `${min} to ${max}`;
    throw new TypeParseError(
      `Bad ClickHouse type ${quoteForError(printType(node))}: expected ${want} argument(s), got ${n}`,
    );
  }
}
