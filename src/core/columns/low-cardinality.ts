// LowCardinality(T) [SerializationLowCardinality.cpp]: prefix UInt64 key version
// (1 = SharedDictionariesWithAdditionalKeys). Body: one or more groups of
//   UInt64 flags (low byte: index width code 0..3 → 1/2/4/8 bytes; bit 9
//   HasAdditionalKeys; bit 10 NeedUpdateDictionary; bit 8 NeedGlobalDictionary is
//   never used on the wire), [keys: UInt64 count + dictionary column of T without
//   Nullable], UInt64 row count, indexes.
// For LowCardinality(Nullable(T)) dictionary slot 0 stands for NULL.
import { DecodeError, LimitError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { Limits } from '../limits.js';
import { type Codec, type AnyCodec, type ValueOptions, RowValueError } from './column.js';

const HAS_ADDITIONAL_KEYS = 1 << 9;
const NEED_UPDATE_DICTIONARY = 1 << 10;
const NEED_GLOBAL_DICTIONARY = 1 << 8;

export interface LowCardinalityGroup {
  /** Dictionary data of the inner (non-Nullable) codec. */
  dict: unknown;
  dictSize: number;
  /** Row index into dict, for rows [rowStart, rowStart + keys.length). */
  keys: Uint32Array;
  rowStart: number;
  /** Index width code (0..3) as received, kept for lossless re-encoding. */
  width: number;
}

export interface LowCardinalityData {
  rows: number;
  groups: LowCardinalityGroup[];
}

function readIndexes(c: Cursor, n: number, width: number, dictSize: number, what: string): Uint32Array {
  const bytes = 1 << width;
  c.needItems(n, bytes);
  const keys = new Uint32Array(n);
  const buf = c.buf;
  let p = c.pos;
  if (width === 0) {
    for (let i = 0; i < n; i++) keys[i] = buf[p + i]!;
  } else {
    const dv = c.view;
    for (let i = 0; i < n; i++) {
      const q = p + i * bytes;
      if (width === 1) keys[i] = dv.getUint16(q, true);
      else if (width === 2) keys[i] = dv.getUint32(q, true);
      else {
        if (dv.getUint32(q + 4, true) !== 0) throw new DecodeError(`${what}: index at row ${i} is not below the dictionary size ${dictSize}`);
        keys[i] = dv.getUint32(q, true);
      }
    }
  }
  p += n * bytes;
  for (let i = 0; i < n; i++) {
    if (keys[i]! >= dictSize) throw new DecodeError(`${what}: index ${keys[i]} at row ${i} is not below the dictionary size ${dictSize}`);
  }
  c.pos = p;
  return keys;
}

/**
 * Dictionary key of a value that is an object: 'D' + time for a Date, 'B' + one char per byte
 * for bytes (kept apart from primitives, which are their own Map keys: a Map never confuses a
 * string with a number, nor these strings with a string value); undefined: not deduplicated.
 */
function objectKey(v: object): string | undefined {
  if (v instanceof Date) return 'D' + v.getTime();
  if (v instanceof Uint8Array) {
    let k = 'B';
    for (let i = 0; i < v.length; i += 4096) k += String.fromCharCode.apply(null, Array.from(v.subarray(i, i + 4096)));
    return k;
  }
  return undefined;
}

export function makeLowCardinalityCodec(node: TypeNode, typeName: string, dictCodec: AnyCodec, nullable: boolean): Codec<LowCardinalityData> {
  const find = (d: LowCardinalityData, i: number): LowCardinalityGroup => {
    const gs = d.groups;
    if (gs.length === 1) return gs[0]!;
    let g = gs[0]!;
    for (const x of gs) if (x.rowStart <= i) g = x;
    return g;
  };
  const rowValue = (d: LowCardinalityData, i: number, o: ValueOptions): unknown => {
    const g = find(d, i);
    const k = g.keys[i - g.rowStart]!;
    if (nullable && k === 0) return null;
    return dictCodec.get(g.dict, k, o);
  };
  return {
    typeName,
    node,
    readPrefix(c) {
      const version = c.u64n('LowCardinality key version');
      if (version !== 1) throw new DecodeError(`${typeName}: unknown LowCardinality serialization version ${version}`);
      return undefined;
    },
    decode(c: Cursor, rows, _prefix, ctx) {
      const groups: LowCardinalityGroup[] = [];
      let done = 0;
      let last: LowCardinalityGroup | undefined;
      while (done < rows) {
        const flagsLo = c.u32();
        const flagsHi = c.u32();
        if (flagsHi !== 0 || (flagsLo & ~(0xff | HAS_ADDITIONAL_KEYS | NEED_UPDATE_DICTIONARY | NEED_GLOBAL_DICTIONARY)) !== 0)
          throw new DecodeError(`${typeName}: unknown index flags 0x${flagsHi.toString(16)}${flagsLo.toString(16).padStart(8, '0')}`);
        const width = flagsLo & 0xff;
        if (width > 3) throw new DecodeError(`${typeName}: unknown index width code ${width}`);
        if (flagsLo & NEED_GLOBAL_DICTIONARY) throw new DecodeError(`${typeName}: global dictionaries are not used on the wire`);
        let dict: unknown;
        let dictSize: number;
        if (flagsLo & HAS_ADDITIONAL_KEYS) {
          dictSize = c.u64n(`${typeName} dictionary size`);
          if (dictSize > Limits.maxArrayElements) throw new LimitError(`${typeName}: dictionary of ${dictSize} keys`);
          dict = dictCodec.decode(c, dictSize, undefined, ctx);
        } else {
          if (!last) throw new DecodeError(`${typeName}: indexes without a dictionary`);
          dict = last.dict;
          dictSize = last.dictSize;
        }
        const n = c.u64n(`${typeName} row count`);
        if (n === 0 || n > rows - done) throw new DecodeError(`${typeName}: group of ${n} rows where ${rows - done} remain`);
        const keys = readIndexes(c, n, width, dictSize, typeName);
        last = { dict, dictSize, keys, rowStart: done, width };
        groups.push(last);
        done += n;
      }
      return { rows, groups };
    },
    length: (d) => d.rows,
    get: rowValue,
    reader(d, o) {
      const gs = d.groups;
      // Each primitive dictionary value is made once, on its first use (as in toArray).
      const caches = gs.map((g) => new Array<unknown>(g.dictSize));
      const value = (g: LowCardinalityGroup, cache: unknown[], i: number): unknown => {
        const k = g.keys[i - g.rowStart]!;
        let v = cache[k];
        if (v === undefined) {
          v = nullable && k === 0 ? null : dictCodec.get(g.dict, k, o);
          // Objects (Date, bytes) are made per row: rows must not share a mutable value.
          if (typeof v !== 'object' || v === null) cache[k] = v;
        }
        return v;
      };
      if (gs.length === 1) {
        const g = gs[0]!;
        const cache = caches[0]!;
        return (i) => value(g, cache, i);
      }
      // Rows are mostly asked for in order: start from the last row's group, not the first.
      let j = 0;
      return (i) => {
        if (i < gs[j]!.rowStart) j = 0;
        while (j + 1 < gs.length && gs[j + 1]!.rowStart <= i) j++;
        return value(gs[j]!, caches[j]!, i);
      };
    },
    toArray(d, o) {
      const out = new Array<unknown>(d.rows);
      for (const g of d.groups) {
        const cache = new Array<unknown>(g.dictSize);
        for (let i = 0; i < g.keys.length; i++) {
          const k = g.keys[i]!;
          let v = cache[k];
          if (v === undefined) {
            v = nullable && k === 0 ? null : dictCodec.get(g.dict, k, o);
            if (typeof v !== 'object' || v === null) cache[k] = v;
          }
          out[g.rowStart + i] = v;
        }
      }
      return out;
    },
    fromValues(values) {
      const n = values.length;
      const dictValues: unknown[] = [];
      const index = new Map<unknown, number>();
      const objects = new Map<string, number>();
      const dflt = dictCodec.defaultValue();
      if (nullable) dictValues.push(dflt); // slot 0: NULL
      dictValues.push(dflt); // the default value
      index.set(dflt, dictValues.length - 1);
      const keys = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (typeof v === 'string') {
          // The common case first: a string key (no object identity to work out).
          let k = index.get(v);
          if (k === undefined) {
            k = dictValues.length;
            dictValues.push(v);
            index.set(v, k);
          }
          keys[i] = k;
          continue;
        }
        if (v === null || v === undefined) {
          if (!nullable) throw new RowValueError(i, v, `NULL in non-Nullable ${typeName}`);
          keys[i] = 0;
          continue;
        }
        const ok = typeof v === 'object' ? objectKey(v) : undefined;
        let k = ok === undefined ? (typeof v === 'object' ? undefined : index.get(v)) : objects.get(ok);
        if (k === undefined) {
          k = dictValues.length;
          dictValues.push(v);
          if (ok !== undefined) objects.set(ok, k);
          else if (typeof v !== 'object') index.set(v, k);
        }
        keys[i] = k;
      }
      let dict: unknown;
      try {
        dict = dictCodec.fromValues(dictValues);
      } catch (e) {
        if (e instanceof RowValueError) {
          const row = keys.indexOf(e.row);
          throw new RowValueError(row, values[row], e.reason);
        }
        throw e;
      }
      const size = dictValues.length;
      const width = size <= 0x100 ? 0 : size <= 0x10000 ? 1 : 2;
      return { rows: n, groups: n ? [{ dict, dictSize: size, keys, rowStart: 0, width }] : [] };
    },
    writePrefix(w: Writer) {
      w.u64(1);
    },
    encode(w: Writer, d, ctx) {
      for (const g of d.groups) {
        w.u64(g.width | HAS_ADDITIONAL_KEYS | NEED_UPDATE_DICTIONARY);
        w.u64(g.dictSize);
        dictCodec.encode(w, g.dict, ctx);
        w.u64(g.keys.length);
        const keys = g.keys;
        const n = keys.length;
        const bytes = 1 << g.width;
        w.ensure(n * bytes);
        const buf = w.slab();
        let p = w.pos;
        // One loop per index width (little-endian bytes), no per-element branch.
        if (g.width === 0) for (let i = 0; i < n; i++) buf[p++] = keys[i]!;
        else if (g.width === 1)
          for (let i = 0; i < n; i++, p += 2) {
            const k = keys[i]!;
            buf[p] = k;
            buf[p + 1] = k >>> 8;
          }
        else if (g.width === 2) {
          const dv = w.slabView();
          for (let i = 0; i < n; i++, p += 4) dv.setUint32(p, keys[i]!, true);
        } else {
          const dv = w.slabView();
          for (let i = 0; i < n; i++, p += 8) {
            dv.setUint32(p, keys[i]!, true);
            dv.setUint32(p + 4, 0, true);
          }
        }
        w.pos = p;
      }
    },
    defaultValue: () => (nullable ? null : dictCodec.defaultValue()),
  };
}
