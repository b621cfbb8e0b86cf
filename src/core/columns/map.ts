// Map(K, V): on the wire exactly Array(Tuple(K, V)) — offsets, then all keys,
// then all values (prefixes: K's then V's).
import { DecodeError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, type AnyCodec, type ValueOptions, type ValueReader, RowValueError, describeValue, mapArray, putOwn, readerOf } from './column.js';
import { readOffsets, writeOffsets } from './array.js';

export interface MapData {
  ends: Uint32Array;
  keys: unknown;
  values: unknown;
}

/** An object key for a map key: a Date as its ISO text (String(date) depends on the process's zone and locale). */
export function keyText(k: unknown): string {
  return k instanceof Date ? k.toISOString() : String(k);
}

/** Key types read as a scalar (number, bigint, string, boolean, Date), whose keyText is faithful. */
const SCALAR_KEY = /^(?:U?Int\d+|Float\d+|BFloat16|Bool|String|FixedString|UUID|IPv[46]|Date|Date32|DateTime|DateTime64|Decimal\d*|Enum\d*|Time|Time64|Interval\w+)(?:\(|$)/;

/**
 * Throws unless `maps: 'object'` can hold keys of this type. A composite key (Tuple, Array, Map,
 * Variant, …) would become String(key): (1,'a') → "1,a", and different keys collide. chwire has no
 * formatter of a decoded value as ClickHouse text (params.ts quotes JS parameter values: Dates as
 * epoch seconds, Decimal strings quoted), so such maps are refused rather than keyed approximately.
 */
export function checkObjectKeys(mapType: string, keyType: string): void {
  let base = keyType;
  while (/^(?:LowCardinality|Nullable)\(/.test(base)) base = base.slice(base.indexOf('(') + 1, -1);
  if (!SCALAR_KEY.test(base))
    throw new DecodeError(`${mapType}: maps: 'object' needs scalar keys, not ${keyType} (its keys would be String(key) and could collide); read it with maps: 'Map'`, 'CHWIRE_BAD_OPTION');
}

export function makeMapCodec(node: TypeNode, key: AnyCodec, value: AnyCodec): Codec<MapData> {
  const typeName = `Map(${key.typeName}, ${value.typeName})`;
  let keysChecked = false;
  const checkKeys = (): void => {
    if (!keysChecked) checkObjectKeys(typeName, key.typeName);
    keysChecked = true;
  };
  const rowValue = (d: MapData, i: number, o: ValueOptions): unknown => {
    const s = i === 0 ? 0 : d.ends[i - 1]!;
    const e = d.ends[i]!;
    if (o.maps === 'object') {
      checkKeys();
      const obj: Record<string, unknown> = {};
      for (let k = s; k < e; k++) putOwn(obj, keyText(key.get(d.keys, k, o)), value.get(d.values, k, o));
      return obj;
    }
    const m = new Map<unknown, unknown>();
    for (let k = s; k < e; k++) m.set(key.get(d.keys, k, o), value.get(d.values, k, o));
    return m;
  };
  const reader = (d: MapData, o: ValueOptions): ValueReader => {
    const { ends } = d;
    const kr = readerOf(key, d.keys, o);
    const vr = readerOf(value, d.values, o);
    if (o.maps === 'object') {
      checkKeys();
      return (i) => {
        const obj: Record<string, unknown> = {};
        for (let k = i === 0 ? 0 : ends[i - 1]!; k < ends[i]!; k++) putOwn(obj, keyText(kr(k)), vr(k));
        return obj;
      };
    }
    return (i) => {
      const m = new Map<unknown, unknown>();
      for (let k = i === 0 ? 0 : ends[i - 1]!; k < ends[i]!; k++) m.set(kr(k), vr(k));
      return m;
    };
  };
  return {
    typeName,
    node,
    readPrefix: (c, ctx) => [key.readPrefix(c, ctx), value.readPrefix(c, ctx)],
    decode(c: Cursor, rows, prefix, ctx) {
      const [kp, vp] = prefix as [unknown, unknown];
      const ends = readOffsets(c, rows, typeName);
      const n = rows ? ends[rows - 1]! : 0;
      const keys = key.decode(c, n, kp, ctx);
      return { ends, keys, values: value.decode(c, n, vp, ctx) };
    },
    length: (d) => d.ends.length,
    get: rowValue,
    reader,
    toArray(d, o) {
      return mapArray(d.ends.length, reader(d, o));
    },
    fromValues(values) {
      const n = values.length;
      const ends = new Uint32Array(n);
      const ks: unknown[] = [];
      const vs: unknown[] = [];
      const rowOf: number[] = [];
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v instanceof Map) {
          for (const [a, b] of v) {
            ks.push(a);
            vs.push(b);
            rowOf.push(i);
          }
        } else if (Array.isArray(v)) {
          for (const pair of v) {
            if (!Array.isArray(pair) || pair.length !== 2) throw new RowValueError(i, v, 'map entries must be [key, value] pairs');
            ks.push(pair[0]);
            vs.push(pair[1]);
            rowOf.push(i);
          }
        } else if (v !== null && typeof v === 'object') {
          for (const [a, b] of Object.entries(v)) {
            ks.push(a);
            vs.push(b);
            rowOf.push(i);
          }
        } else throw new RowValueError(i, v, 'not a Map, object or array of pairs');
        ends[i] = ks.length;
      }
      const conv = (codec: AnyCodec, list: unknown[], what: string): unknown => {
        try {
          return codec.fromValues(list);
        } catch (e) {
          if (e instanceof RowValueError) throw new RowValueError(rowOf[e.row]!, values[rowOf[e.row]!], `${what} ${describeValue(e.value)}: ${e.reason}`);
          throw e;
        }
      };
      return { ends, keys: conv(key, ks, 'key'), values: conv(value, vs, 'value') };
    },
    writePrefix(w, d, ctx) {
      key.writePrefix(w, d.keys, ctx);
      value.writePrefix(w, d.values, ctx);
    },
    encode(w, d, ctx) {
      writeOffsets(w, d.ends);
      key.encode(w, d.keys, ctx);
      value.encode(w, d.values, ctx);
    },
    defaultValue: () => new Map(),
  };
}
