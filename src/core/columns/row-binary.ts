// RowBinary values of any type, as they appear inside SharedVariant (Dynamic overflow)
// and JSON shared data: `binary type encoding + value` [SerializationDynamic.cpp,
// ISerialization::serializeBinary of each type]. Leaf types are the 1-row Native
// body; composites: Nullable = UInt8 is_null + value; Array/Map = varuint size +
// elements (Map: key, value pairs); Tuple = elements in order; LowCardinality = as
// its inner type; Variant = UInt8 discriminator (255 = NULL) + value; Dynamic =
// binary type + value (Nothing = NULL); JSON = varuint path count + (path, value)
// with typed paths in their type and the others as Dynamic.
// Also: inference of a ClickHouse type for a plain JS value (Dynamic / JSON inserts).
import { DecodeError, EncodeError, LimitError, isNeedMore } from '../errors.js';
import { Cursor } from '../io/cursor.js';
import { Writer } from '../io/writer.js';
import { parseType, printType } from '../types/index.js';
import { decodeBinaryType, encodeBinaryType } from '../types/binary-encoding.js';
import type { TypeArg, TypeNode } from '../types/type-node.js';
import { type AnyCodec, type ValueOptions, RowValueError, hasField, putOwn } from './column.js';
import { codecForType } from './registry.js';
import { checkObjectKeys, keyText } from './map.js';
import { compareBytes } from '../types/printer.js';

export interface RowBinary {
  read(c: Cursor, o: ValueOptions): unknown;
  write(w: Writer, v: unknown): void;
}

/** An explicitly typed value for Variant / Dynamic / JSON inserts: `new TypedValue('UInt32', 5)`. */
export class TypedValue {
  constructor(
    readonly type: string,
    readonly value: unknown,
  ) {}
}

/**
 * The explicit form `{ type: 'UInt32', value: 5 }` (exactly these two keys) or a
 * TypedValue; undefined for anything else.
 */
export function explicitTyped(v: unknown): TypedValue | undefined {
  if (v instanceof TypedValue) return v;
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype) {
    const keys = Object.keys(v);
    if (keys.length === 2 && Object.hasOwn(v, 'type') && Object.hasOwn(v, 'value') && typeof (v as { type: unknown }).type === 'string')
      return new TypedValue((v as { type: string }).type, (v as { value: unknown }).value);
  }
  return undefined;
}

const t = (name: string, ...args: TypeNode[]): TypeNode => ({ name, args: args.map((type) => ({ kind: 'type', type })), hasParens: args.length > 0 });
const F64 = t('Float64');
const POINT = t('Tuple', F64, F64);
const RING = t('Array', POINT);
const POLYGON = t('Array', RING);
const MULTIPOLYGON = t('Array', POLYGON);

/** Custom-named types as the structural type their values are serialized as. */
export function desugar(node: TypeNode): TypeNode {
  switch (node.name) {
    case 'Point':
      return POINT;
    case 'Ring':
    case 'LineString':
      return RING;
    case 'MultiLineString':
    case 'Polygon':
      return POLYGON;
    case 'MultiPolygon':
      return MULTIPOLYGON;
    case 'Geometry':
      return parseType('Variant(LineString, MultiLineString, MultiPolygon, Point, Polygon, Ring)');
    case 'Nested':
      return { name: 'Array', args: [{ kind: 'type', type: { name: 'Tuple', args: node.args, hasParens: true } }], hasParens: true };
    case 'SimpleAggregateFunction': {
      const last = node.args[node.args.length - 1];
      if (last?.kind === 'type') return last.type;
      break;
    }
  }
  return node;
}

const cache = new Map<string, RowBinary>();

function typeArgs(node: TypeNode): TypeArg[] {
  return node.args;
}

function argType(node: TypeNode, i: number): TypeNode {
  const a = node.args[i];
  if (!a || a.kind !== 'type') throw new DecodeError(`RowBinary: '${printType(node)}' argument ${i + 1} is not a type`);
  return a.type;
}

