// Variant(T1, ..., Tn) [DataTypeVariant.cpp, SerializationVariant.cpp]: members sorted by
// type name (bytewise), the global discriminator is the index in that order, 255 = NULL.
// Prefix: UInt64 discriminators mode (0 BASIC, 1 COMPACT), then each member's prefix.
// BASIC body: UInt8 discriminator per row, then each member's data holding only its rows.
// COMPACT body: granules `varuint rows, UInt8 format` — format 0: a discriminator per
// row follows; format 1: one discriminator for all rows of the granule — then the members.
// Encoding always writes BASIC (what the server's Native writer sends).
import { DecodeError, LimitError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type AnyCodec, type Codec, type DecodeContext, type EncodeContext, type ValueOptions, RowValueError, mapArray } from './column.js';
import { compareBytes, explicitTyped } from './row-binary.js';
import { parseType } from '../types/index.js';
import { codecForType } from './registry.js';

export const NULL_DISCRIMINATOR = 255;
const MODE_BASIC = 0;
const MODE_COMPACT = 1;

export interface VariantData {
  rows: number;
  /** Global discriminator per row (255 = NULL). */
  discr: Uint8Array;
  /** Row → index inside its member's data. */
  offsets: Uint32Array;
  /** Member data, in member order. */
  members: unknown[];
}

export interface VariantPrefix {
  mode: number;
  members: unknown[];
}

/** Sort and de-duplicate member codecs by type name, as DataTypeVariant does. */
export function sortVariantMembers(members: AnyCodec[]): AnyCodec[] {
  const byName = new Map<string, AnyCodec>();
  for (const m of members) if (!byName.has(m.typeName)) byName.set(m.typeName, m);
  return [...byName.keys()].sort(compareBytes).map((k) => byName.get(k)!);
}

export function readVariantPrefix(c: Cursor, members: AnyCodec[], ctx: DecodeContext, what: string): VariantPrefix {
  const lo = c.u32();
  const hi = c.u32();
  if (hi !== 0 || (lo !== MODE_BASIC && lo !== MODE_COMPACT)) throw new DecodeError(`${what}: unknown discriminators mode ${lo}`);
  return { mode: lo, members: members.map((m) => m.readPrefix(c, ctx)) };
}

export function writeVariantPrefix(w: Writer, members: AnyCodec[], d: VariantData, ctx: EncodeContext): void {
  w.u64(MODE_BASIC);
  for (let j = 0; j < members.length; j++) members[j]!.writePrefix(w, d.members[j], ctx);
}

/**
 * codec.decode, but a 0-row body is read without the resume memo: it takes no bytes, so
 * it starts where the next column starts, and a String scan saved there for that next
 * column must not be picked up by this one (readStrings keys its memo by offset).
 */
export function decodeRows(codec: AnyCodec, c: Cursor, rows: number, prefix: unknown, ctx: DecodeContext): unknown {
  if (rows === 0 && ctx.memo) return codec.decode(c, 0, prefix, { revision: ctx.revision, base: ctx.base });
  return codec.decode(c, rows, prefix, ctx);
}

/** Read the discriminators (BASIC or COMPACT), validate them, then each member's rows. */
export function readVariantBody(c: Cursor, rows: number, prefix: VariantPrefix, members: AnyCodec[], ctx: DecodeContext, what: string): VariantData {
  let discr: Uint8Array;
  if (prefix.mode === MODE_BASIC) discr = c.bytes(rows);
  else {
    discr = new Uint8Array(rows);
    let done = 0;
    while (done < rows) {
      const n = c.varuint('Variant granule rows');
      if (n === 0 || n > rows - done) throw new DecodeError(`${what}: compact granule of ${n} rows where ${rows - done} remain`);
      const fmt = c.u8();
      if (fmt === 0) discr.set(c.bytes(n), done);
      else if (fmt === 1) discr.fill(c.u8(), done, done + n);
      else throw new DecodeError(`${what}: unknown compact granule format ${fmt}`);
      done += n;
    }
  }
  const k = members.length;
  const counts = new Uint32Array(k);
  const offsets = new Uint32Array(rows);
  for (let i = 0; i < rows; i++) {
    const d = discr[i]!;
    if (d === NULL_DISCRIMINATOR) continue;
    if (d >= k) throw new DecodeError(`${what}: discriminator ${d} at row ${i} is not below ${k} or NULL (255)`);
    offsets[i] = counts[d]!++;
  }
  const data: unknown[] = [];
  for (let j = 0; j < k; j++) data.push(decodeRows(members[j]!, c, counts[j]!, prefix.members[j], ctx));
  return { rows, discr, offsets, members: data };
}

