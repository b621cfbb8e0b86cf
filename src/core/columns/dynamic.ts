// Dynamic / Dynamic(max_types=N) [SerializationDynamic.cpp, SerializationDynamicHelpers.cpp].
// Prefix: UInt64 structure version — 1 V1 (protocol < 54473 and FORMAT Native), 2 V2
// (≥ 54473), 3 FLATTENED (output_format_native_use_flattened_dynamic_and_json_serialization).
//   V1/V2: [V1: varuint (ignored)] varuint n, n type names (sorted, SharedVariant left out),
//          then the prefix of Variant(types + SharedVariant); body = that Variant's body.
//   FLATTENED: varuint n, n type names, each type's prefix; body = an index column
//          (UInt8/16/32/64 by n + 1; index n = NULL), then each type's rows.
// SharedVariant is a String column of `binary type + RowBinary value` (overflow types).
// Decoded data is always the V1/V2 model (sorted members incl. SharedVariant).
import { DecodeError, EncodeError, LimitError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import { parseType, printType } from '../types/index.js';
import type { TypeNode } from '../types/type-node.js';
import { type AnyCodec, type Codec, type DecodeContext, type ValueOptions, RowValueError, mapArray } from './column.js';
import { codecForType } from './registry.js';
import { compareBytes, decodeTypedValue, encodeTypedValue, typeAndValue, typedValueTypeName } from './row-binary.js';
import { makeStringCodec, type StringData } from './string.js';
import {
  type VariantData,
  type VariantPrefix,
  NULL_DISCRIMINATOR,
  readVariantBody,
  decodeRows,
  readVariantPrefix,
  variantFromChoices,
  writeVariantBody,
  writeVariantPrefix,
} from './variant.js';

/** Dynamic/JSON V2 serialization on the protocol from this revision [ProtocolDefines.h]. */
export const REVISION_DYNAMIC_V2 = 54473;

export const DYNAMIC_V1 = 1;
export const DYNAMIC_V2 = 2;
export const DYNAMIC_FLATTENED = 3;
export const SHARED_VARIANT = 'SharedVariant';
/** The Variant behind a Dynamic holds at most 255 members, one of them SharedVariant. */
const MAX_TYPES = 254;

export interface DynamicData {
  rows: number;
  /** Member codecs sorted by name, SharedVariant included. */
  members: AnyCodec[];
  variant: VariantData;
}

interface DynamicPrefix {
  version: number;
  members: AnyCodec[];
  variant?: VariantPrefix;
  /** FLATTENED: the listed types in wire order and their prefixes. */
  flat?: { codecs: AnyCodec[]; prefixes: unknown[] };
}

const sharedVariantCodec: AnyCodec = { ...makeStringCodec({ name: 'String', args: [], hasParens: false }), typeName: SHARED_VARIANT };

function codecCache(): (name: string) => AnyCodec {
  const m = new Map<string, AnyCodec>();
  return (name) => {
    let c = m.get(name);
    if (!c) {
      c = codecForType(name);
      if (m.size > 1000) m.clear();
      m.set(name, c);
    }
    return c;
  };
}

export function sortedMembers(codecs: AnyCodec[]): AnyCodec[] {
  return [...codecs, sharedVariantCodec].sort((a, b) => compareBytes(a.typeName, b.typeName));
}

function readTypeNames(c: Cursor, what: string, lookup: (n: string) => AnyCodec): AnyCodec[] {
  const n = c.varuint(`${what} type count`);
  if (n > 1_000_000) throw new LimitError(`${what}: ${n} types`);
  const out: AnyCodec[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const name = c.string(`${what} type name`);
    const codec = lookup(name);
    if (seen.has(codec.typeName) || codec.typeName === SHARED_VARIANT) throw new DecodeError(`${what}: type ${name} listed twice`);
    seen.add(codec.typeName);
    out.push(codec);
  }
  return out;
}

/** Read a Dynamic state prefix (any version). */
export function readDynamicPrefix(c: Cursor, ctx: DecodeContext, what: string, lookup = codecCache()): DynamicPrefix {
  const lo = c.u32();
  const hi = c.u32();
  const version = hi === 0 ? lo : -1;
  if (version === DYNAMIC_V1 || version === DYNAMIC_V2) {
    if (version === DYNAMIC_V1) c.varuint(`${what} max_types`);
    const types = readTypeNames(c, what, lookup);
    if (types.length > MAX_TYPES) throw new LimitError(`${what}: ${types.length} types (limit ${MAX_TYPES})`);
    const members = sortedMembers(types);
    return { version, members, variant: readVariantPrefix(c, members, ctx, what) };
  }
  if (version === DYNAMIC_FLATTENED) {
    const codecs = readTypeNames(c, what, lookup);
    const prefixes = codecs.map((k) => k.readPrefix(c, ctx));
    return { version, members: [], flat: { codecs, prefixes } };
  }
  throw new DecodeError(`${what}: unknown Dynamic structure version ${hi ? `${hi}:${lo}` : lo}`);
}

function readIndexes(c: Cursor, rows: number, n: number, what: string): Uint32Array {
  const size = n + 1;
  const width = size <= 256 ? 1 : size <= 65536 ? 2 : 4;
  const idx = new Uint32Array(rows);
  if (size > 0xffffffff) throw new LimitError(`${what}: too many flattened types`);
  c.needItems(rows, width);
  const dv = c.view;
  let p = c.pos;
  for (let i = 0; i < rows; i++, p += width) {
    const v = width === 1 ? c.buf[p]! : width === 2 ? dv.getUint16(p, true) : dv.getUint32(p, true);
    if (v > n) throw new DecodeError(`${what}: flattened index ${v} at row ${i} exceeds ${n}`);
    idx[i] = v;
  }
  c.pos = p;
  return idx;
}

/** Read a Dynamic body into the V1/V2 data model; `maxTypes` bounds the kept member types. */
export function readDynamicBody(c: Cursor, rows: number, prefix: DynamicPrefix, ctx: DecodeContext, what: string, maxTypes: number): DynamicData {
  if (!prefix.flat) {
    const variant = readVariantBody(c, rows, prefix.variant!, prefix.members, ctx, what);
    return { rows, members: prefix.members, variant };
  }
  const { codecs, prefixes } = prefix.flat;
  const n = codecs.length;
  const idx = readIndexes(c, rows, n, what);
  const counts = new Uint32Array(n);
  const offsets = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) if (idx[i]! < n) offsets[i] = counts[idx[i]!]!++;
  const datas = codecs.map((k, j) => decodeRows(k, c, counts[j]!, prefixes[j], ctx));
  // The first types were Variant members, the rest came from SharedVariant [flattenDynamicColumn].
  const keep = Math.min(n, maxTypes, MAX_TYPES);
  const members = sortedMembers(codecs.slice(0, keep));
  const pos = new Map(members.map((m, j) => [m.typeName, j]));
  const shared = pos.get(SHARED_VARIANT)!;
  const sharedValues: Uint8Array[] = [];
  const discr = new Uint8Array(rows);
  const voffsets = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) {
    const t = idx[i]!;
    if (t === n) {
      discr[i] = NULL_DISCRIMINATOR;
      continue;
    }
    if (t < keep) {
      discr[i] = pos.get(codecs[t]!.typeName)!;
      voffsets[i] = offsets[i]!;
    } else {
      discr[i] = shared;
      voffsets[i] = sharedValues.length;
      const v = codecs[t]!.get(datas[t], offsets[i]!, RAW);
      sharedValues.push(encodeTypedValue({ type: codecs[t]!.typeName, value: v }));
    }
  }
  const mdata = members.map((m) => {
    if (m.typeName === SHARED_VARIANT) return sharedVariantCodec.fromValues(sharedValues);
    return datas[codecs.findIndex((k) => k.typeName === m.typeName)];
  });
  return { rows, members, variant: { rows, discr, offsets: voffsets, members: mdata } };
}

