// AggregateFunction([version, ]f(params), Args...): per-row opaque states, no length
// prefix — a reader must know each function's state layout to find row boundaries.
// Value: the state bytes as a Uint8Array (inserted back unchanged, so states can be
// copied between tables). Layouts (checked against ClickHouse 26.7's states):
//   count                     varuint
//   sum / sumWithOverflow     fixed accumulator (8 for ≤64-bit ints and floats, 16 for
//                             128-bit ints and Decimal ≤ 38 digits, 32 for 256-bit)
//   avg                       sum-width numerator + varuint denominator
//   min/max/any/anyLast(/anyHeavy not)  String: Int32 size incl. trailing NUL (-1 = none)
//                             + bytes; other types: UInt8 has + RowBinary value
//   argMin/argMax             result (as min) then the compared value (as min)
//   groupArray(N)             varuint n + n values: raw for fixed numbers (ints, floats,
//                             Date, Date32, DateTime, Enum, IPv4, Bool), else varuint
//                             len + bytes each
//   uniqExact                 varuint n + n keys: raw for single numeric arguments
//                             (ints, floats, Date*, DateTime, UUID, IPv4, Enum), else 16
//   uniq                      UInt8 skip degree, varuint n, n × UInt32
//   quantile(s)/median        UInt64 capacity, UInt64 total, String rng state,
//                             min(total, capacity) samples of the argument's width
//   -If combinator: the base function's state (the condition argument dropped);
//   Nullable arguments (except count): UInt8 flag, then the state when the flag is 1.
import { DecodeError, NEED_MORE, UnsupportedTypeError, isNeedMore } from '../errors.js';
import { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import { printType } from '../types/index.js';
import type { TypeNode } from '../types/type-node.js';
import { type AnyCodec, type Codec, type ValueOptions, RowValueError, noPrefix } from './column.js';
import { desugar, rowBinaryFor } from './row-binary.js';
import { Limits } from '../limits.js';
import { LimitError } from '../errors.js';

export interface AggregateStateData {
  rows: number;
  buf: Uint8Array;
  starts: Uint32Array;
  ends: Uint32Array;
}

type Skip = (c: Cursor) => void;

const INT_WIDTH: Record<string, number> = {
  Int8: 1, UInt8: 1, Int16: 2, UInt16: 2, Int32: 4, UInt32: 4, Int64: 8, UInt64: 8,
  Int128: 16, UInt128: 16, Int256: 32, UInt256: 32,
};

function unwrap(t: TypeNode): TypeNode {
  let n = desugar(t);
  while (n.name === 'LowCardinality') n = (n.args[0] as { type: TypeNode }).type;
  return n;
}

function decimalPrecision(t: TypeNode): number {
  const a = t.args[0];
  return a && a.kind === 'number' ? Number(a.value) : 0;
}

/** Width of a value with a fixed-size binary form, else undefined. */
function fixedWidth(t: TypeNode): number | undefined {
  const n = t.name;
  if (Object.hasOwn(INT_WIDTH, n)) return INT_WIDTH[n];
  switch (n) {
    case 'Float32':
    case 'Date32':
    case 'DateTime':
    case 'IPv4':
    case 'Time':
      return 4;
    case 'Float64':
    case 'DateTime64':
    case 'Time64':
      return 8;
    case 'BFloat16':
    case 'Date':
    case 'Enum16':
      return 2;
    case 'Bool':
    case 'Enum8':
      return 1;
    case 'UUID':
    case 'IPv6':
      return 16;
    case 'Decimal': {
      const p = decimalPrecision(t);
      return p <= 9 ? 4 : p <= 18 ? 8 : p <= 38 ? 16 : 32;
    }
  }
  if (n.startsWith('Interval')) return 8;
  return undefined;
}

function sumWidth(t: TypeNode, fn: string): number {
  const n = t.name;
  if (fn === 'sumWithOverflow') {
    const w = fixedWidth(t);
    if (w !== undefined) return w;
  }
  if (Object.hasOwn(INT_WIDTH, n)) return Math.max(8, INT_WIDTH[n]!);
  if (n === 'Float32' || n === 'Float64' || n === 'BFloat16') return 8;
  if (n === 'Decimal') return decimalPrecision(t) > 38 ? 32 : 16;
  throw new UnsupportedTypeError(`AggregateFunction(${fn}) over ${printType(t)}: unknown accumulator width`);
}

const fixed = (w: number): Skip => (c) => {
  c.need(w);
  c.pos += w;
};

function varuintSkip(c: Cursor): void {
  c.varuint64('aggregate state varuint');
}

function lenBytes(c: Cursor): void {
  const n = c.varuint('aggregate state length');
  if (n > Limits.maxStringBytes) throw new LimitError(`aggregate state value of ${n} bytes`);
  c.need(n);
  c.pos += n;
}

function count(c: Cursor, what: string, width: number): number {
  const n = c.varuint(what);
  if (n > Limits.maxArrayElements) throw new LimitError(`aggregate state: ${n} ${what}`);
  c.needItems(n, width);
  return n;
}

/** SingleValueData: String special form, others UInt8 has + RowBinary. */
function singleValue(t: TypeNode): Skip {
  if (t.name === 'String') {
    return (c) => {
      const size = c.i32();
      if (size < -1) throw new DecodeError(`aggregate state: string size ${size}`);
      if (size > 0) {
        c.need(size);
        c.pos += size;
      }
    };
  }
  const w = fixedWidth(t);
  if (w !== undefined)
    return (c) => {
      if (c.u8()) fixed(w)(c);
    };
  const rb = rowBinaryFor(t);
  return (c) => {
    if (c.u8()) rb.read(c, {});
  };
}

const GROUP_ARRAY_RAW = new Set(['Float32', 'Float64', 'Date', 'Date32', 'DateTime', 'Enum8', 'Enum16', 'IPv4', 'Bool', ...Object.keys(INT_WIDTH)]);
const UNIQ_EXACT_RAW = new Set([...GROUP_ARRAY_RAW, 'UUID']);

function baseSkipper(fn: string, params: number, args: TypeNode[], typeName: string): Skip {
  const arg0 = args[0] ? unwrap(args[0]) : undefined;
  const need = (n: number) => {
    if (args.length < n) throw new UnsupportedTypeError(`${typeName}: ${fn} needs ${n} argument(s)`);
  };
  switch (fn) {
    case 'count':
      return varuintSkip;
    case 'sum':
    case 'sumWithOverflow':
      need(1);
      return fixed(sumWidth(arg0!, fn));
    case 'avg': {
      need(1);
      const w = sumWidth(arg0!, 'sum');
      return (c) => {
        fixed(w)(c);
        varuintSkip(c);
      };
    }
    case 'min':
    case 'max':
    case 'any':
    case 'anyLast':
      need(1);
      return singleValue(arg0!);
    case 'argMin':
    case 'argMax': {
      need(2);
      const a = singleValue(arg0!);
      const b = singleValue(unwrap(args[1]!));
      return (c) => {
        a(c);
        b(c);
      };
    }
    case 'groupArray': {
      need(1);
      if (params > 1) break;
      const w = GROUP_ARRAY_RAW.has(arg0!.name) ? fixedWidth(arg0!) : undefined;
      if (w !== undefined)
        return (c) => {
          const n = count(c, 'groupArray elements', w);
          c.pos += n * w;
        };
      return (c) => {
        const n = count(c, 'groupArray elements', 1);
        for (let i = 0; i < n; i++) lenBytes(c);
      };
    }
    case 'uniqExact': {
      need(1);
      const w = args.length === 1 && UNIQ_EXACT_RAW.has(arg0!.name) ? fixedWidth(arg0!)! : 16;
      return (c) => {
        const n = count(c, 'uniqExact keys', w);
        c.pos += n * w;
      };
    }
    case 'uniq':
      return (c) => {
        c.u8();
        const n = count(c, 'uniq hashes', 4);
        c.pos += n * 4;
      };
    case 'quantile':
    case 'quantiles':
    case 'median': {
      need(1);
      const w = fixedWidth(arg0!);
      if (w === undefined || arg0!.name === 'Decimal' || arg0!.name === 'UUID') break;
      return (c) => {
        const capacity = c.u64n('reservoir capacity');
        const total = c.u64n('reservoir total');
        lenBytes(c);
        const n = Math.min(capacity, total);
        c.needItems(n, w);
        c.pos += n * w;
      };
    }
  }
  throw new UnsupportedTypeError(`${typeName}: the state layout of aggregate function '${fn}' is not known, so its rows cannot be split`);
}

/**
 * Supported functions whose Nullable-argument state has no has-value byte: the Null combinator
 * writes it when the result can be Nullable or the function returns a default for only NULLs
 * (AggregateFunctionNull.cpp serialize_flag). groupArray's Array result is neither; quantiles
 * returns an Array too but is registered with returns_default_when_only_null.
 */
const NO_NULL_FLAG = new Set(['groupArray']);

/** The row-boundary finder for an AggregateFunction type. */
export function stateSkipper(node: TypeNode, typeName: string): Skip {
  let i = 0;
  if (node.args[0]?.kind === 'number') i++;
  const f = node.args[i++];
  if (!f || f.kind !== 'function') throw new UnsupportedTypeError(`${typeName}: no aggregate function`);
  const args: TypeNode[] = [];
  for (; i < node.args.length; i++) {
    const a = node.args[i]!;
    if (a.kind !== 'type') throw new UnsupportedTypeError(`${typeName}: argument ${i + 1} is not a type`);
    args.push(a.type);
  }
  let fn = f.name;
  let nullableCondition = false;
  if (fn.endsWith('If') && fn.length > 2 && fn !== 'If') {
    fn = fn.slice(0, -2);
    nullableCondition = args.pop()?.name === 'Nullable';
  }
  if (fn === 'medianExact' || fn === 'quantileExact') throw new UnsupportedTypeError(`${typeName}: the state layout of aggregate function '${f.name}' is not known`);
  const nullable = fn !== 'count' && args.some((a) => a.name === 'Nullable');
  // With only the condition Nullable, whether a flag byte is written depends on the server version.
  if (nullableCondition && !nullable && fn !== 'count') throw new UnsupportedTypeError(`${typeName}: the state layout of '${f.name}' with only a Nullable condition differs between server versions`);
  const inner = args.map((a) => (a.name === 'Nullable' ? (a.args[0] as { type: TypeNode }).type : a));
  const base = baseSkipper(fn, f.params.length, inner, typeName);
  // (18.16 names no Nullable argument in the state's type, and writes no has-value byte.)
  if (!nullable || NO_NULL_FLAG.has(fn)) return base;
  return (c) => {
    if (c.u8()) base(c);
  };
}

export function makeAggregateFunctionCodec(node: TypeNode, typeName: string): Codec<AggregateStateData> {
  const skip = stateSkipper(node, typeName);
  const stateAt = (d: AggregateStateData, i: number) => d.buf.subarray(d.starts[i]!, d.ends[i]!);
  return {
    typeName,
    node,
    readPrefix: noPrefix,
    decode(c, rows) {
      const start = c.pos;
      // Every state takes at least one byte: no per-row arrays for rows the bytes cannot hold yet.
      if (c.end - start < rows) {
        c.wantPos = start + rows;
        throw NEED_MORE;
      }
      const starts = new Uint32Array(rows);
      const ends = new Uint32Array(rows);
      for (let i = 0; i < rows; i++) {
        starts[i] = c.pos - start;
        skip(c);
        if (c.pos > c.end) {
          c.wantPos = c.pos;
          c.pos = start;
          throw new DecodeError(`${typeName}: state runs past the data`);
        }
        ends[i] = c.pos - start;
      }
      return { rows, buf: c.buf.subarray(start, c.pos), starts, ends };
    },
    length: (d) => d.rows,
    get: (d, i) => stateAt(d, i),
    toArray(d) {
      const out = new Array<Uint8Array>(d.rows);
      for (let i = 0; i < d.rows; i++) out[i] = stateAt(d, i);
      return out;
    },
    fromValues(values) {
      const n = values.length;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (!(v instanceof Uint8Array)) throw new RowValueError(i, v, 'not a Uint8Array aggregate state');
        total += v.length;
      }
      const buf = new Uint8Array(total);
      const starts = new Uint32Array(n);
      const ends = new Uint32Array(n);
      let p = 0;
      for (let i = 0; i < n; i++) {
        const v = values[i] as Uint8Array;
        const c = new Cursor(v);
        try {
          skip(c);
        } catch (e) {
          if (isNeedMore(e)) throw new RowValueError(i, v, `is a truncated ${typeName} state`);
          throw new RowValueError(i, v, `is not a ${typeName} state: ${(e as Error).message}`);
        }
        if (c.pos !== v.length) throw new RowValueError(i, v, `has ${v.length - c.pos} bytes after the ${typeName} state`);
        buf.set(v, p);
        starts[i] = p;
        p += v.length;
        ends[i] = p;
      }
      return { rows: n, buf, starts, ends };
    },
    writePrefix: noPrefix,
    encode(w: Writer, d) {
      w.raw(d.buf, false);
    },
    defaultValue: () => {
      throw new UnsupportedTypeError(`${typeName} has no default state`);
    },
  };
}

export type { ValueOptions, AnyCodec };