/** The RowBinary reader/writer for a type (by its canonical name). */
export function rowBinaryFor(type: string | TypeNode): RowBinary {
  const key = typeof type === 'string' ? type : printType(type);
  let rb = cache.get(key);
  if (!rb) {
    rb = buildRowBinary(typeof type === 'string' ? parseType(type) : type);
    if (cache.size > 2000) cache.clear();
    cache.set(key, rb);
  }
  return rb;
}


function maxCount(c: Cursor, n: number, what: string): number {
  if (n > c.end - c.pos) throw new LimitError(`RowBinary ${what} of ${n} elements exceeds the ${c.end - c.pos} bytes left`);
  return n;
}

function iterate(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<unknown>);
  return undefined;
}

function buildRowBinary(node0: TypeNode): RowBinary {
  const node = desugar(node0);
  switch (node.name) {
    case 'Nullable': {
      const inner = rowBinaryFor(argType(node, 0));
      return {
        read: (c, o) => (c.u8() ? null : inner.read(c, o)),
        write(w, v) {
          if (v === null || v === undefined) return w.u8(1);
          w.u8(0);
          inner.write(w, v);
        },
      };
    }
    case 'LowCardinality':
      return rowBinaryFor(argType(node, 0));
    case 'Array': {
      const inner = rowBinaryFor(argType(node, 0));
      return {
        read(c, o) {
          const n = maxCount(c, c.varuint('array size'), 'array');
          const out = new Array<unknown>(n);
          for (let i = 0; i < n; i++) out[i] = inner.read(c, o);
          return out;
        },
        write(w, v) {
          const a = iterate(v);
          if (!a) throw new RowValueError(0, v, 'not an array');
          w.varuint(a.length);
          for (const x of a) inner.write(w, x);
        },
      };
    }
    case 'Map': {
      const k = rowBinaryFor(argType(node, 0));
      const val = rowBinaryFor(argType(node, 1));
      const mapType = printType(node);
      const keyType = printType(argType(node, 0));
      return {
        read(c, o) {
          const n = maxCount(c, c.varuint('map size'), 'map');
          if (o.maps === 'object') {
            checkObjectKeys(mapType, keyType);
            const obj: Record<string, unknown> = {};
            for (let i = 0; i < n; i++) {
              const key = k.read(c, o);
              putOwn(obj, keyText(key), val.read(c, o));
            }
            return obj;
          }
          const m = new Map<unknown, unknown>();
          for (let i = 0; i < n; i++) {
            const key = k.read(c, o);
            m.set(key, val.read(c, o));
          }
          return m;
        },
        write(w, v) {
          const entries: [unknown, unknown][] =
            v instanceof Map ? [...v.entries()] : Array.isArray(v) ? (v as [unknown, unknown][]) : v !== null && typeof v === 'object' ? Object.entries(v) : [];
          if (!(v instanceof Map) && !(v !== null && typeof v === 'object')) throw new RowValueError(0, v, 'not a Map');
          w.varuint(entries.length);
          for (const [a, b] of entries) {
            k.write(w, a);
            val.write(w, b);
          }
        },
      };
    }
    case 'Tuple': {
      const args = typeArgs(node);
      const elems = args.map((_, i) => rowBinaryFor(argType(node, i)));
      const names = args.map((a) => (a.kind === 'type' ? a.name : undefined));
      const named = names.length > 0 && names.every((n) => n);
      return {
        read(c, o) {
          if (named) {
            const obj: Record<string, unknown> = {};
            for (let i = 0; i < elems.length; i++) putOwn(obj, names[i]!, elems[i]!.read(c, o));
            return obj;
          }
          return elems.map((e) => e.read(c, o));
        },
        write(w, v) {
          if (named && !Array.isArray(v) && v !== null && typeof v === 'object')
            for (const key of Object.keys(v)) if (!names.includes(key)) throw new RowValueError(0, v, `has key ${JSON.stringify(key)}, which is not an element of ${printType(node)}`);
          for (let i = 0; i < elems.length; i++) {
            const x = Array.isArray(v) ? v[i] : named && v !== null && typeof v === 'object' ? (hasField(v, names[i]!) ? (v as Record<string, unknown>)[names[i]!] : undefined) : undefined;
            if (x === undefined && !Array.isArray(v)) throw new RowValueError(0, v, 'not a tuple');
            elems[i]!.write(w, x);
          }
        },
      };
    }
    case 'Variant': {
      const members = variantMemberTypes(node);
      const rbs = members.map((m) => rowBinaryFor(m));
      return {
        read(c, o) {
          const d = c.u8();
          if (d === 255) return null;
          const m = rbs[d];
          if (!m) throw new DecodeError(`RowBinary Variant discriminator ${d} out of range`);
          return m.read(c, o);
        },
        write(w, v) {
          if (v === null || v === undefined) return w.u8(255);
          const ex = explicitTyped(v);
          const names = members.map(printType);
          let idx = ex ? names.indexOf(printType(parseType(ex.type))) : -1;
          const val = ex ? ex.value : v;
          if (idx < 0) {
            // Try each alternative; the first that accepts the value wins.
            for (let i = 0; i < rbs.length && idx < 0; i++) {
              try {
                const probe = new Writer(64);
                rbs[i]!.write(probe, val);
                idx = i;
              } catch {
                /* next */
              }
            }
          }
          if (idx < 0) throw new RowValueError(0, v, 'fits no Variant alternative');
          w.u8(idx);
          rbs[idx]!.write(w, val);
        },
      };
    }
    case 'Dynamic':
      return DYNAMIC_RB;
    case 'QBit': {
      // RowBinary QBit is the vector itself: varuint N + N elements [engine].
      const el = argType(node, 0).name;
      const inner = rowBinaryFor(el);
      return {
        read(c, o) {
          const n = maxCount(c, c.varuint('QBit size'), 'QBit');
          const out = el === 'Float64' ? new Float64Array(n) : new Float32Array(n);
          for (let i = 0; i < n; i++) out[i] = inner.read(c, o) as number;
          return out;
        },
        write(w, v) {
          const a = iterate(v);
          if (!a) throw new RowValueError(0, v, 'not an array for QBit');
          w.varuint(a.length);
          for (const x of a) inner.write(w, x);
        },
      };
    }
    case 'JSON':
      return jsonRowBinary(node);
  }
  // Leaf: RowBinary equals the 1-row Native body.
  const codec = codecForType(node);
  return leafRowBinary(codec);
}