export function writeVariantBody(w: Writer, members: AnyCodec[], d: VariantData, ctx: EncodeContext): void {
  w.raw(d.discr);
  for (let j = 0; j < members.length; j++) members[j]!.encode(w, d.members[j], ctx);
}

/** Build VariantData from per-row member choices (255 = NULL) and the values. */
export function variantFromChoices(members: AnyCodec[], choice: Uint8Array, values: ArrayLike<unknown>): VariantData {
  const n = choice.length;
  const lists: unknown[][] = members.map(() => []);
  const rowsOf: number[][] = members.map(() => []);
  const offsets = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const d = choice[i]!;
    if (d === NULL_DISCRIMINATOR) continue;
    offsets[i] = lists[d]!.length;
    lists[d]!.push(values[i]);
    rowsOf[d]!.push(i);
  }
  const data = members.map((m, j) => {
    try {
      return m.fromValues(lists[j]!);
    } catch (e) {
      if (e instanceof RowValueError) throw new RowValueError(rowsOf[j]![e.row]!, values[rowsOf[j]![e.row]!], `${m.typeName}: ${e.reason}`);
      throw e;
    }
  });
  return { rows: n, discr: choice, offsets, members: data };
}

// ---- choosing an alternative for a JS value ----

function familyOf(c: AnyCodec): string {
  let n: TypeNode = c.node;
  while (n.name === 'LowCardinality' || n.name === 'SimpleAggregateFunction') {
    const a = n.args[n.args.length - 1];
    if (!a || a.kind !== 'type') break;
    n = a.type;
  }
  return n.name;
}

const INT_ORDER = ['Int64', 'UInt64', 'Int32', 'UInt32', 'Int16', 'UInt16', 'Int8', 'UInt8', 'Int128', 'UInt128', 'Int256', 'UInt256'];

