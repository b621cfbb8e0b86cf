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

const INT_OR_FLOAT = /^(U?Int(8|16|32|64|128|256)|Float(32|64)|BFloat16)$/;
const STRINGISH = /^(String|FixedString|Enum8|Enum16|Enum)$/;

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

function scalarText(value: string | number | bigint | boolean | Date, t: TypeShape | undefined): string {
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return t?.name === 'Bool' ? String(value) : value ? '1' : '0';
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
  if (typeof value === 'string') return quoteString(value);
  if (value instanceof Date) return quoteString(scalarText(value, t));
  if (typeof value === 'boolean' && t?.name === 'Bool') return String(value);
  return scalarText(value as number | bigint | boolean, t);
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

/**
 * A SQL expression for `value` as a value of `type` (or of a type inferred
 * from the JS value), suitable for old servers (18.16: no true/false, no Map).
 */
export function formatSqlLiteral(value: ParamValue, type?: string): string {
  const t = type === undefined ? undefined : unwrapLowCardinality(parseType(type));
  if (t?.name === 'Identifier') {
    if (typeof value !== 'string') throw new EncodeError('an Identifier parameter must be a string', 'CHWIRE_BAD_PARAM');
    return quoteIdentifier(value);
  }
  // A typed NULL keeps the declared type (a bare NULL would be Nullable(Nothing)).
  if (value === null || value === undefined) return type === undefined ? 'NULL' : `CAST(NULL, ${quoteString(type)})`;
  if (t?.name === 'Nullable' && t.args.length === 1) return formatSqlLiteral(value, t.args[0]);
  if (Array.isArray(value)) {
    if (t?.name === 'Tuple') {
      return 'tuple(' + value.map((v, i) => formatSqlLiteral(v, t.args[i] && tupleElementType(t.args[i]!))).join(', ') + ')';
    }
    const el = t?.name === 'Array' ? t.args[0] : undefined;
    return '[' + value.map((v) => formatSqlLiteral(v, el)).join(', ') + ']';
  }
  if (value instanceof Map || isPlainObject(value)) {
    const [kt, vt] = t?.name === 'Map' ? [t.args[0], t.args[1]] : [undefined, undefined];
    return 'map(' + mapEntries(value).map(([k, v]) => `${formatSqlLiteral(k, kt)}, ${formatSqlLiteral(v, vt)}`).join(', ') + ')';
  }
  const name = t?.name;
  // Dates and times: an instant from a Date object, or the server's parse of a string.
  if (name === 'Date' || name === 'Date32') {
    const fn = name === 'Date' ? 'toDate' : 'toDate32';
    if (value instanceof Date) {
      checkDate(value);
      return `${fn}(${quoteString(utcDate(value))})`;
    }
    return `${fn}(${quoteString(String(value))})`;
  }
  if (name === 'DateTime') {
    const tz = t!.args[0];
    const tzArg = tz ? `, ${tz}` : '';
    if (value instanceof Date) {
      checkDate(value);
      return `toDateTime(${Math.floor(value.getTime() / 1000)}${tzArg})`;
    }
    if (typeof value === 'number' || typeof value === 'bigint') return `toDateTime(${value}${tzArg})`;
    return `toDateTime(${quoteString(String(value))}${tzArg})`;
  }
  if (name === 'DateTime64') {
    const p = t!.args[0] ?? '3';
    const tz = t!.args[1];
    if (value instanceof Date) {
      checkDate(value);
      const ms = value.getTime();
      const text = `${utcDateTime(value)}.${pad(((ms % 1000) + 1000) % 1000, 3)}`;
      const utc = `toDateTime64(${quoteString(text)}, ${p}, 'UTC')`;
      return tz ? `toTimeZone(${utc}, ${tz})` : utc;
    }
    return `toDateTime64(${quoteString(String(value))}, ${p}${tz ? `, ${tz}` : ''})`;
  }
  if (value instanceof Date) {
    checkDate(value);
    return `toDateTime(${Math.floor(value.getTime() / 1000)})`;
  }
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (name !== undefined && !INT_OR_FLOAT.test(name) && !name.startsWith('Decimal') && name !== 'Bool') {
      return `CAST(${numberText(value)} AS ${type!.trim()})`;
    }
    return numberText(value);
  }
  if (typeof value === 'bigint') return value.toString();
  const s = String(value);
  if (name === undefined || STRINGISH.test(name)) return quoteString(s);
  if (INT_OR_FLOAT.test(name) || name === 'Bool') {
    // A numeric type given as a string: accept only a plain number.
    if (!/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|nan)$/i.test(s.trim())) {
      throw new EncodeError(`'${s.slice(0, 40)}' is not a number for type ${name}`, 'CHWIRE_BAD_PARAM');
    }
    return s.trim();
  }
  return `CAST(${quoteString(s)} AS ${type!.trim()})`;
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

/** Visit every placeholder outside string literals, quoted identifiers and comments. */
function scanPlaceholders(sql: string, visit: (p: Placeholder) => void): void {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(sql, i, ch);
    } else if (ch === '-' && sql[i + 1] === '-') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (ch === '/' && sql[i + 1] === '*') {
      // ClickHouse's lexer allows nested block comments.
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
    out += sql.slice(last, p.start) + formatSqlLiteral(params[p.name], types?.[p.name] ?? p.type);
    last = p.end;
  });
  return out + sql.slice(last);
}
