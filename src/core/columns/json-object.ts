// JSON object serializations [SerializationObject.cpp, SerializationObjectSharedData.cpp]:
// the version UInt64 (read by json.ts) is 0 = V1 (protocol < 54473, FORMAT Native),
// 2 = V2 (≥ 54473), 3 = FLATTENED.
//   V1/V2 prefix: [V1: varuint, ignored] varuint ndyn, ndyn dynamic path names (sorted),
//     typed-path prefixes (sorted by path), one Dynamic prefix per dynamic path.
//   V1/V2 body: typed paths, dynamic paths (Dynamic bodies), then shared data as
//     Array(Tuple(String path, String value)): UInt64 offsets, all paths, all values;
//     paths sorted within a row; values are `binary type + RowBinary value`.
//   FLATTENED prefix: varuint n, n path names (dynamic and shared merged), typed-path
//     prefixes, one Dynamic prefix per path; body: typed paths, then each path's Dynamic.
// Value: a nested JS object ({ a: { b: 1 } }); a dynamic path holding NULL is absent.
import { DecodeError, LimitError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type AnyCodec, type DecodeContext, type ValueOptions, RowValueError } from './column.js';
import { readOffsets, writeOffsets } from './array.js';
import { type StringData, readStrings, stringsFromValues, writeStrings } from './string.js';
import {
  type DynamicData,
  REVISION_DYNAMIC_V2,
  dynamicFromValues,
  dynamicTypeAt,
  dynamicValue,
  readDynamicBody,
  readDynamicPrefix,
  writeDynamicBody,
  writeDynamicPrefix,
} from './dynamic.js';
import { compareBytes, decodeTypedValue, encodeTypedValue, explicitTyped, isPlainObjectValue, jsonValueOptions, setPath } from './row-binary.js';
import { parseJsonExact } from './json-text.js';
import { decodeUtf8 } from '../io/utf8.js';

export const OBJECT_V1 = 0;
export const OBJECT_V2 = 2;
export const OBJECT_FLATTENED = 3;

export interface JsonSpec {
  typeName: string;
  /** Typed paths sorted by path. */
  typed: { path: string; codec: AnyCodec }[];
  skip: string[];
  skipRe: RegExp[];
  maxPaths: number;
  maxTypes: number;
}

export interface SharedData {
  ends: Uint32Array;
  paths: StringData;
  values: StringData;
}

export interface JsonObjectData {
  kind: 'object';
  rows: number;
  typed: unknown[];
  dynPaths: string[];
  dyn: DynamicData[];
  shared: SharedData;
}

interface ObjectPrefix {
  version: number;
  dynPaths: string[];
  typed: unknown[];
  dyn: ReturnType<typeof readDynamicPrefix>[];
}

export function jsonSpec(node: TypeNode, typeName: string, build: (n: TypeNode) => AnyCodec): JsonSpec {
  const typed: { path: string; codec: AnyCodec }[] = [];
  const skip: string[] = [];
  const skipRe: RegExp[] = [];
  let maxPaths = 1024;
  let maxTypes = 32;
  for (const a of node.args) {
    if (a.kind === 'type' && a.name !== undefined) typed.push({ path: a.name, codec: build(a.type) });
    else if (a.kind === 'skip') {
      if (a.regexp) {
        try {
          skipRe.push(new RegExp(a.path));
        } catch {
          /* an RE2 pattern JS cannot compile: such paths are kept */
        }
      } else skip.push(a.path);
    } else if (a.kind === 'setting') {
      if (a.name === 'max_dynamic_paths') maxPaths = Number(a.value);
      else if (a.name === 'max_dynamic_types') maxTypes = Number(a.value);
    }
  }
  typed.sort((x, y) => compareBytes(x.path, y.path));
  return { typeName, typed, skip, skipRe, maxPaths, maxTypes };
}

function readPathNames(c: Cursor, what: string): string[] {
  const n = c.varuint(`${what} path count`);
  if (n > 10_000_000) throw new LimitError(`${what}: ${n} paths`);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(c.string(`${what} path`));
  return out;
}

/** The object prefix after the version (version already read). */
export function readObjectPrefix(c: Cursor, version: number, spec: JsonSpec, ctx: DecodeContext): ObjectPrefix {
  const what = spec.typeName;
  if (version === OBJECT_V1) c.varuint(`${what} max_dynamic_paths`);
  const dynPaths = readPathNames(c, what);
  const typed = spec.typed.map((t) => t.codec.readPrefix(c, ctx));
  const dyn = dynPaths.map(() => readDynamicPrefix(c, ctx, `${what} path`));
  return { version, dynPaths, typed, dyn };
}

