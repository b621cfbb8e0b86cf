// ClickHouse's binary encoding of data types [src/DataTypes/DataTypesBinaryEncoding.cpp]:
// one type-code byte, then per-type details. Used inside SharedVariant / JSON shared
// data values (binary type + RowBinary value) and, with
// `output_format_native_encode_types_in_binary_format=1`, for type names on the wire.
// Aggregate-function parameters use the Field encoding [src/Common/FieldBinaryEncoding.cpp].
import { DecodeError, EncodeError, LimitError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import { parseType } from './parser.js';
import { printType, quoteString } from './printer.js';
import type { TypeArg, TypeNode } from './type-node.js';

/** Type codes (BinaryTypeIndex). */
export const BinaryTypeIndex = {
  Nothing: 0x00,
  UInt8: 0x01,
  UInt16: 0x02,
  UInt32: 0x03,
  UInt64: 0x04,
  UInt128: 0x05,
  UInt256: 0x06,
  Int8: 0x07,
  Int16: 0x08,
  Int32: 0x09,
  Int64: 0x0a,
  Int128: 0x0b,
  Int256: 0x0c,
  Float32: 0x0d,
  Float64: 0x0e,
  Date: 0x0f,
  Date32: 0x10,
  DateTimeUTC: 0x11,
  DateTimeWithTimezone: 0x12,
  DateTime64UTC: 0x13,
  DateTime64WithTimezone: 0x14,
  String: 0x15,
  FixedString: 0x16,
  Enum8: 0x17,
  Enum16: 0x18,
  Decimal32: 0x19,
  Decimal64: 0x1a,
  Decimal128: 0x1b,
  Decimal256: 0x1c,
  UUID: 0x1d,
  Array: 0x1e,
  UnnamedTuple: 0x1f,
  NamedTuple: 0x20,
  Set: 0x21,
  Interval: 0x22,
  Nullable: 0x23,
  Function: 0x24,
  AggregateFunction: 0x25,
  LowCardinality: 0x26,
  Map: 0x27,
  IPv4: 0x28,
  IPv6: 0x29,
  Variant: 0x2a,
  Dynamic: 0x2b,
  Custom: 0x2c,
  Bool: 0x2d,
  SimpleAggregateFunction: 0x2e,
  Nested: 0x2f,
  JSON: 0x30,
  BFloat16: 0x31,
  Time: 0x32,
  /** 0x33 is not Time64: ClickHouse 26.7 writes Time64 as 0x34 and QBit as 0x36 [engine]. */
  Time64: 0x34,
  QBit: 0x36,
} as const;

/** IntervalKind::Kind order (checked against the engine: Day = 6). */
export const INTERVAL_KIND_CODES = ['Nanosecond', 'Microsecond', 'Millisecond', 'Second', 'Minute', 'Hour', 'Day', 'Week', 'Month', 'Quarter', 'Year'];

/** The server's cap on element counts inside a type encoding. */
const MAX_ARRAY_SIZE = 1_000_000;
const MAX_DEPTH = 300;

const SIMPLE_BY_CODE: Record<number, string> = {};
for (const n of ['Nothing', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'UInt128', 'UInt256', 'Int8', 'Int16', 'Int32', 'Int64', 'Int128', 'Int256',
  'Float32', 'Float64', 'Date', 'Date32', 'String', 'UUID', 'IPv4', 'IPv6', 'Bool', 'BFloat16', 'Time'] as const)
  SIMPLE_BY_CODE[BinaryTypeIndex[n]] = n;
SIMPLE_BY_CODE[BinaryTypeIndex.DateTimeUTC] = 'DateTime';
SIMPLE_BY_CODE[BinaryTypeIndex.Set] = 'Set';

const node = (name: string, args: TypeArg[] = [], hasParens = args.length > 0): TypeNode => ({ name, args, hasParens });
const typeArg = (type: TypeNode, name?: string): TypeArg => (name === undefined ? { kind: 'type', type } : { kind: 'type', type, name });
const num = (v: number | bigint | string): TypeArg => ({ kind: 'number', value: String(v) });

function count(c: Cursor, what: string): number {
  const n = c.varuint(what);
  if (n > MAX_ARRAY_SIZE) throw new LimitError(`binary type encoding: ${n} ${what} (limit ${MAX_ARRAY_SIZE})`);
  return n;
}

/** Decode one binary-encoded type into a TypeNode. */
export function decodeBinaryType(c: Cursor, depth = 0): TypeNode {
  if (depth > MAX_DEPTH) throw new LimitError(`binary type encoding nested deeper than ${MAX_DEPTH}`);
  const code = c.u8();
  const simple = SIMPLE_BY_CODE[code];
  if (simple !== undefined) return node(simple);
  const sub = () => decodeBinaryType(c, depth + 1);
  switch (code) {
    case BinaryTypeIndex.DateTimeWithTimezone:
      return node('DateTime', [{ kind: 'string', value: c.string('time zone') }]);
    case BinaryTypeIndex.DateTime64UTC:
      return node('DateTime64', [num(c.u8())]);
    case BinaryTypeIndex.DateTime64WithTimezone: {
      const scale = c.u8();
      return node('DateTime64', [num(scale), { kind: 'string', value: c.string('time zone') }]);
    }
    case BinaryTypeIndex.Time64:
      return node('Time64', [num(c.u8())]);
    case BinaryTypeIndex.QBit: {
      const element = sub();
      return node('QBit', [typeArg(element), num(c.varuint('QBit dimension'))]);
    }
    case BinaryTypeIndex.FixedString:
      return node('FixedString', [num(c.varuint('FixedString size'))]);
    case BinaryTypeIndex.Enum8:
    case BinaryTypeIndex.Enum16: {
      const n = count(c, 'enum elements');
      const args: TypeArg[] = [];
      for (let i = 0; i < n; i++) {
        const name = c.string('enum name');
        const value = code === BinaryTypeIndex.Enum8 ? c.i8() : c.i16();
        args.push({ kind: 'enum', name, value });
      }
      args.sort((a, b) => (a as { value: number }).value - (b as { value: number }).value);
      return node(code === BinaryTypeIndex.Enum8 ? 'Enum8' : 'Enum16', args);
    }
    case BinaryTypeIndex.Decimal32:
    case BinaryTypeIndex.Decimal64:
    case BinaryTypeIndex.Decimal128:
    case BinaryTypeIndex.Decimal256: {
      const p = c.u8();
      const s = c.u8();
      return node('Decimal', [num(p), num(s)]);
    }
    case BinaryTypeIndex.Array:
      return node('Array', [typeArg(sub())]);
    case BinaryTypeIndex.NamedTuple:
    case BinaryTypeIndex.Nested: {
      const n = count(c, 'tuple elements');
      const args: TypeArg[] = [];
      for (let i = 0; i < n; i++) {
        const name = c.string('element name');
        args.push(typeArg(sub(), name));
      }
      return node(code === BinaryTypeIndex.Nested ? 'Nested' : 'Tuple', args, true);
    }
    case BinaryTypeIndex.UnnamedTuple: {
      const n = count(c, 'tuple elements');
      const args: TypeArg[] = [];
      for (let i = 0; i < n; i++) args.push(typeArg(sub()));
      return node('Tuple', args, true);
    }
    case BinaryTypeIndex.Interval: {
      const k = c.u8();
      const kind = INTERVAL_KIND_CODES[k];
      if (!kind) throw new DecodeError(`binary type encoding: unknown interval kind ${k}`);
      return node('Interval' + kind);
    }
    case BinaryTypeIndex.Nullable:
      return node('Nullable', [typeArg(sub())]);
    case BinaryTypeIndex.Function: {
      const n = count(c, 'function arguments');
      const args: TypeArg[] = [];
      for (let i = 0; i < n; i++) args.push(typeArg(sub()));
      const ret = sub();
      return node('Function', [typeArg(node('Tuple', args, true)), typeArg(ret)]);
    }
    case BinaryTypeIndex.LowCardinality:
      return node('LowCardinality', [typeArg(sub())]);
    case BinaryTypeIndex.Map: {
      const k = sub();
      const v = sub();
      return node('Map', [typeArg(k), typeArg(v)]);
    }
    case BinaryTypeIndex.Variant: {
      const n = count(c, 'variants');
      const args: TypeArg[] = [];
      for (let i = 0; i < n; i++) args.push(typeArg(sub()));
      return node('Variant', args, true);
    }
    case BinaryTypeIndex.Dynamic: {
      const max = c.u8();
      // DataTypeDynamic prints the default (32) as plain `Dynamic`.
      return max === 32 ? node('Dynamic') : node('Dynamic', [{ kind: 'setting', name: 'max_types', value: String(max) }]);
    }
    case BinaryTypeIndex.AggregateFunction: {
      const version = c.varuint('aggregate function version');
      const [fn, args] = decodeAggregateFunction(c, depth);
      return node('AggregateFunction', version ? [num(version), fn, ...args] : [fn, ...args]);
    }
    case BinaryTypeIndex.SimpleAggregateFunction: {
      const [fn, args] = decodeAggregateFunction(c, depth);
      return node('SimpleAggregateFunction', [fn, ...args]);
    }
    case BinaryTypeIndex.Custom: {
      const name = c.string('custom type name');
      return parseType(name);
    }
    case BinaryTypeIndex.JSON: {
      const version = c.u8();
      if (version > 0) throw new DecodeError(`binary type encoding: unknown JSON type encoding version ${version}`);
      const maxPaths = c.varuint('max_dynamic_paths');
      const maxTypes = c.u8();
      const args: TypeArg[] = [];
      if (maxTypes !== 32) args.push({ kind: 'setting', name: 'max_dynamic_types', value: String(maxTypes) });
      if (maxPaths !== 1024) args.push({ kind: 'setting', name: 'max_dynamic_paths', value: String(maxPaths) });
      const nTyped = count(c, 'typed paths');
      for (let i = 0; i < nTyped; i++) {
        const path = c.string('typed path');
        args.push(typeArg(sub(), path));
      }
      const nSkip = count(c, 'paths to skip');
      for (let i = 0; i < nSkip; i++) args.push({ kind: 'skip', path: c.string('skip path'), regexp: false });
      const nRe = count(c, 'path regexps to skip');
      for (let i = 0; i < nRe; i++) args.push({ kind: 'skip', path: c.string('skip regexp'), regexp: true });
      // Canonical order comes from the printer; re-parse its output.
      return parseType(printType(node('JSON', args, args.length > 0)));
    }
  }
  throw new DecodeError(`binary type encoding: unknown type code 0x${code.toString(16).padStart(2, '0')}`);
}

function decodeAggregateFunction(c: Cursor, depth: number): [TypeArg, TypeArg[]] {
  const name = c.string('aggregate function name');
  const np = count(c, 'aggregate function parameters');
  const params: TypeArg[] = [];
  for (let i = 0; i < np; i++) params.push(fieldToArg(decodeField(c, 0)));
  const na = count(c, 'aggregate function arguments');
  const args: TypeArg[] = [];
  for (let i = 0; i < na; i++) args.push(typeArg(decodeBinaryType(c, depth + 1)));
  return [{ kind: 'function', name, params, hasParens: np > 0 }, args];
}

// ---- Field encoding (aggregate function parameters) ----

type FieldValue = null | bigint | number | string | boolean | FieldValue[] | { decimal: bigint; scale: number };

function fieldToArg(v: FieldValue): TypeArg {
  if (typeof v === 'string') return { kind: 'string', value: v };
  return { kind: 'number', value: fieldText(v) };
}

function fieldText(v: FieldValue): string {
  if (v === null) return 'NULL';
  if (typeof v === 'string') return quoteString(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(fieldText).join(', ')}]`;
  const s = (v.decimal < 0n ? -v.decimal : v.decimal).toString().padStart(v.scale + 1, '0');
  const t = v.scale ? `${s.slice(0, s.length - v.scale)}.${s.slice(s.length - v.scale)}` : s;
  return (v.decimal < 0n ? '-' : '') + t;
}

function readLE(c: Cursor, width: number, signed: boolean): bigint {
  const b = c.bytes(width);
  let v = 0n;
  for (let i = width - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  return signed ? BigInt.asIntN(width * 8, v) : v;
}

function decodeField(c: Cursor, depth: number): FieldValue {
  if (depth > MAX_DEPTH) throw new LimitError('Field encoding nested too deeply');
  const t = c.u8();
  switch (t) {
    case 0x00:
      return null;
    case 0x01:
      return c.varuint64('UInt64 field');
    case 0x02: {
      const z = c.varuint64('Int64 field');
      return (z >> 1n) ^ -(z & 1n);
    }
    case 0x03:
      return readLE(c, 16, false);
    case 0x04:
      return readLE(c, 16, true);
    case 0x05:
      return readLE(c, 32, false);
    case 0x06:
      return readLE(c, 32, true);
    case 0x07:
      return c.f64();
    case 0x08:
    case 0x09:
    case 0x0a:
    case 0x0b: {
      const scale = c.varuint('decimal scale');
      const width = [4, 8, 16, 32][t - 0x08]!;
      return { decimal: readLE(c, width, true), scale };
    }
    case 0x0c:
      return c.string('string field');
    case 0x0d:
    case 0x0e: {
      const n = count(c, 'field elements');
      const out: FieldValue[] = [];
      for (let i = 0; i < n; i++) out.push(decodeField(c, depth + 1));
      return out;
    }
    case 0x13:
      return c.u8() !== 0;
    case 0xfe:
      return -Infinity;
    case 0xff:
      return Infinity;
  }
  throw new DecodeError(`Field encoding: unsupported field type 0x${t.toString(16)} in an aggregate function parameter`);
}

function zigzag(v: bigint): bigint {
  return v < 0n ? (-v << 1n) - 1n : v << 1n;
}

/** Parse a parameter literal text (`0.5`, `-5`, `[1, 2]`, `'s'`) into a Field value. */
function literalField(a: TypeArg): FieldValue {
  if (a.kind === 'string') return a.value;
  if (a.kind !== 'number') throw new EncodeError(`cannot binary-encode aggregate function parameter of kind ${a.kind}`);
  let i = 0;
  const s = a.value;
  const parse = (): FieldValue => {
    while (s[i] === ' ') i++;
    if (s[i] === '[') {
      i++;
      const out: FieldValue[] = [];
      while (s[i] === ' ') i++;
      if (s[i] === ']') {
        i++;
        return out;
      }
      for (;;) {
        out.push(parse());
        while (s[i] === ' ') i++;
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ']') {
          i++;
          return out;
        }
        throw new EncodeError(`bad array literal '${s}'`);
      }
    }
    if (s[i] === "'") {
      let j = i + 1;
      let out = '';
      while (j < s.length && s[j] !== "'") {
        if (s[j] === '\\') j++;
        out += s[j++];
      }
      i = j + 1;
      return out;
    }
    const m = /^[-+]?(0x[0-9a-f]+|[0-9.]+(e[-+]?\d+)?|inf|nan)/i.exec(s.slice(i));
    if (!m) throw new EncodeError(`bad parameter literal '${s}'`);
    i += m[0].length;
    const t = m[0];
    if (/^[-+]?(\d+|0x[0-9a-f]+)$/i.test(t)) return BigInt(t.replace('+', ''));
    return Number(t);
  };
  return parse();
}

function writeField(w: Writer, v: FieldValue): void {
  if (v === null) return w.u8(0);
  if (typeof v === 'bigint') {
    if (v >= 0n && v < 1n << 64n) {
      w.u8(0x01);
      return w.varuint64(v);
    }
    if (v < 0n && v >= -(1n << 63n)) {
      w.u8(0x02);
      return w.varuint64(zigzag(v));
    }
    throw new EncodeError(`aggregate function parameter ${v} is out of the Int64/UInt64 range`);
  }
  if (typeof v === 'number') {
    w.u8(0x07);
    return w.f64(v);
  }
  if (typeof v === 'string') {
    w.u8(0x0c);
    return w.string(v);
  }
  if (typeof v === 'boolean') {
    w.u8(0x13);
    return w.u8(v ? 1 : 0);
  }
  if (Array.isArray(v)) {
    w.u8(0x0d);
    w.varuint(v.length);
    for (const x of v) writeField(w, x);
    return;
  }
  throw new EncodeError('cannot binary-encode a decimal aggregate function parameter');
}

// ---- encoding ----

const CUSTOM_NAMES = new Set(['Point', 'Ring', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon', 'Geometry']);
const SIMPLE_CODES: Record<string, number> = {};
for (const [code, name] of Object.entries(SIMPLE_BY_CODE)) SIMPLE_CODES[name] = Number(code);

function argType(n: TypeNode, i: number): TypeNode {
  const a = n.args[i];
  if (!a || a.kind !== 'type') throw new EncodeError(`cannot binary-encode '${printType(n)}': argument ${i + 1} is not a type`);
  return a.type;
}

function argInt(n: TypeNode, i: number): number {
  const a = n.args[i];
  if (!a || a.kind !== 'number') throw new EncodeError(`cannot binary-encode '${printType(n)}': argument ${i + 1} is not a number`);
  return Number(a.value);
}

function setting(n: TypeNode, name: string, dflt: number): number {
  for (const a of n.args) if (a.kind === 'setting' && a.name === name) return Number(a.value);
  return dflt;
}

/**
 * Encode a type given in canonical form (a codec's typeName parsed, so aliases are
 * resolved and Decimal is `Decimal(P, S)`).
 */
export function encodeBinaryType(w: Writer, t: TypeNode): void {
  const name = t.name;
  if (CUSTOM_NAMES.has(name)) {
    w.u8(BinaryTypeIndex.Custom);
    return w.string(printType(t));
  }
  const simple = Object.hasOwn(SIMPLE_CODES, name) ? SIMPLE_CODES[name] : undefined;
  if (simple !== undefined && !(name === 'DateTime' && t.args.length)) return w.u8(simple);
  switch (name) {
    case 'DateTime':
      w.u8(BinaryTypeIndex.DateTimeWithTimezone);
      return w.string((t.args[0] as { value: string }).value);
    case 'DateTime64':
      if (t.args.length > 1) {
        w.u8(BinaryTypeIndex.DateTime64WithTimezone);
        w.u8(argInt(t, 0));
        return w.string((t.args[1] as { value: string }).value);
      }
      w.u8(BinaryTypeIndex.DateTime64UTC);
      return w.u8(argInt(t, 0));
    case 'Time64':
      w.u8(BinaryTypeIndex.Time64);
      return w.u8(argInt(t, 0));
    case 'QBit':
      w.u8(BinaryTypeIndex.QBit);
      encodeBinaryType(w, argType(t, 0));
      return w.varuint(argInt(t, 1));
    case 'FixedString':
      w.u8(BinaryTypeIndex.FixedString);
      return w.varuint(argInt(t, 0));
    case 'Enum8':
    case 'Enum16':
      w.u8(name === 'Enum8' ? BinaryTypeIndex.Enum8 : BinaryTypeIndex.Enum16);
      w.varuint(t.args.length);
      for (const a of t.args) {
        if (a.kind !== 'enum') throw new EncodeError(`cannot binary-encode '${printType(t)}'`);
        w.string(a.name);
        if (name === 'Enum8') w.i8(a.value);
        else w.i16(a.value);
      }
      return;
    case 'Decimal': {
      const p = argInt(t, 0);
      const s = t.args.length > 1 ? argInt(t, 1) : 0;
      w.u8(p <= 9 ? BinaryTypeIndex.Decimal32 : p <= 18 ? BinaryTypeIndex.Decimal64 : p <= 38 ? BinaryTypeIndex.Decimal128 : BinaryTypeIndex.Decimal256);
      w.u8(p);
      return w.u8(s);
    }
    case 'Array':
      w.u8(BinaryTypeIndex.Array);
      return encodeBinaryType(w, argType(t, 0));
    case 'Tuple':
    case 'Nested': {
      const named = name === 'Nested' || (t.args.length > 0 && t.args.every((a) => a.kind === 'type' && a.name));
      w.u8(name === 'Nested' ? BinaryTypeIndex.Nested : named ? BinaryTypeIndex.NamedTuple : BinaryTypeIndex.UnnamedTuple);
      w.varuint(t.args.length);
      for (let i = 0; i < t.args.length; i++) {
        if (named) w.string((t.args[i] as { name: string }).name);
        encodeBinaryType(w, argType(t, i));
      }
      return;
    }
    case 'Nullable':
      w.u8(BinaryTypeIndex.Nullable);
      return encodeBinaryType(w, argType(t, 0));
    case 'LowCardinality':
      w.u8(BinaryTypeIndex.LowCardinality);
      return encodeBinaryType(w, argType(t, 0));
    case 'Map':
      w.u8(BinaryTypeIndex.Map);
      encodeBinaryType(w, argType(t, 0));
      return encodeBinaryType(w, argType(t, 1));
    case 'Variant':
      w.u8(BinaryTypeIndex.Variant);
      w.varuint(t.args.length);
      for (let i = 0; i < t.args.length; i++) encodeBinaryType(w, argType(t, i));
      return;
    case 'Dynamic':
      w.u8(BinaryTypeIndex.Dynamic);
      return w.u8(setting(t, 'max_types', 32));
    case 'AggregateFunction':
    case 'SimpleAggregateFunction': {
      let i = 0;
      let version = 0;
      if (t.args[0]?.kind === 'number') version = argInt(t, i++);
      const fn = t.args[i++];
      if (!fn || fn.kind !== 'function') throw new EncodeError(`cannot binary-encode '${printType(t)}'`);
      if (name === 'AggregateFunction') {
        w.u8(BinaryTypeIndex.AggregateFunction);
        w.varuint(version);
      } else w.u8(BinaryTypeIndex.SimpleAggregateFunction);
      w.string(fn.name);
      w.varuint(fn.params.length);
      for (const p of fn.params) writeField(w, literalField(p));
      w.varuint(t.args.length - i);
      for (; i < t.args.length; i++) encodeBinaryType(w, argType(t, i));
      return;
    }
    case 'JSON': {
      w.u8(BinaryTypeIndex.JSON);
      w.u8(0);
      w.varuint(setting(t, 'max_dynamic_paths', 1024));
      w.u8(setting(t, 'max_dynamic_types', 32));
      const typed = t.args.filter((a) => a.kind === 'type') as { type: TypeNode; name?: string }[];
      w.varuint(typed.length);
      for (const a of typed) {
        w.string(a.name ?? '');
        encodeBinaryType(w, a.type);
      }
      const skips = t.args.filter((a) => a.kind === 'skip') as { path: string; regexp: boolean }[];
      const plain = skips.filter((s) => !s.regexp);
      w.varuint(plain.length);
      for (const s of plain) w.string(s.path);
      const res = skips.filter((s) => s.regexp);
      w.varuint(res.length);
      for (const s of res) w.string(s.path);
      return;
    }
  }
  if (name.startsWith('Interval')) {
    const k = INTERVAL_KIND_CODES.indexOf(name.slice(8));
    if (k >= 0) {
      w.u8(BinaryTypeIndex.Interval);
      return w.u8(k);
    }
  }
  throw new EncodeError(`cannot binary-encode type '${printType(t)}'`);
}
