// Query parameters ({name:Type} placeholders).
//
// Servers ≥ 54459 take them natively: after the query text, a settings-like
// list (name, flags CUSTOM, value). TCPHandler reads it with Settings::read,
// which restores each custom value with Field::restoreFromDump and then
// requires a String field (convertToQueryParameters): so the value is the
// parameter's *text* (as HTTP `param_x=` would carry it, i.e. the value in
// the type's escaped text format) dumped as a quoted string: `'it\'s'`.
//
// Older servers get client-side binding: bindQueryParams formats each value as
// a SQL literal/expression of its declared type and substitutes it, never
// inside string literals, quoted identifiers or comments, and never re-scanning
// what it substituted.

import { EncodeError } from '../errors.js';
import { quoteString, quoteWith } from '../types/printer.js';
import { SIMPLE_UNESCAPES } from '../types/parser.js';
import { formatTicks } from '../columns/dates.js';
import { formatDays, parseDateTime } from '../columns/timezone.js';
import { SettingFlags } from './codes.js';
import type { Setting } from './common.js';

export type ParamValue =
  | string
  | number
  | bigint
  | boolean
  | Date
  | null
  | undefined
  | readonly ParamValue[]
  | ReadonlyMap<ParamValue, ParamValue>
  | { readonly [key: string]: ParamValue };

export type ParamTypes = Readonly<Record<string, string>>;

// ---------------------------------------------------------------- escaping

/** Escapes of writeEscapedString (the text format of String). */
const TEXT_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\0': '\\0',
};

/** A single-quoted string in ClickHouse syntax (writeQuotedString / Field::dump of a String). */
export { quoteString };

/** The native-parameter wire value: Field::dump of the parameter text. */
export const quoteFieldDump = quoteString;

/** Inverse of quoteFieldDump (Field::restoreFromDump of a String), for the server side. */
export function unquoteFieldDump(s: string): string {
  if (s.length < 2 || s[0] !== "'" || s[s.length - 1] !== "'") {
    throw new EncodeError(`parameter value is not a quoted string: ${s.slice(0, 40)}`, 'CHWIRE_BAD_PARAM');
  }
  let out = '';
  for (let i = 1; i < s.length - 1; i++) {
    const ch = s[i]!;
    if (ch !== '\\') {
      out += ch;
      continue;
    }
    const e = s[++i];
    if (e === undefined || i >= s.length - 1) throw new EncodeError('dangling backslash in parameter value', 'CHWIRE_BAD_PARAM');
    if (e === 'x') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new EncodeError('bad \\x escape in parameter value', 'CHWIRE_BAD_PARAM');
      out += String.fromCharCode(parseInt(hex, 16));
      i += 2;
    } else out += SIMPLE_UNESCAPES[e] ?? e;
  }
  return out;
}

/** TSV-style escaping (writeEscapedString): the escaped text format of String. */
function escapeText(s: string): string {
  return s.replace(/[\\\b\f\n\r\t\0]/g, (ch) => TEXT_ESCAPES[ch]!);
}

/** A back-quoted identifier. */
export function quoteIdentifier(name: string): string {
  return quoteWith(name, '`');
}

// ---------------------------------------------------------------- type names

interface TypeShape {
  name: string;
  args: string[];
}

/** Split `Name(arg, arg)` at top level; quotes and nested parentheses respected. */
function parseType(t: string): TypeShape {
  const s = t.trim();
  const open = s.indexOf('(');
  if (open < 0 || !s.endsWith(')')) return { name: s, args: [] };
  const name = s.slice(0, open).trim();
  const inner = s.slice(open + 1, -1);
  const args: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(inner, i, ch) - 1;
    } else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      args.push(inner.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (inner.trim() !== '') args.push(inner.slice(start).trim());
  return { name, args };
}