function emptyShared(rows: number): SharedData {
  const none = stringsFromValues([]);
  return { ends: new Uint32Array(rows), paths: none, values: none };
}

export function readObjectBody(c: Cursor, rows: number, p: ObjectPrefix, spec: JsonSpec, ctx: DecodeContext): JsonObjectData {
  const what = spec.typeName;
  const typed = spec.typed.map((t, j) => t.codec.decode(c, rows, p.typed[j], ctx));
  const dyn = p.dynPaths.map((path, j) => readDynamicBody(c, rows, p.dyn[j]!, ctx, `${what} path ${path}`, spec.maxTypes));
  if (p.version === OBJECT_FLATTENED) {
    const d: JsonObjectData = { kind: 'object', rows, typed, dynPaths: p.dynPaths, dyn, shared: emptyShared(rows) };
    return p.dynPaths.length > spec.maxPaths ? spillToShared(d, spec.maxPaths) : d;
  }
  const ends = readOffsets(c, rows, `${what} shared data`);
  const n = rows ? ends[rows - 1]! : 0;
  const noMemo = n === 0 ? { revision: ctx.revision, base: ctx.base } : ctx;
  const paths = readStrings(c, n, noMemo);
  const values = readStrings(c, n, noMemo);
  return { kind: 'object', rows, typed, dynPaths: p.dynPaths, dyn, shared: { ends, paths, values } };
}

/** Move dynamic paths beyond `maxPaths` into shared data (FLATTENED input re-encoded as V1/V2). */
function spillToShared(d: JsonObjectData, maxPaths: number): JsonObjectData {
  const keep = d.dynPaths.slice(0, maxPaths);
  const pairs: [string, Uint8Array][][] = Array.from({ length: d.rows }, () => []);
  for (let j = maxPaths; j < d.dynPaths.length; j++) {
    const dd = d.dyn[j]!;
    for (let i = 0; i < d.rows; i++) {
      const type = dynamicTypeAt(dd, i);
      if (!type) continue;
      pairs[i]!.push([d.dynPaths[j]!, encodeTypedValue({ type, value: dynamicValue(dd, i, RAW, 'JSON') })]);
    }
  }
  return { ...d, dynPaths: keep, dyn: d.dyn.slice(0, maxPaths), shared: sharedFromPairs(pairs) };
}

const RAW: ValueOptions = { strings: 'bytes' };

function sharedFromPairs(pairs: [string, Uint8Array][][]): SharedData {
  const ends = new Uint32Array(pairs.length);
  const paths: string[] = [];
  const values: Uint8Array[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const row = pairs[i]!.sort((a, b) => compareBytes(a[0], b[0]));
    for (const [p, v] of row) {
      paths.push(p);
      values.push(v);
    }
    ends[i] = paths.length;
  }
  return { ends, paths: stringsFromValues(paths), values: stringsFromValues(values) };
}

export function objectValue(d: JsonObjectData, i: number, o0: ValueOptions, spec: JsonSpec): Record<string, unknown> {
  const o = jsonValueOptions(o0);
  const obj: Record<string, unknown> = {};
  for (let j = 0; j < spec.typed.length; j++) setPath(obj, spec.typed[j]!.path, spec.typed[j]!.codec.get(d.typed[j], i, o));
  for (let j = 0; j < d.dynPaths.length; j++) {
    const v = dynamicValue(d.dyn[j]!, i, o, spec.typeName);
    if (v !== null) setPath(obj, d.dynPaths[j]!, v);
  }
  const s = d.shared;
  const start = i === 0 ? 0 : s.ends[i - 1]!;
  for (let k = start; k < s.ends[i]!; k++) {
    const path = decodeUtf8(s.paths.buf, s.paths.starts[k]!, s.paths.ends[k]!);
    const v = decodeTypedValue(s.values.buf.subarray(s.values.starts[k]!, s.values.ends[k]!), o, `${spec.typeName} path ${path}`);
    if (v !== null) setPath(obj, path, v);
  }
  return obj;
}

function skipped(spec: JsonSpec, path: string): boolean {
  for (const s of spec.skip) if (path === s || path.startsWith(s + '.')) return true;
  for (const r of spec.skipRe) if (r.test(path)) return true;
  return false;
}

/** Leaf paths of a row; recursion stops at typed paths and at non-plain-object values. */
function flattenRow(spec: JsonSpec, typedSet: Set<string>, v: Record<string, unknown>, prefix: string, out: [string, unknown][]): void {
  for (const k of Object.keys(v)) {
    const x = v[k];
    if (x === undefined || x === null) continue;
    const p = prefix ? `${prefix}.${k}` : k;
    if (skipped(spec, p)) continue;
    if (!typedSet.has(p) && isPlainObjectValue(x) && !explicitTyped(x)) flattenRow(spec, typedSet, x, p, out);
    else out.push([p, x]);
  }
}

