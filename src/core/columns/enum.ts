// Enum8 / Enum16: Int8 / Int16 values; JS values are the element names.
import { DecodeError, TypeParseError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, RowValueError, noPrefix } from './column.js';
import { type FixedData, type TypedCtor, typedOf, writeFixed, fixedBody } from './fixed.js';

export function makeEnumCodec(node: TypeNode, typeName: string): Codec<FixedData> {
  const is8 = node.name === 'Enum8';
  const width = is8 ? 1 : 2;
  const ctor = (is8 ? Int8Array : Int16Array) as unknown as TypedCtor;
  const byValue = new Map<number, string>();
  const byName = new Map<string, number>();
  for (const a of node.args) {
    if (a.kind !== 'enum') throw new TypeParseError(`'${typeName}': enum elements must be 'name' = value`);
    const lim = is8 ? 128 : 32768;
    if (a.value < -lim || a.value >= lim) throw new TypeParseError(`'${typeName}': value ${a.value} out of range`);
    // As ClickHouse: each name and each value once (else a value would read back as another name).
    if (byValue.has(a.value)) throw new TypeParseError(`'${typeName}': value ${a.value} is given twice`);
    if (byName.has(a.name)) throw new TypeParseError(`'${typeName}': name '${a.name}' is given twice`);
    byValue.set(a.value, a.name);
    byName.set(a.name, a.value);
  }
  // Dense lookup table for validation and fast get().
  const offset = is8 ? 128 : 32768;
  const names = new Array<string | undefined>(offset * 2);
  for (const [v, n] of byValue) names[v + offset] = n;
  const body = fixedBody(width);
  return {
    typeName,
    node,
    rowBytes: body.rowBytes,
    readPrefix: noPrefix,
    decode(c: Cursor, rows: number) {
      const d = body.decode(c, rows);
      const t = typedOf<Int16Array>(d, ctor);
      for (let i = 0; i < rows; i++) {
        if (names[t[i]! + offset] === undefined) throw new DecodeError(`value ${t[i]} at row ${i} is not an element of ${typeName}`);
      }
      return d;
    },
    length: (d) => d.rows,
    get: (d, i) => names[typedOf<Int16Array>(d, ctor)[i]! + offset],
    toArray: (d) => Array.from(typedOf<Int16Array>(d, ctor), (x) => names[x + offset]),
    fromValues(values) {
      const n = values.length;
      const t = is8 ? new Int8Array(n) : new Int16Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let x: number | undefined;
        if (typeof v === 'string') x = byName.get(v);
        else if (typeof v === 'number' && byValue.has(v)) x = v;
        else if (typeof v === 'bigint' && v >= -32768n && v < 32768n && byValue.has(Number(v))) x = Number(v);
        if (x === undefined) throw new RowValueError(i, v, `not an element of ${typeName}`);
        t[i] = x;
      }
      return { bytes: new Uint8Array(t.buffer), rows: n, typed: t };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => byValue.get(Math.min(...byValue.keys())) ?? '',
  };
}