export function variantMemberTypes(node: TypeNode): TypeNode[] {
  const seen = new Map<string, TypeNode>();
  for (let i = 0; i < node.args.length; i++) {
    const c = codecForType(argType(node, i));
    seen.set(c.typeName, parseType(c.typeName));
  }
  return [...seen.keys()].sort(compareBytes).map((k) => seen.get(k)!);
}

export { compareBytes };

const LEAF_CTX = { revision: 0, base: 0 };

function leafRowBinary(codec: AnyCodec): RowBinary {
  return {
    read(c, o) {
      const d = codec.decode(c, 1, codec.readPrefix(c, LEAF_CTX), LEAF_CTX);
      return codec.get(d, 0, o);
    },
    write(w, v) {
      const d = codec.fromValues([v]);
      codec.writePrefix(w, d, LEAF_CTX);
      codec.encode(w, d, LEAF_CTX);
    },
  };
}

const DYNAMIC_RB: RowBinary = {
  read(c, o) {
    const type = decodeBinaryType(c);
    if (type.name === 'Nothing') return null;
    return rowBinaryFor(type).read(c, o);
  },
  write(w, v) {
    if (v === null || v === undefined) return w.u8(0);
    const { type, value } = typeAndValue(v);
    encodeBinaryType(w, type);
    rowBinaryFor(type).write(w, value);
  },
};

/** Declared or inferred type name → [canonical name, parsed]; a bounded cache (type names repeat per row). */
const canonicalCache = new Map<string, [string, TypeNode]>();