export function objectFromValues(values: ArrayLike<unknown>, spec: JsonSpec): JsonObjectData {
  const n = values.length;
  const typedSet = new Set(spec.typed.map((t) => t.path));
  const typedCols = spec.typed.map(() => new Array<unknown>(n));
  const rowsPairs: [string, unknown][][] = new Array(n);
  const freq = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    let v = values[i];
    if (typeof v === 'string') {
      try {
        v = parseJsonExact(v);
      } catch (e) {
        throw new RowValueError(i, values[i], `is not JSON text: ${(e as Error).message}`);
      }
    }
    if (!isPlainObjectValue(v)) throw new RowValueError(i, values[i], 'not an object or JSON text');
    const pairs: [string, unknown][] = [];
    flattenRow(spec, typedSet, v, '', pairs);
    const rest: [string, unknown][] = [];
    for (const pr of pairs) {
      const t = spec.typed.findIndex((x) => x.path === pr[0]);
      if (t >= 0) typedCols[t]![i] = pr[1];
      else {
        rest.push(pr);
        freq.set(pr[0], (freq.get(pr[0]) ?? 0) + 1);
      }
    }
    rowsPairs[i] = rest;
  }
  const typed = spec.typed.map((t, j) => {
    const col = typedCols[j]!;
    let dflt: unknown;
    for (let i = 0; i < n; i++) if (col[i] === undefined) col[i] = dflt ??= t.codec.defaultValue();
    try {
      return t.codec.fromValues(col);
    } catch (e) {
      if (e instanceof RowValueError) throw new RowValueError(e.row, values[e.row], `path ${t.path}: ${e.reason}`);
      throw e;
    }
  });
  const dynPaths = [...freq.entries()]
    .map(([path, count], order) => ({ path, count, order }))
    .sort((a, b) => b.count - a.count || a.order - b.order)
    .slice(0, Math.max(0, spec.maxPaths))
    .map((x) => x.path)
    .sort(compareBytes);
  const dynIndex = new Map(dynPaths.map((p, j) => [p, j]));
  const dynCols = dynPaths.map(() => new Array<unknown>(n).fill(null));
  const shared: [string, Uint8Array][][] = new Array(n);
  for (let i = 0; i < n; i++) {
    const sp: [string, Uint8Array][] = [];
    for (const [p, x] of rowsPairs[i]!) {
      const j = dynIndex.get(p);
      if (j !== undefined) dynCols[j]![i] = x;
      else {
        try {
          sp.push([p, encodeTypedValue(x)]);
        } catch (e) {
          if (e instanceof RowValueError) throw new RowValueError(i, values[i], `path ${p}: ${e.reason}`);
          throw e;
        }
      }
    }
    shared[i] = sp;
  }
  const dyn = dynCols.map((col, j) => {
    try {
      return dynamicFromValues(col, spec.maxTypes);
    } catch (e) {
      if (e instanceof RowValueError) throw new RowValueError(e.row, values[e.row], `path ${dynPaths[j]}: ${e.reason}`);
      throw e;
    }
  });
  return { kind: 'object', rows: n, typed, dynPaths, dyn, shared: sharedFromPairs(shared) };
}

export function writeObjectPrefix(w: Writer, d: JsonObjectData, spec: JsonSpec, revision: number): void {
  const v2 = revision >= REVISION_DYNAMIC_V2;
  w.u64(v2 ? OBJECT_V2 : OBJECT_V1);
  if (!v2) w.varuint(d.dynPaths.length);
  w.varuint(d.dynPaths.length);
  for (const p of d.dynPaths) w.string(p);
  const ctx = { revision };
  for (let j = 0; j < spec.typed.length; j++) spec.typed[j]!.codec.writePrefix(w, d.typed[j], ctx);
  for (const dd of d.dyn) writeDynamicPrefix(w, dd, revision);
}

export function writeObjectBody(w: Writer, d: JsonObjectData, spec: JsonSpec, revision: number): void {
  const ctx = { revision };
  for (let j = 0; j < spec.typed.length; j++) spec.typed[j]!.codec.encode(w, d.typed[j], ctx);
  for (const dd of d.dyn) writeDynamicBody(w, dd, revision);
  writeOffsets(w, d.shared.ends);
  writeStrings(w, d.shared.paths);
  writeStrings(w, d.shared.values);
}

export function checkObjectVersion(version: number, what: string): void {
  if (version !== OBJECT_V1 && version !== OBJECT_V2 && version !== OBJECT_FLATTENED)
    throw new DecodeError(`${what}: unknown JSON serialization version ${version}`);
}