/** How well a member family suits a JS value (higher first; 0 = do not try). */
function affinity(family: string, v: unknown): number {
  const intRank = INT_ORDER.indexOf(family);
  switch (typeof v) {
    case 'boolean':
      return family === 'Bool' ? 10 : intRank >= 0 ? 1 : 0;
    case 'number':
      if (Number.isInteger(v) && intRank >= 0) return 9 - intRank * 0.1;
      if (family === 'Float64') return 8;
      if (family === 'Float32' || family === 'BFloat16') return 7;
      if (family.startsWith('Decimal')) return 6;
      if (family.startsWith('Interval') || family === 'Time' || family === 'Time64') return 3;
      if (family.startsWith('Date')) return 2;
      if (family === 'Bool' || family.startsWith('Enum')) return 1;
      return 0;
    case 'bigint':
      if (intRank >= 0) return 9 - intRank * 0.1;
      if (family.startsWith('Decimal')) return 5;
      if (family.startsWith('Float') || family.startsWith('Interval') || family.startsWith('Time')) return 3;
      if (family.startsWith('Date')) return 2;
      return 0;
    case 'string':
      if (family === 'String') return 10;
      if (family === 'FixedString') return 8;
      if (family.startsWith('Enum')) return 7;
      if (family === 'UUID' || family === 'IPv4' || family === 'IPv6') return 6;
      if (family.startsWith('Date') || family.startsWith('Time')) return 5;
      if (family.startsWith('Decimal')) return 4;
      if (family === 'JSON') return 1;
      return 0;
  }
  if (v instanceof Date) return family === 'DateTime' ? 9 : family === 'DateTime64' ? 8 : family.startsWith('Date') ? 7 : 0;
  if (v instanceof Uint8Array) return family === 'String' ? 9 : family === 'FixedString' ? 8 : family === 'AggregateFunction' ? 5 : family === 'QBit' ? 2 : 0;
  if (Array.isArray(v) || ArrayBuffer.isView(v))
    return family === 'Array' ? 9 : family === 'Tuple' ? 7 : family === 'QBit' ? 6 : ['Point', 'Ring', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon', 'Nested'].includes(family) ? 5 : family === 'Map' ? 2 : 0;
  if (v instanceof Map) return family === 'Map' ? 9 : 0;
  if (v !== null && typeof v === 'object') return family === 'Tuple' ? 8 : family === 'Map' ? 7 : family === 'JSON' ? 6 : 0;
  return 0;
}

/**
 * The member a value goes to: the explicit form `{ type, value }` (or TypedValue) names
 * it; otherwise members are tried by affinity to the JS value and the first whose
 * codec accepts the value wins.
 */
export function chooseMember(members: AnyCodec[], v: unknown): { index: number; value: unknown } {
  const ex = explicitTyped(v);
  if (ex) {
    let name = ex.type;
    let idx = members.findIndex((m) => m.typeName === name);
    if (idx < 0) {
      try {
        name = codecForType(parseType(ex.type)).typeName;
      } catch {
        /* not a type name: fall through */
      }
      idx = members.findIndex((m) => m.typeName === name);
    }
    if (idx >= 0) return { index: idx, value: ex.value };
  }
  const ranked = members
    .map((m, i) => ({ i, a: affinity(familyOf(m), v) }))
    .filter((x) => x.a > 0)
    .sort((a, b) => b.a - a.a || a.i - b.i);
  for (const { i } of ranked) {
    try {
      members[i]!.fromValues([v]);
      return { index: i, value: v };
    } catch {
      /* next */
    }
  }
  throw new RowValueError(0, v, `fits none of the alternatives (${members.map((m) => m.typeName).join(', ')}); use { type, value } to choose one`);
}

export function makeVariantCodec(node: TypeNode, typeName: string, membersIn: AnyCodec[]): Codec<VariantData> {
  const members = sortVariantMembers(membersIn);
  if (members.length > 255) throw new LimitError(`${typeName}: more than 255 alternatives`);
  const rowValue = (d: VariantData, i: number, o: ValueOptions): unknown => {
    const k = d.discr[i]!;
    if (k === NULL_DISCRIMINATOR) return null;
    return members[k]!.get(d.members[k], d.offsets[i]!, o);
  };
  return {
    typeName,
    node,
    readPrefix: (c, ctx) => readVariantPrefix(c, members, ctx, typeName),
    decode: (c, rows, prefix, ctx) => readVariantBody(c, rows, prefix as VariantPrefix, members, ctx, typeName),
    length: (d) => d.rows,
    get: rowValue,
    toArray(d, o) {
      return mapArray(d.rows, (i) => rowValue(d, i, o));
    },
    fromValues(values) {
      const n = values.length;
      const choice = new Uint8Array(n);
      const vals = new Array<unknown>(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === null || v === undefined) {
          choice[i] = NULL_DISCRIMINATOR;
          continue;
        }
        try {
          const { index, value } = chooseMember(members, v);
          choice[i] = index;
          vals[i] = value;
        } catch (e) {
          if (e instanceof RowValueError) throw new RowValueError(i, v, e.reason);
          throw e;
        }
      }
      return variantFromChoices(members, choice, vals);
    },
    writePrefix: (w, d, ctx) => writeVariantPrefix(w, members, d, ctx),
    encode: (w, d, ctx) => writeVariantBody(w, members, d, ctx),
    defaultValue: () => null,
  };
}

/** Member codecs of a Variant type node (unsorted; makeVariantCodec sorts). */
export function variantMemberCodecs(node: TypeNode, build: (n: TypeNode) => AnyCodec): AnyCodec[] {
  const out: AnyCodec[] = [];
  for (const a of node.args) {
    if (a.kind !== 'type') throw new DecodeError(`Variant alternatives must be types`);
    out.push(build(a.type));
  }
  return out;
}