/** Value options that keep values exact and re-encodable. */
const RAW: ValueOptions = { strings: 'bytes' };

export function dynamicValue(d: DynamicData, i: number, o: ValueOptions, what: string): unknown {
  const v = d.variant;
  const k = v.discr[i]!;
  if (k === NULL_DISCRIMINATOR) return null;
  const m = d.members[k]!;
  if (m === sharedVariantCodec || m.typeName === SHARED_VARIANT) {
    const s = v.members[k] as StringData;
    const off = v.offsets[i]!;
    return decodeTypedValue(s.buf.subarray(s.starts[off]!, s.ends[off]!), o, what);
  }
  return m.get(v.members[k], v.offsets[i]!, o);
}

/** The type name of row i ('' for NULL), decoding SharedVariant type bytes when needed. */
export function dynamicTypeAt(d: DynamicData, i: number): string {
  const k = d.variant.discr[i]!;
  if (k === NULL_DISCRIMINATOR) return '';
  const m = d.members[k]!;
  if (m.typeName !== SHARED_VARIANT) return m.typeName;
  const s = d.variant.members[k] as StringData;
  const off = d.variant.offsets[i]!;
  return typedValueTypeName(s.buf.subarray(s.starts[off]!, s.ends[off]!));
}

/** Dynamic data from JS values: most frequent types become members, the rest go to SharedVariant. */
export function dynamicFromValues(values: ArrayLike<unknown>, maxTypes: number, lookup = codecCache()): DynamicData {
  const n = values.length;
  const names: string[] = new Array(n);
  const vals: unknown[] = new Array(n);
  const freq = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === null || v === undefined) continue;
    try {
      const tv = typeAndValue(v);
      names[i] = tv.name;
      vals[i] = tv.value;
      freq.set(tv.name, (freq.get(tv.name) ?? 0) + 1);
    } catch (e) {
      if (e instanceof RowValueError) throw new RowValueError(i, v, e.reason);
      // A { type, value } naming no type: the row is known here.
      if (e instanceof EncodeError) throw new RowValueError(i, v, e.message);
      throw e;
    }
  }
  const limit = Math.min(maxTypes, MAX_TYPES);
  const kept = [...freq.entries()]
    .map(([name, count], order) => ({ name, count, order }))
    .sort((a, b) => b.count - a.count || a.order - b.order)
    .slice(0, limit)
    .map((x) => x.name);
  const keptSet = new Set(kept);
  const members = sortedMembers(kept.map((k) => lookup(k)));
  const pos = new Map(members.map((m, j) => [m.typeName, j]));
  const shared = pos.get(SHARED_VARIANT)!;
  const choice = new Uint8Array(n);
  const memberValues = new Array<unknown>(n);
  for (let i = 0; i < n; i++) {
    const name = names[i];
    if (name === undefined) {
      choice[i] = NULL_DISCRIMINATOR;
      continue;
    }
    if (keptSet.has(name)) {
      choice[i] = pos.get(name)!;
      memberValues[i] = vals[i];
    } else {
      choice[i] = shared;
      try {
        memberValues[i] = encodeTypedValue({ type: name, value: vals[i] });
      } catch (e) {
        if (e instanceof RowValueError) throw new RowValueError(i, values[i], e.reason);
        throw e;
      }
    }
  }
  return { rows: n, members, variant: variantFromChoices(members, choice, memberValues) };
}

