// Nothing: every value is NULL; the body is one '0' byte per row
// (SerializationNothing writes the character '0'; checked against the engine).
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, RowValueError, noPrefix } from './column.js';

export function skipZeroChars(c: Cursor, rows: number): void {
  c.needItems(rows, 1);
  c.pos += rows;
}

export function writeZeroChars(w: Writer, rows: number): void {
  w.ensure(rows);
  w.slab().fill(0x30, w.pos, w.pos + rows);
  w.pos += rows;
}

export function makeNothingCodec(node: TypeNode): Codec<number> {
  return {
    typeName: 'Nothing',
    node,
    readPrefix: noPrefix,
    decode(c: Cursor, rows: number) {
      skipZeroChars(c, rows);
      return rows;
    },
    length: (d) => d,
    get: () => null,
    toArray: (d) => new Array<null>(d).fill(null),
    fromValues(values) {
      for (let i = 0; i < values.length; i++) if (values[i] != null) throw new RowValueError(i, values[i], 'Nothing holds only NULL');
      return values.length;
    },
    writePrefix: noPrefix,
    encode: (w, d) => writeZeroChars(w, d),
    defaultValue: () => null,
  };
}