function canonical(name: string): [string, TypeNode] {
  let hit = canonicalCache.get(name);
  if (!hit) {
    const typeName = codecForType(name).typeName;
    hit = [typeName, parseType(typeName)];
    if (canonicalCache.size > 1000) canonicalCache.clear();
    canonicalCache.set(name, hit);
  }
  return hit;
}

/** The value's declared (explicit form) or inferred type, canonicalised. */
export function typeAndValue(v: unknown): { type: TypeNode; name: string; value: unknown } {
  const ex = explicitTyped(v);
  let named: [string, TypeNode];
  try {
    named = canonical(ex ? ex.type : inferType(v));
  } catch (e) {
    if (!ex) throw e;
    // { type, value } is the explicit form; a plain object that merely has those two keys is data.
    throw new EncodeError(
      `{ type: ${JSON.stringify(ex.type)}, value } names no ClickHouse type (${e instanceof Error ? e.message : String(e)}); an object with the keys type and value as data goes in as { type: 'JSON', value: … }`,
    );
  }
  const [name, type] = named;
  return { type, name, value: ex ? ex.value : v };
}

/** Shared data / SharedVariant value bytes: binary type + RowBinary value. */
export function encodeTypedValue(v: unknown): Uint8Array {
  const w = new Writer(64);
  const { type, value } = typeAndValue(v);
  encodeBinaryType(w, type);
  rowBinaryFor(type).write(w, value);
  return w.toBytes();
}

/** Decode a complete `binary type + RowBinary value`; malformed or short input is a DecodeError. */
export function decodeTypedValue(bytes: Uint8Array, o: ValueOptions, what: string): unknown {
  const c = new Cursor(bytes);
  try {
    const v = DYNAMIC_RB.read(c, o);
    if (c.pos !== c.end) throw new DecodeError(`${what}: ${c.end - c.pos} bytes left after the value`);
    return v;
  } catch (e) {
    if (isNeedMore(e)) throw new DecodeError(`${what}: value is truncated`);
    if (e instanceof RangeError) throw new LimitError(`${what}: ${e.message}`);
    throw e;
  }
}

/** The type name of a decoded `binary type + value` (for re-encoding decisions). */
export function typedValueTypeName(bytes: Uint8Array): string {
  return printType(decodeBinaryType(new Cursor(bytes)));
}

// ---- inference ----

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

/**
 * A ClickHouse type for a plain JS value: integer number → Int64, other number →
 * Float64, bigint → Int64 / UInt64 / Int128 / UInt128 / Int256 / UInt256, string →
 * String, boolean → Bool, Date → DateTime64(3), Uint8Array → String, array →
 * Array(T) of the unified element type (Nullable when it holds nulls, Array(Dynamic)
 * when elements disagree), Map → Map(String, T), plain object → JSON.
 */
