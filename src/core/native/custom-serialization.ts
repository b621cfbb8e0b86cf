// Per-column custom serialization (protocol ≥ 54454): after the type name a UInt8
// has_custom; when 1, a kind stack follows [SerializationInfo.cpp]: a UInt8 code —
// 0 DEFAULT, 1 SPARSE, 2 DETACHED, 3 DETACHED over SPARSE, 4 REPLICATED, 5 COMBINATION
// (varuint count + UInt8 kinds: DEFAULT 0, SPARSE 1, DETACHED 2, REPLICATED 3).
// Tuples: the tuple's code, then each element's, recursively [SerializationInfoTuple];
// Nullable from 54483: one code, its own; SPARSE then means nullable sparse. This is what
// ClickHouse 26.7 (client revision 54488) reads from a server; newer sources add the nested
// type's code after it [SerializationInfoNullable.cpp], gated above the revisions chwire speaks.
// Kinds apply innermost first (the stack lists DEFAULT, then each wrapper).
//
// SPARSE [SerializationSparse.cpp]: per non-default row a varuint count of default rows
// before it, then a final varuint (trailing defaults | 1<<62, END_OF_GRANULE); then the
// nested data of the non-default values only (Nullable: the nested type's values, no
// null map — every non-default value is non-NULL).
// REPLICATED [SerializationReplicated.cpp]: varuint rows, UInt8 index width (1/2/4/8),
// indexes, varuint nested rows, nested data.
// Both decode into ordinary data of the column's own codec, so re-encoding writes the
// default serialization.
import { DecodeError, LimitError, UnsupportedTypeError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import { Limits } from '../limits.js';
import { type AnyCodec, type DecodeContext, type ValueOptions } from '../columns/column.js';
import { codecForType } from '../columns/registry.js';
import { makeTupleCodec } from '../columns/tuple.js';
import { makeNullableCodec, type NullableData } from '../columns/nullable.js';
import { desugar } from '../columns/row-binary.js';
import { decodeRows } from '../columns/variant.js';
import type { StringData } from '../columns/string.js';
import type { FixedData } from '../columns/fixed.js';
import { parseType } from '../types/index.js';
import type { TypeNode } from '../types/type-node.js';
import { REVISION_NULLABLE_SPARSE } from './revisions.js';

const KIND_DEFAULT = 0;
const KIND_SPARSE = 1;
const KIND_DETACHED = 2;
const KIND_REPLICATED = 3;
const END_OF_GRANULE = 1n << 62n;
const MAX_DEPTH = 300;

/** Codes → kind stacks (DEFAULT first). */
function readKindStack(c: Cursor): number[] {
  const code = c.u8();
  switch (code) {
    case 0:
      return [KIND_DEFAULT];
    case 1:
      return [KIND_DEFAULT, KIND_SPARSE];
    case 2:
      return [KIND_DEFAULT, KIND_DETACHED];
    case 3:
      return [KIND_DEFAULT, KIND_SPARSE, KIND_DETACHED];
    case 4:
      return [KIND_DEFAULT, KIND_REPLICATED];
    case 5: {
      const n = c.varuint('serialization kind count');
      if (n > 16) throw new LimitError(`serialization kind stack of ${n} kinds`);
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const k = c.u8();
        if (k > 3) throw new DecodeError(`unknown serialization kind ${k}`);
        out.push(k);
      }
      return out;
    }
  }
  throw new DecodeError(`unknown serialization kind stack code ${code}`);
}

/** Read the kind stack(s) and return a codec that decodes the column into ordinary data. */
export function readCustomSerialization(c: Cursor, codec: AnyCodec, revision: number): AnyCodec {
  return readKinds(c, codec, revision, 0);
}