export function writeDynamicPrefix(w: Writer, d: DynamicData, revision: number): void {
  const v2 = revision >= REVISION_DYNAMIC_V2;
  w.u64(v2 ? DYNAMIC_V2 : DYNAMIC_V1);
  const types = d.members.filter((m) => m.typeName !== SHARED_VARIANT);
  if (!v2) w.varuint(types.length);
  w.varuint(types.length);
  for (const m of types) w.string(m.typeName);
  writeVariantPrefix(w, d.members, d.variant, { revision });
}

export function writeDynamicBody(w: Writer, d: DynamicData, revision: number): void {
  writeVariantBody(w, d.members, d.variant, { revision });
}

export function maxTypesOf(node: TypeNode, dflt = 32): number {
  for (const a of node.args) if (a.kind === 'setting' && a.name === 'max_types') return Number(a.value);
  return dflt;
}

export function makeDynamicCodec(node: TypeNode, maxTypes = maxTypesOf(node)): Codec<DynamicData> {
  const typeName = printType(node.name === 'Dynamic' ? node : parseType('Dynamic'));
  if (!Number.isInteger(maxTypes) || maxTypes < 0 || maxTypes > MAX_TYPES) throw new LimitError(`${typeName}: max_types ${maxTypes} is outside 0..${MAX_TYPES}`);
  const lookup = codecCache();
  return {
    typeName,
    node,
    readPrefix: (c, ctx) => readDynamicPrefix(c, ctx, typeName, lookup),
    decode: (c, rows, prefix, ctx) => readDynamicBody(c, rows, prefix as DynamicPrefix, ctx, typeName, maxTypes),
    length: (d) => d.rows,
    get: (d, i, o) => dynamicValue(d, i, o, typeName),
    toArray(d, o) {
      return mapArray(d.rows, (i) => dynamicValue(d, i, o, typeName));
    },
    fromValues: (values) => dynamicFromValues(values, maxTypes, lookup),
    writePrefix: (w, d, ctx) => writeDynamicPrefix(w, d, ctx.revision),
    encode: (w, d, ctx) => writeDynamicBody(w, d, ctx.revision),
    defaultValue: () => null,
  };
}