export function inferType(v: unknown): string {
  switch (typeof v) {
    case 'boolean':
      return 'Bool';
    case 'number':
      return Number.isInteger(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER ? 'Int64' : 'Float64';
    case 'bigint':
      if (v >= INT64_MIN && v <= INT64_MAX) return 'Int64';
      if (v >= 0n && v < 1n << 64n) return 'UInt64';
      if (v >= -(1n << 127n) && v < 1n << 127n) return 'Int128';
      if (v >= 0n && v < 1n << 128n) return 'UInt128';
      if (v >= -(1n << 255n) && v < 1n << 255n) return 'Int256';
      if (v >= 0n && v < 1n << 256n) return 'UInt256';
      throw new RowValueError(0, v, 'integer too large for any ClickHouse type');
    case 'string':
      return 'String';
  }
  if (v instanceof Date) return 'DateTime64(3)';
  if (v instanceof Uint8Array) return 'String';
  if (v instanceof TypedValue) return printType(parseType(codecForType(v.type).typeName));
  const arr = iterate(v);
  if (arr) return `Array(${unifyTypes(arr)})`;
  if (v instanceof Map) return `Map(String, ${unifyTypes([...v.values()])})`;
  if (isPlainObject(v)) {
    if (explicitTyped(v)) return codecForType((v as { type: string }).type).typeName;
    return 'JSON';
  }
  throw new RowValueError(0, v, `cannot infer a ClickHouse type for ${v === null ? 'null' : typeof v}; give { type, value }`);
}

const NULLABLE_OK = /^(U?Int\d+|Float\d+|Bool|String|DateTime64\(3\)|Decimal.*|UUID|IPv[46]|Date.*)$/;

function unifyTypes(values: unknown[]): string {
  let nulls = false;
  const types = new Set<string>();
  for (const x of values) {
    if (x === null || x === undefined) nulls = true;
    else types.add(inferType(x));
  }
  if (types.size === 0) return nulls ? 'Nullable(Nothing)' : 'Nothing';
  if (types.size === 2 && types.has('Int64') && types.has('Float64')) {
    types.clear();
    types.add('Float64');
  }
  if (types.size > 1) return 'Dynamic';
  const only = [...types][0]!;
  return nulls ? (NULLABLE_OK.test(only) ? `Nullable(${only})` : 'Dynamic') : only;
}

// ---- JSON RowBinary ----

/** JSON integers are numbers, bigint beyond 2^53 (as JSON text gives them), unless int64 is set. */
export function jsonValueOptions(o: ValueOptions): ValueOptions {
  return o.int64 === undefined ? { ...o, int64: 'number' } : o;
}

function jsonRowBinary(node: TypeNode): RowBinary {
  const typed = new Map<string, RowBinary>();
  for (const a of node.args) if (a.kind === 'type' && a.name !== undefined) typed.set(a.name, rowBinaryFor(a.type));
  return {
    read(c, o0) {
      const o = jsonValueOptions(o0);
      const n = maxCount(c, c.varuint('JSON path count'), 'JSON');
      const obj: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const path = c.string('JSON path');
        const rb = typed.get(path) ?? DYNAMIC_RB;
        const v = rb.read(c, o);
        if (v !== null || typed.has(path)) setPath(obj, path, v);
      }
      return obj;
    },
    write(w, v) {
      if (!isPlainObject(v)) throw new RowValueError(0, v, 'not an object for JSON');
      const paths: [string, unknown][] = [];
      flattenObject(v, '', paths);
      w.varuint(paths.length);
      for (const [p, x] of paths) {
        w.string(p);
        (typed.get(p) ?? DYNAMIC_RB).write(w, x);
      }
    },
  };
}

/**
 * Set obj[a][b][c] = v for the path 'a.b.c'. Path segments are data: only own keys are
 * followed and every key is written as an own property, so nothing outside obj changes
 * (a segment '__proto__' is an ordinary key, never Object.prototype).
 */
export function setPath(obj: Record<string, unknown>, path: string, v: unknown): void {
  let o = obj;
  let start = 0;
  for (;;) {
    const dot = path.indexOf('.', start);
    if (dot < 0) break;
    const k = path.slice(start, dot);
    let next = Object.hasOwn(o, k) ? o[k] : undefined;
    if (!isPlainObject(next)) {
      next = {};
      putOwn(o, k, next);
    }
    o = next as Record<string, unknown>;
    start = dot + 1;
  }
  putOwn(o, path.slice(start), v);
}

/** Leaf paths of a nested object ('a.b' → value); plain objects recurse, everything else is a leaf. */
export function flattenObject(v: Record<string, unknown>, prefix: string, out: [string, unknown][]): void {
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (x === undefined) continue;
    const p = prefix ? `${prefix}.${k}` : k;
    if (isPlainObject(x) && !explicitTyped(x)) flattenObject(x, p, out);
    else out.push([p, x]);
  }
}

export function isPlainObjectValue(v: unknown): v is Record<string, unknown> {
  return isPlainObject(v);
}

export function encodeErrorFor(e: unknown): never {
  if (e instanceof RowValueError) throw e;
  throw new EncodeError(e instanceof Error ? e.message : String(e));
}