function readKinds(c: Cursor, codec: AnyCodec, revision: number, depth: number): AnyCodec {
  if (depth > MAX_DEPTH) throw new LimitError('serialization kinds nested too deeply');
  const stack = readKindStack(c);
  const node = desugar(parseType(codec.typeName));
  let base = codec;
  let nullableInner: AnyCodec | undefined;
  if (node.name === 'Tuple' && node.args.length > 0) {
    const elements: AnyCodec[] = [];
    const names: (string | undefined)[] = [];
    for (const a of node.args) {
      if (a.kind !== 'type') throw new DecodeError(`${codec.typeName}: tuple element is not a type`);
      elements.push(readKinds(c, codecForType(a.type), revision, depth + 1));
      names.push(a.name);
    }
    base = { ...makeTupleCodec(node, codec.typeName, elements, names), typeName: codec.typeName, node: codec.node };
  } else if (node.name === 'Nullable' && revision >= REVISION_NULLABLE_SPARSE) {
    const innerNode = (node.args[0] as { type: TypeNode }).type;
    nullableInner = codecForType(innerNode);
    base = makeNullableCodec(node, nullableInner);
  }
  if (stack[0] !== KIND_DEFAULT) throw new DecodeError(`${codec.typeName}: serialization kind stack does not start with DEFAULT`);
  for (let i = 1; i < stack.length; i++) {
    const k = stack[i]!;
    if (k === KIND_SPARSE) {
      base = sparseCodec(base, i === 1 ? nullableInner : undefined);
    } else if (k === KIND_REPLICATED) base = replicatedCodec(base);
    else if (k === KIND_DETACHED) throw new UnsupportedTypeError(`${codec.typeName}: DETACHED serialization is not expected on the wire`);
    else throw new DecodeError(`${codec.typeName}: DEFAULT serialization kind in the middle of a kind stack`);
  }
  return base;
}

/** Options under which get() values re-encode losslessly through fromValues(). */
const RAW: ValueOptions = { strings: 'bytes' };

function isFixed(d: unknown): d is FixedData {
  return d !== null && typeof d === 'object' && (d as FixedData).bytes instanceof Uint8Array && typeof (d as FixedData).rows === 'number' && !('starts' in d);
}

function isStrings(d: unknown): d is StringData {
  return d !== null && typeof d === 'object' && (d as StringData).starts instanceof Uint32Array && (d as StringData).buf instanceof Uint8Array && 'rows' in d && !('nulls' in d);
}

/** Rows at `positions` hold values[0..k), all other rows the column default. */
function expand(codec: AnyCodec, values: unknown, positions: Uint32Array, rows: number): unknown {
  const k = positions.length;
  if (isFixed(values) && (k > 0 || values.bytes.length === 0)) {
    const width = k ? values.bytes.length / k : 0;
    if (k === 0) {
      const probe = codec.fromValues([codec.defaultValue()]) as FixedData;
      return { bytes: new Uint8Array(rows * probe.bytes.length), rows };
    }
    const bytes = new Uint8Array(rows * width);
    for (let j = 0; j < k; j++) bytes.set(values.bytes.subarray(j * width, j * width + width), positions[j]! * width);
    return { bytes, rows };
  }
  if (isStrings(values)) {
    const starts = new Uint32Array(rows);
    const ends = new Uint32Array(rows);
    for (let j = 0; j < k; j++) {
      starts[positions[j]!] = values.starts[j]!;
      ends[positions[j]!] = values.ends[j]!;
    }
    return { buf: values.buf, starts, ends, rows };
  }
  const dflt = codec.defaultValue();
  const all = new Array<unknown>(rows).fill(dflt);
  for (let j = 0; j < k; j++) all[positions[j]!] = codec.get(values, j, RAW);
  return codec.fromValues(all);
}

function readSparsePositions(c: Cursor, rows: number, what: string): Uint32Array {
  const positions: number[] = [];
  let total = 0;
  for (;;) {
    const g = c.varuint64(`${what} sparse offset`);
    const end = (g & END_OF_GRANULE) !== 0n;
    const size = g & ~END_OF_GRANULE;
    if (size > BigInt(rows - total)) throw new DecodeError(`${what}: sparse group of ${size} default rows where ${rows - total} remain`);
    total += Number(size);
    if (end) {
      if (total !== rows) throw new DecodeError(`${what}: sparse offsets cover ${total} of ${rows} rows`);
      return Uint32Array.from(positions);
    }
    if (total >= rows) throw new DecodeError(`${what}: sparse value beyond row ${rows}`);
    positions.push(total);
    total++;
  }
}