/** Strip `name ` from a named Tuple element (`a UInt8` → `UInt8`). */
function tupleElementType(arg: string): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+(\S.*)$/s.exec(arg);
  if (m && !/^[A-Za-z_][A-Za-z0-9_]*\s*\(/.test(arg)) return m[2]!;
  return arg;
}

function unwrapLowCardinality(t: TypeShape): TypeShape {
  while (t.name === 'LowCardinality' && t.args.length === 1) t = parseType(t.args[0]!);
  return t;
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}
function utcDate(d: Date): string {
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}
function utcDateTime(d: Date): string {
  return `${utcDate(d)} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
function checkDate(d: Date): void {
  if (Number.isNaN(d.getTime())) throw new EncodeError('invalid Date in query parameter', 'CHWIRE_BAD_PARAM');
}
function unixSeconds(d: Date): string {
  const ms = d.getTime();
  const s = Math.floor(ms / 1000);
  const frac = ms - s * 1000;
  return frac === 0 ? String(s) : `${s}.${pad(frac, 3)}`;
}
function numberText(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (n === Infinity) return 'inf';
  if (n === -Infinity) return '-inf';
  return String(n);
}

function isPlainObject(v: unknown): v is { readonly [key: string]: ParamValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !(v instanceof Map);
}
function mapEntries(v: ParamValue): [ParamValue, ParamValue][] {
  if (v instanceof Map) return [...(v as ReadonlyMap<ParamValue, ParamValue>).entries()];
  return Object.entries(v as { readonly [key: string]: ParamValue });
}

// ---------------------------------------------------------------- native parameter text

/**
 * The text of a parameter as HTTP `param_x=` carries it: the value in its
 * type's escaped text format (top level) with quoted-format elements inside
 * arrays, tuples and maps. `type` is the placeholder's declared type.
 */
export function formatParamText(value: ParamValue, type?: string): string {
  const t = type === undefined ? undefined : unwrapLowCardinality(parseType(type));
  if (value === null || value === undefined) return '\\N';
  if (t?.name === 'Identifier') {
    if (typeof value !== 'string') throw new EncodeError('an Identifier parameter must be a string', 'CHWIRE_BAD_PARAM');
    return value;
  }
  if (t?.name === 'Nullable' && t.args.length === 1) return formatParamText(value, t.args[0]);
  if (typeof value === 'string') return escapeText(value);
  if (Array.isArray(value) || value instanceof Map || isPlainObject(value)) return formatQuotedText(value, type);
  return scalarText(value as string | number | bigint | boolean | Date, t);
}

const TEXT_BOOL = /^(Bool|String|FixedString)$/;

function scalarText(value: string | number | bigint | boolean | Date, t: TypeShape | undefined): string {
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint') return value.toString();
  // As text (Bool, String, FixedString) a boolean is 'true'/'false'; as a number 1/0.
  if (typeof value === 'boolean') return t && TEXT_BOOL.test(t.name) ? String(value) : value ? '1' : '0';
  if (value instanceof Date) {
    checkDate(value);
    if (t && (t.name === 'Date' || t.name === 'Date32')) return utcDate(value);
    return unixSeconds(value);
  }
  return String(value);
}

/** Elements inside composite parameter text use the quoted format. */
function formatQuotedText(value: ParamValue, type?: string): string {
  const t = type === undefined ? undefined : unwrapLowCardinality(parseType(type));
  if (value === null || value === undefined) return 'NULL';
  if (t?.name === 'Nullable' && t.args.length === 1) return formatQuotedText(value, t.args[0]);
  if (Array.isArray(value)) {
    if (t?.name === 'Tuple') {
      return '(' + value.map((v, i) => formatQuotedText(v, t.args[i] && tupleElementType(t.args[i]!))).join(',') + ')';
    }
    const el = t?.name === 'Array' ? t.args[0] : undefined;
    return '[' + value.map((v) => formatQuotedText(v, el)).join(',') + ']';
  }
  if (value instanceof Map || isPlainObject(value)) {
    const [kt, vt] = t?.name === 'Map' ? [t.args[0], t.args[1]] : [undefined, undefined];
    return '{' + mapEntries(value).map(([k, v]) => `${formatQuotedText(k, kt)}:${formatQuotedText(v, vt)}`).join(',') + '}';
  }
  const scalar = value as string | number | bigint | boolean | Date;
  if (typeof scalar === 'string') return quoteString(scalar);
  // A String element is quoted whatever the JS type of its value.
  if (scalar instanceof Date || t?.name === 'String' || t?.name === 'FixedString') return quoteString(scalarText(scalar, t));
  if (typeof scalar === 'boolean' && t?.name === 'Bool') return String(scalar);
  return scalarText(scalar, t);
}

/**
 * Native parameters for a Query packet (≥54459): each value formatted as
 * parameter text and dumped as a quoted string, flags CUSTOM. Types come from
 * `types`, else from the placeholders in `sql` when given.
 */
export function encodeQueryParameters(
  params: Readonly<Record<string, ParamValue>>,
  types?: ParamTypes,
  sql?: string,
): Setting[] {
  const declared = { ...(sql === undefined ? {} : extractParamTypes(sql)), ...(types ?? {}) };
  return Object.keys(params).map((name) => ({
    name,
    value: quoteFieldDump(formatParamText(params[name], declared[name])),
    flags: SettingFlags.CUSTOM,
  }));
}

// ---------------------------------------------------------------- client-side binding
//
// Invariants of every substituted expression (formatSqlLiteral):
// - it is self-contained: it never starts with '-' (negatives are parenthesised
//   or inside a call) and never ends with an operator, so it cannot merge with
//   the text around it into a comment or another token (bindQueryParams also
//   separates it from an adjacent word, number or quote);
// - it has the declared type, except that a non-negative integer of an integer
//   type stays a bare literal (LIMIT takes only a literal on old servers) and a
//   negative one a parenthesised literal — both narrower than declared at top
//   level, exact inside arrays, tuples and maps — and Nullable(T) gives T unless
//   the value is null;
// - a value that does not fit the type is an EncodeError 'CHWIRE_BAD_PARAM'
//   naming the parameter, its type and the value.

/** Who is being formatted, for error messages. */
interface BindContext {
  name: string | undefined;
  type: string | undefined;
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (Array.isArray(v)) return `array of ${v.length}`;
  if (typeof v === 'object' && v !== null) return 'object';
  return String(v);
}

function badParam(ctx: BindContext, value: unknown, why: string): EncodeError {
  const who = ctx.name === undefined ? 'query parameter' : `query parameter '${ctx.name}'`;
  return new EncodeError(`${who} (${ctx.type ?? 'untyped'}): ${describe(value)} ${why}`, 'CHWIRE_BAD_PARAM');
}

const INT_BITS = /^(U?)Int(8|16|32|64|128|256)$/;
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

function intRange(name: string): [bigint, bigint] | undefined {
  const m = INT_BITS.exec(name);
  if (!m) return undefined;
  const bits = BigInt(m[2]!);
  return m[1] ? [0n, (1n << bits) - 1n] : [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n];
}

/** The type ClickHouse gives the literal `n` (or `(-n)`). */
function literalIntType(n: bigint): string {
  if (n >= 0n) return n <= 0xffn ? 'UInt8' : n <= 0xffffn ? 'UInt16' : n <= 0xffffffffn ? 'UInt32' : 'UInt64';
  return n >= -0x80n ? 'Int8' : n >= -0x8000n ? 'Int16' : n >= -0x80000000n ? 'Int32' : 'Int64';
}

/** A plain integer: a JS integer, a bigint, a boolean or a string of decimal digits. */
function toBigInt(value: unknown): bigint | undefined {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'boolean') return value ? 1n : 0n;
  if (typeof value === 'number') return Number.isInteger(value) ? BigInt(value) : undefined;
  if (typeof value === 'string') return /^\s*[+-]?\d+\s*$/.test(value) ? BigInt(value.trim()) : undefined;
  return undefined;
}

/** An integer as a bare literal (`5`, `(-5)`), or exactly typed when `exact` or beyond 64 bits. */
function intExpr(n: bigint, name: string, exact: boolean): string {
  // Beyond (U)Int64 a bare literal would be a Float64: parse the digits instead.
  if (n > U64_MAX || n < I64_MIN) return `to${name}(${quoteString(n.toString())})`;
  if (exact && literalIntType(n) !== name) return `to${name}(${n})`;
  return n < 0n ? `(${n})` : n.toString();
}

const MIN_NORMAL = 2.2250738585072014e-308;

/**
 * A Float64 expression for x: `1.5`, `1.0`, `1e-7`, `(-1.5)`, `nan`, `inf`, `(-inf)`.
 * Old servers parse no subnormal literal (5e-324 is a syntax error, toFloat64('5e-324')
 * is 0): a subnormal is written as an exact division of a normal number by 2^60.
 */
function float64Expr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let text: string;
  if (a === Infinity) text = 'inf';
  else if (a !== 0 && a < MIN_NORMAL) text = `${String(a * 2 ** 60)} / 1152921504606846976`;
  else {
    text = String(a);
    // A literal without '.' or an exponent would be an integer type.
    if (!/[.e]/.test(text)) text += '.0';
  }
  if (neg) return `(-${text})`;
  return text.includes(' ') ? `(${text})` : text;
}

/** A JS number from a number, bigint, boolean or numeric string (inf/nan included). */
function toNumber(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'string') {
    const s = value.trim();
    if (/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(s)) return Number(s);
    const m = /^([+-]?)(inf|infinity|nan)$/i.exec(s);
    if (m) return m[2]!.toLowerCase() === 'nan' ? NaN : m[1] === '-' ? -Infinity : Infinity;
  }
  return undefined;
}

/** Plain decimal digits of a finite number, bigint or numeric string: [negative, integer part, fraction]. */
function decimalParts(value: unknown): [boolean, string, string] | undefined {
  let s: string;
  if (typeof value === 'bigint') s = value.toString();
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) return undefined;
    s = String(value);
  } else if (typeof value === 'string') s = value.trim();
  else return undefined;
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return undefined;
  let digits = m[2]! + (m[3] ?? '');
  let point = m[2]!.length + (m[4] ? Number(m[4]) : 0);
  if (Math.abs(point) > 400) return undefined;
  if (point < 0) {
    digits = '0'.repeat(-point) + digits;
    point = 0;
  } else if (point > digits.length) digits = digits.padEnd(point, '0');
  const int = digits.slice(0, point).replace(/^0+/, '');
  const frac = digits.slice(point).replace(/0+$/, '');
  return [m[1] === '-' && (int !== '' || frac !== ''), int, frac];
}

/** Precision and scale of Decimal(P, S), Decimal32(S) … Decimal256(S). */
function decimalShape(t: TypeShape): [number, number] | undefined {
  const bits: Record<string, number> = { Decimal32: 9, Decimal64: 18, Decimal128: 38, Decimal256: 76 };
  if (t.name === 'Decimal') {
    const p = Number(t.args[0] ?? 10);
    return [p, Number(t.args[1] ?? 0)];
  }
  const p = bits[t.name];
  return p === undefined ? undefined : [p, Number(t.args[0] ?? 0)];
}

/** UTF-8 length of a JS string. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** A string with an explicit zone ('…Z', '…+03:00'): an instant, as insert() reads it. */
function parseInstant(s: string): [number, string] | undefined {
  // The offset group of parseDateTime's pattern is the only way the text can end like this.
  if (!/(?:Z|[+-]\d{2}:?\d{2})$/.test(s.trim())) return undefined;
  return parseDateTime(s, undefined);
}

/** DateTime64(p) of ticks of 10^-p s since the epoch: a UTC wall time, moved to tz. */
function dateTime64Expr(ticks: bigint, p: number, tz: string | undefined, ctx: BindContext, value: unknown): string {
  const scale = 10n ** BigInt(p);
  // What the engine stores and prints back unchanged (as insert() checks): years 0000..9999, ticks in Int64.
  const int64 = 1n << 63n;
  if (ticks < -62167219200n * scale || ticks >= 253402300800n * scale || ticks < -int64 || ticks >= int64)
    throw badParam(ctx, value, `is out of range for DateTime64(${p})`);
  const utc = `toDateTime64(${quoteString(formatTicks(ticks, p, undefined))}, ${p}, 'UTC')`;
  return tz ? `toTimeZone(${utc}, ${tz})` : utc;
}

/**
 * A SQL expression for `value` as a value of `type` (or of a type inferred
 * from the JS value), suitable for old servers (18.16: no true/false, no Map).
 * `name` (the parameter's) is for error messages.
 */
export function formatSqlLiteral(value: ParamValue, type?: string, name?: string): string {
  return sqlExpr(value, type, { name, type }, false);
}

function sqlExpr(value: ParamValue, type: string | undefined, ctx: BindContext, nested: boolean): string {
  const t = type === undefined ? undefined : unwrapLowCardinality(parseType(type));
  if (t?.name === 'Identifier') {
    if (typeof value !== 'string') throw new EncodeError('an Identifier parameter must be a string', 'CHWIRE_BAD_PARAM');
    return quoteIdentifier(value);
  }
  // A typed NULL keeps the declared type (a bare NULL would be Nullable(Nothing)).
  if (value === null || value === undefined) return type === undefined ? 'NULL' : `CAST(NULL, ${quoteString(type)})`;
  if (t?.name === 'Nullable' && t.args.length === 1) return sqlExpr(value, t.args[0], ctx, nested);
  if (Array.isArray(value)) {
    if (t?.name === 'Tuple') {
      if (value.length !== t.args.length) throw badParam(ctx, value, `has ${value.length} elements, not ${t.args.length}`);
      return 'tuple(' + value.map((v, i) => sqlExpr(v, tupleElementType(t.args[i]!), ctx, true)).join(', ') + ')';
    }
    const el = t?.name === 'Array' ? t.args[0] : undefined;
    if (t !== undefined && el === undefined) throw badParam(ctx, value, `is an array, not a ${type!.trim()}`);
    // [] alone is Array(Nothing).
    if (value.length === 0 && el !== undefined) return `CAST([] AS Array(${el}))`;
    return '[' + value.map((v) => sqlExpr(v, el, ctx, true)).join(', ') + ']';
  }
  if (value instanceof Map || isPlainObject(value)) {
    const [kt, vt] = t?.name === 'Map' ? [t.args[0], t.args[1]] : [undefined, undefined];
    return 'map(' + mapEntries(value).map(([k, v]) => `${sqlExpr(k, kt, ctx, true)}, ${sqlExpr(v, vt, ctx, true)}`).join(', ') + ')';
  }
  const scalar = value as string | number | bigint | boolean | Date;
  if (t === undefined) return untypedExpr(scalar);
  const name = t.name;
  const declared = type!.trim();

  const range = intRange(name);
  if (range) {
    const n = toBigInt(scalar instanceof Date ? scalarText(scalar, t) : scalar);
    if (n === undefined) throw badParam(ctx, value, `is not an integer (${name})`);
    if (n < range[0] || n > range[1]) throw badParam(ctx, value, `is out of range for ${name}`);
    return intExpr(n, name, nested);
  }
  if (name === 'Float64' || name === 'Float32' || name === 'BFloat16') {
    const x = toNumber(scalar instanceof Date ? scalarText(scalar, t) : scalar);
    if (x === undefined) throw badParam(ctx, value, `is not a number (${name})`);
    if (name === 'Float64') return float64Expr(x);
    if (Number.isFinite(x) && !Number.isFinite(Math.fround(x))) throw badParam(ctx, value, `is out of range for ${name}`);
    return `to${name}(${float64Expr(x)})`;
  }
  if (name === 'Bool') {
    const b = typeof scalar === 'string' ? { true: 1n, false: 0n, 1: 1n, 0: 0n }[scalar.trim().toLowerCase()] : toBigInt(scalar);
    if (b !== 0n && b !== 1n) throw badParam(ctx, value, 'is not a boolean');
    return String(b);
  }
  const dec = decimalShape(t);
  if (dec) {
    const parts = decimalParts(scalar);
    if (!parts) throw badParam(ctx, value, `is not a decimal number (${declared})`);
    const [neg, int, frac] = parts;
    if (int.length > dec[0] - dec[1]) throw badParam(ctx, value, `is out of range for ${declared}`);
    if (frac.length > dec[1]) throw badParam(ctx, value, `has more than ${dec[1]} fractional digits (${declared})`);
    const text = `${neg ? '-' : ''}${int || '0'}${frac ? '.' + frac : ''}`;
    return `CAST(${quoteString(text)} AS ${declared})`;
  }
  if (name === 'String' || name === 'FixedString') {
    // The value's parameter text, as the native path sends it: '5', 'true', 'nan'.
    const s = scalarText(scalar, t);
    if (name === 'String') return quoteString(s);
    const n = Number(t.args[0]);
    if (utf8Length(s) > n) throw badParam(ctx, value, `is longer than ${n} bytes (${declared})`);
    return `toFixedString(${quoteString(s)}, ${n})`;
  }
  if (name === 'Enum8' || name === 'Enum16' || name === 'Enum') {
    // A name, or a numeric value of the enum.
    if (typeof scalar === 'string') return `CAST(${quoteString(scalar)} AS ${declared})`;
    const n = typeof scalar === 'number' || typeof scalar === 'bigint' ? toBigInt(scalar) : undefined;
    if (n === undefined) throw badParam(ctx, value, `is not an enum name or value (${declared})`);
    return `CAST(${n} AS ${declared})`;
  }
  // Dates and times: an instant from a Date object, a number or a string with a zone; the server's parse of other strings.
  if (name === 'Date' || name === 'Date32') {
    const fn = name === 'Date' ? 'toDate' : 'toDate32';
    if (scalar instanceof Date) {
      checkDate(scalar);
      return `${fn}(${quoteString(utcDate(scalar))})`;
    }
    if (typeof scalar === 'number' || typeof scalar === 'bigint') {
      // A day number since 1970-01-01, as insert() takes it.
      const days = toBigInt(scalar);
      const [min, max] = name === 'Date' ? [0n, 65535n] : [-25567n, 120529n];
      if (days === undefined || days < min || days > max) throw badParam(ctx, value, `is not a day number in range for ${name}`);
      return `${fn}(${quoteString(formatDays(Number(days)))})`;
    }
    if (typeof scalar === 'boolean') throw badParam(ctx, value, `is not a date`);
    return `${fn}(${quoteString(scalar)})`;
  }
  if (name === 'DateTime') {
    const tz = t.args[0];
    const tzArg = tz ? `, ${tz}` : '';
    let sec: number | undefined;
    if (scalar instanceof Date) {
      checkDate(scalar);
      sec = Math.floor(scalar.getTime() / 1000);
    } else if (typeof scalar === 'number' || typeof scalar === 'bigint') {
      const n = toBigInt(scalar);
      if (n === undefined) throw badParam(ctx, value, 'is not a whole number of seconds (DateTime)');
      sec = Number(n);
    } else if (typeof scalar === 'string') {
      const p = parseInstant(scalar);
      if (!p) return `toDateTime(${quoteString(scalar)}${tzArg})`;
      sec = p[0];
    } else throw badParam(ctx, value, 'is not a date-time');
    if (sec < 0 || sec > 0xffffffff) throw badParam(ctx, value, 'is out of range for DateTime (1970-01-01 .. 2106-02-07)');
    return `toDateTime(${sec}${tzArg})`;
  }
  if (name === 'DateTime64') {
    const p = Number(t.args[0] ?? '3');
    const tz = t.args[1];
    const scale = 10n ** BigInt(p);
    if (scalar instanceof Date) {
      checkDate(scalar);
      const ms = scalar.getTime();
      const text = `${utcDateTime(scalar)}.${pad(((ms % 1000) + 1000) % 1000, 3)}`;
      const utc = `toDateTime64(${quoteString(text)}, ${p}, 'UTC')`;
      return tz ? `toTimeZone(${utc}, ${tz})` : utc;
    }
    if (typeof scalar === 'number' || typeof scalar === 'bigint') {
      // Epoch seconds, as the server reads a number given as parameter text.
      const ticks =
        typeof scalar === 'bigint' ? scalar * scale : Number.isFinite(scalar) ? BigInt(Math.round(scalar * Number(scale))) : undefined;
      if (ticks === undefined) throw badParam(ctx, value, 'is not a date-time');
      return dateTime64Expr(ticks, p, tz, ctx, value);
    }
    if (typeof scalar === 'string') {
      const inst = parseInstant(scalar);
      if (!inst) return `toDateTime64(${quoteString(scalar)}, ${p}${tz ? `, ${tz}` : ''})`;
      if (/[1-9]/.test(inst[1].slice(p))) throw badParam(ctx, value, `has more than ${p} fractional digits`);
      const frac = p ? BigInt(inst[1].slice(0, p).padEnd(p, '0')) : 0n;
      return dateTime64Expr(BigInt(inst[0]) * scale + frac, p, tz, ctx, value);
    }
    throw badParam(ctx, value, 'is not a date-time');
  }
  // Any other type: the server's conversion of the number or of the value's text.
  if (typeof scalar === 'number' || typeof scalar === 'bigint') {
    const n = typeof scalar === 'bigint' || Number.isSafeInteger(scalar) ? BigInt(scalar) : undefined;
    return `CAST(${n === undefined ? float64Expr(scalar as number) : n.toString()} AS ${declared})`;
  }
  if (typeof scalar === 'string') return `CAST(${quoteString(scalar)} AS ${declared})`;
  return `CAST(${quoteString(scalarText(scalar, t))} AS ${declared})`;
}

/** A value of no declared type: the literal its JS type suggests. */
function untypedExpr(value: string | number | bigint | boolean | Date): string {
  if (typeof value === 'string') return quoteString(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'bigint') {
    if (value <= U64_MAX && value >= I64_MIN) return intExpr(value, '', false);
    const big = value > 0n ? (value >> 128n ? 'UInt256' : 'UInt128') : (-value - 1n) >> 127n ? 'Int256' : 'Int128';
    return intExpr(value, big, false);
  }
  if (value instanceof Date) {
    checkDate(value);
    return `toDateTime(${Math.floor(value.getTime() / 1000)})`;
  }
  if (Number.isSafeInteger(value)) return intExpr(BigInt(value), '', false);
  return float64Expr(value);
}

/** Skip a quoted token starting at i (quote char q); returns the index after it. */
function skipQuoted(sql: string, i: number, q: string): number {
  let j = i + 1;
  while (j < sql.length) {
    const ch = sql[j]!;
    if (ch === '\\') {
      j += 2;
      continue;
    }
    if (ch === q) {
      if (sql[j + 1] === q) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return sql.length;
}

interface Placeholder {
  start: number;
  end: number;
  name: string;
  type: string;
}

const NAME_RE = /\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*/y;

function placeholderAt(sql: string, i: number): Placeholder | undefined {
  NAME_RE.lastIndex = i;
  const m = NAME_RE.exec(sql);
  if (!m) return undefined;
  let j = NAME_RE.lastIndex;
  const typeStart = j;
  let depth = 0;
  while (j < sql.length) {
    const ch = sql[j]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      j = skipQuoted(sql, j, ch);
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '}' && depth === 0) {
      const type = sql.slice(typeStart, j).trim();
      if (type === '') return undefined;
      return { start: i, end: j + 1, name: m[1]!, type };
    }
    j++;
  }
  return undefined;
}

/**
 * The index just after a `--` line comment or a block comment starting at `i` (ClickHouse's
 * lexer allows nested block comments); `i` itself when none starts there.
 */
export function skipComment(sql: string, i: number): number {
  const n = sql.length;
  if (sql[i] === '-' && sql[i + 1] === '-') {
    const nl = sql.indexOf('\n', i);
    return nl < 0 ? n : nl + 1;
  }
  if (sql[i] !== '/' || sql[i + 1] !== '*') return i;
  let depth = 1;
  i += 2;
  while (i < n && depth > 0) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
    } else i++;
  }
  return i;
}

/** Visit every placeholder outside string literals, quoted identifiers and comments. */
function scanPlaceholders(sql: string, visit: (p: Placeholder) => void): void {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(sql, i, ch);
    } else if ((ch === '-' && sql[i + 1] === '-') || (ch === '/' && sql[i + 1] === '*')) {
      i = skipComment(sql, i);
    } else if (ch === '{') {
      const p = placeholderAt(sql, i);
      if (p) {
        visit(p);
        i = p.end;
      } else i++;
    } else i++;
  }
}

/** Declared types of the placeholders in `sql` (first declaration wins). */
export function extractParamTypes(sql: string): Record<string, string> {
  const out: Record<string, string> = {};
  scanPlaceholders(sql, (p) => {
    if (!(p.name in out)) out[p.name] = p.type;
  });
  return out;
}

/**
 * Client-side binding for servers < 54459: replace each `{name:Type}`
 * placeholder with `formatSqlLiteral(params[name], types?.[name] ?? Type)`.
 * Placeholders inside string literals, quoted identifiers and comments are left
 * alone, and substituted text is never scanned again. A missing parameter is
 * an EncodeError 'CHWIRE_MISSING_PARAM' naming it.
 */
export function bindQueryParams(
  sql: string,
  params: Readonly<Record<string, ParamValue>>,
  types?: ParamTypes,
): string {
  let out = '';
  let last = 0;
  scanPlaceholders(sql, (p) => {
    if (!Object.prototype.hasOwnProperty.call(params, p.name)) {
      throw new EncodeError(`query parameter '${p.name}' (${p.type}) has no value`, 'CHWIRE_MISSING_PARAM');
    }
    out += sql.slice(last, p.start);
    const expr = formatSqlLiteral(params[p.name], types?.[p.name] ?? p.type, p.name);
    out += (gluesTo(out[out.length - 1], expr[0]!) ? ' ' : '') + expr;
    if (gluesTo(expr[expr.length - 1]!, sql[p.end])) out += ' ';
    last = p.end;
  });
  return out + sql.slice(last);
}

const WORD = /[A-Za-z0-9_$]/;

/**
 * Whether text ending in `a` followed by text starting with `b` would lex as
 * something else than the two apart: one word or number (`1` `5` → `15`), one
 * quoted token (`'a'` `'b'` → `'a''b'`), a comment (`-` `-`, `/` `*`) or a
 * fraction (`5` `.5`).
 */
function gluesTo(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  if (WORD.test(a) && WORD.test(b)) return true;
  if (a === b && (a === "'" || a === '"' || a === '`' || a === '-')) return true;
  if (a === '/' && b === '*') return true;
  return (a === '.' && /[0-9]/.test(b)) || (/[0-9]/.test(a) && b === '.');
}
