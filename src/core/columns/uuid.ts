// UUID: two UInt64 LE halves, the high half first (so each half's bytes are reversed
// relative to the canonical text).
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, RowValueError, noPrefix } from './column.js';
import { type FixedData, writeFixed, fixedBody } from './fixed.js';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export function formatUuid(b: Uint8Array, off: number): string {
  let s = '';
  for (let k = 7; k >= 0; k--) {
    s += HEX[b[off + k]!];
    if (k === 4) s += '-';
    if (k === 2) s += '-';
  }
  s += '-';
  for (let k = 15; k >= 8; k--) {
    s += HEX[b[off + k]!];
    if (k === 14) s += '-';
  }
  return s;
}

const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

export function parseUuidInto(s: string, dst: Uint8Array, off: number): boolean {
  if (!UUID_RE.test(s)) return false;
  const hex = s.replace(/-/g, '');
  for (let k = 0; k < 8; k++) dst[off + 7 - k] = parseInt(hex.substr(k * 2, 2), 16);
  for (let k = 0; k < 8; k++) dst[off + 15 - k] = parseInt(hex.substr(16 + k * 2, 2), 16);
  return true;
}

export function makeUuidCodec(node: TypeNode): Codec<FixedData> {
  return {
    typeName: 'UUID',
    node,
    readPrefix: noPrefix,
    ...fixedBody(16),
    length: (d) => d.rows,
    get: (d, i) => formatUuid(d.bytes, i * 16),
    toArray: (d) => Array.from({ length: d.rows }, (_, i) => formatUuid(d.bytes, i * 16)),
    fromValues(values) {
      const n = values.length;
      const bytes = new Uint8Array(n * 16);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v !== 'string' || !parseUuidInto(v.trim(), bytes, i * 16)) throw new RowValueError(i, v, 'not a UUID string');
      }
      return { bytes, rows: n };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => '00000000-0000-0000-0000-000000000000',
  };
}