function sparseCodec(base: AnyCodec, nullableInner: AnyCodec | undefined): AnyCodec {
  const what = base.typeName;
  return {
    ...base,
    rowBytes: undefined,
    decode(c: Cursor, rows: number, prefix: unknown, ctx: DecodeContext) {
      // A sparse column is expanded to all its rows from a few bytes: bounded here, not by the input.
      if (rows > Limits.maxSparseRows)
        throw new LimitError(`${what}: a sparse column of ${rows} rows (chwire expands at most ${Limits.maxSparseRows} per block; a smaller max_block_size keeps blocks under it)`);
      const positions = readSparsePositions(c, rows, what);
      const k = positions.length;
      if (nullableInner) {
        // Nullable sparse: only the nested values of non-NULL rows, no null map.
        const values = decodeRows(nullableInner, c, k, prefix, ctx);
        const nulls = new Uint8Array(rows).fill(1);
        for (let j = 0; j < k; j++) nulls[positions[j]!] = 0;
        return { nulls, inner: expand(nullableInner, values, positions, rows) } satisfies NullableData;
      }
      const values = decodeRows(base, c, k, prefix, ctx);
      return expand(base, values, positions, rows);
    },
  };
}

function gather(codec: AnyCodec, data: unknown, idx: Uint32Array): unknown {
  const n = idx.length;
  if (isFixed(data)) {
    const width = data.rows ? data.bytes.length / data.rows : 0;
    const bytes = new Uint8Array(n * width);
    for (let i = 0; i < n; i++) bytes.set(data.bytes.subarray(idx[i]! * width, idx[i]! * width + width), i * width);
    return { bytes, rows: n };
  }
  if (isStrings(data)) {
    const starts = new Uint32Array(n);
    const ends = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      starts[i] = data.starts[idx[i]!]!;
      ends[i] = data.ends[idx[i]!]!;
    }
    return { buf: data.buf, starts, ends, rows: n };
  }
  const all = new Array<unknown>(n);
  for (let i = 0; i < n; i++) all[i] = codec.get(data, idx[i]!, RAW);
  return codec.fromValues(all);
}

function replicatedCodec(base: AnyCodec): AnyCodec {
  const what = base.typeName;
  return {
    ...base,
    rowBytes: undefined,
    decode(c: Cursor, rows: number, prefix: unknown, ctx: DecodeContext) {
      const n = c.varuint(`${what} replicated rows`);
      if (n !== rows) throw new DecodeError(`${what}: replicated column of ${n} rows in a block of ${rows}`);
      const width = c.u8();
      if (width !== 1 && width !== 2 && width !== 4 && width !== 8) throw new DecodeError(`${what}: replicated index width ${width}`);
      c.needItems(rows, width);
      const idx = new Uint32Array(rows);
      const dv = c.view;
      let p = c.pos;
      for (let i = 0; i < rows; i++, p += width) {
        if (width === 1) idx[i] = c.buf[p]!;
        else if (width === 2) idx[i] = dv.getUint16(p, true);
        else if (width === 4) idx[i] = dv.getUint32(p, true);
        else {
          if (dv.getUint32(p + 4, true) !== 0) throw new DecodeError(`${what}: replicated index too large at row ${i}`);
          idx[i] = dv.getUint32(p, true);
        }
      }
      c.pos = p;
      const nested = c.varuint(`${what} replicated nested rows`);
      for (let i = 0; i < rows; i++) if (idx[i]! >= nested) throw new DecodeError(`${what}: replicated index ${idx[i]} at row ${i} is not below ${nested}`);
      if (nested > c.end - c.pos + rows && nested > 1 << 24) throw new LimitError(`${what}: replicated column of ${nested} nested rows`);
      const data = decodeRows(base, c, nested, prefix, ctx);
      return gather(base, data, idx);
    },
  };
}
