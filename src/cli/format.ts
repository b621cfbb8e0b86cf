// Text renderings of decoded values that match ClickHouse's own output formats
// (TSV, CSV, JSONEachRow / JSON, Pretty) for the common types. Values come from
// a client created with { dates: 'string', decimal: 'string' } (exact text).
import type { Block } from '../core/native/block-types.js';
import { parseType } from '../core/types/index.js';
import type { TypeNode } from '../core/types/type-node.js';

export type OutputFormat = 'TSV' | 'CSV' | 'JSONEachRow' | 'JSON' | 'Native' | 'Pretty';

const FORMAT_ALIASES: Record<string, OutputFormat> = {
  tsv: 'TSV',
  tabseparated: 'TSV',
  csv: 'CSV',
  jsoneachrow: 'JSONEachRow',
  ndjson: 'JSONEachRow',
  jsonlines: 'JSONEachRow',
  json: 'JSON',
  native: 'Native',
  pretty: 'Pretty',
  prettycompact: 'Pretty',
  table: 'Pretty',
};

export function outputFormat(name: string): OutputFormat | undefined {
  return FORMAT_ALIASES[name.toLowerCase()];
}

// ---------------------------------------------------------------- scalars

/** ClickHouse's shortest float text: `1e21` (no `+`), `inf`, `-inf`, `nan`, `-0`. */
export function formatFloat(x: number, bits: 32 | 64 = 64): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  let s = String(x);
  if (bits === 32) {
    for (let p = 1; p <= 9; p++) {
      const t = Number(x.toPrecision(p));
      if (Math.fround(t) === x) {
        s = String(t);
        break;
      }
    }
  }
  return s.replace('e+', 'e');
}

/** Decimal text without trailing fractional zeros (output_format_decimal_trailing_zeros=0). */
export function formatDecimal(s: string): string {
  return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
}

const ESC: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\b': '\\b', '\f': '\\f', '\0': '\\0', "'": "\\'" };

/** TSV / quoted-string escaping (writeEscapedString: backslash escapes, `'` too). */
export function escapeTsv(s: string): string {
  return s.replace(/[\\\t\n\r\b\f\0']/g, (c) => ESC[c]!);
}

export function quoteSql(s: string): string {
  return `'${escapeTsv(s)}'`;
}

export function quoteCsv(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** A JSON string as ClickHouse writes it (escapes `/`, control characters as \u00XX). */
export function jsonString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '/') out += '\\/';
    else if (c === 8) out += '\\b';
    else if (c === 12) out += '\\f';
    else if (c === 10) out += '\\n';
    else if (c === 13) out += '\\r';
    else if (c === 9) out += '\\t';
    else if (c < 0x20 || c === 0x7f || c === 0x2028 || c === 0x2029) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

// ---------------------------------------------------------------- typed formatters

type Kind = 'int' | 'float32' | 'float64' | 'decimal' | 'bool' | 'string' | 'text' | 'array' | 'tuple' | 'map' | 'nullable' | 'json' | 'any';

interface Shape {
  kind: Kind;
  /** Element shapes: array [el], tuple [...], map [k, v], nullable [inner]. */
  items: Shape[];
  /** Named tuple element names. */
  names?: string[];
}

const GEO: Record<string, string> = {
  Point: 'Tuple(Float64, Float64)',
  Ring: 'Array(Point)',
  LineString: 'Array(Point)',
  Polygon: 'Array(Ring)',
  MultiLineString: 'Array(LineString)',
  MultiPolygon: 'Array(Polygon)',
};

/** Geo types as the Tuple / Array types they are (Point = Tuple(Float64, Float64), Ring = Array(Point), …). */
export function geoType(t: TypeNode): TypeNode {
  const g = t.args.length === 0 ? GEO[t.name] : undefined;
  return g ? parseType(g) : t;
}

function shapeOf(t: TypeNode): Shape {
  t = geoType(t);
  const n = t.name;
  const sub = (i: number): Shape => {
    const a = t.args[i];
    return a && a.kind === 'type' ? shapeOf(a.type) : { kind: 'any', items: [] };
  };
  if (n === 'LowCardinality' || n === 'SimpleAggregateFunction') return sub(t.args.length - 1);
  if (n === 'Nullable') return { kind: 'nullable', items: [sub(0)] };
  if (/^U?Int\d+$/.test(n) || n.startsWith('Interval')) return { kind: 'int', items: [] };
  if (n === 'Float32' || n === 'BFloat16') return { kind: 'float32', items: [] };
  if (n === 'Float64') return { kind: 'float64', items: [] };
  if (n.startsWith('Decimal')) return { kind: 'decimal', items: [] };
  if (n === 'Bool') return { kind: 'bool', items: [] };
  if (n === 'String' || n === 'FixedString') return { kind: 'string', items: [] };
  if (/^(Date|Date32|DateTime|DateTime64|UUID|IPv4|IPv6|Enum8|Enum16|Enum|Time|Time64)$/.test(n)) return { kind: 'text', items: [] };
  if (n === 'Array') return { kind: 'array', items: [sub(0)] };
  if (n === 'Map') return { kind: 'map', items: [sub(0), sub(1)] };
  if (n === 'Tuple') {
    const named = t.args.length > 0 && t.args.every((a) => a.kind === 'type' && a.name);
    const s: Shape = { kind: 'tuple', items: t.args.map((_, i) => sub(i)) };
    if (named) s.names = t.args.map((a) => (a as { name: string }).name);
    return s;
  }
  if (n === 'Nested') {
    const names = t.args.map((a) => (a as { name?: string }).name ?? '');
    return { kind: 'array', items: [{ kind: 'tuple', items: t.args.map((_, i) => sub(i)), names }] };
  }
  if (n === 'JSON' || n === 'Object') return { kind: 'json', items: [] };
  return { kind: 'any', items: [] };
}

const shapes = new Map<string, Shape>();
export function shapeFor(type: string): Shape {
  let s = shapes.get(type);
  if (!s) {
    try {
      s = shapeOf(parseType(type));
    } catch {
      s = { kind: 'any', items: [] };
    }
    shapes.set(type, s);
  }
  return s;
}

function bytesToString(v: unknown): string {
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
  return String(v);
}

function tupleValues(v: unknown, s: Shape): unknown[] {
  if (Array.isArray(v)) return v;
  if (v && typeof v === 'object') return s.names ? s.names.map((k) => (v as Record<string, unknown>)[k]) : Object.values(v);
  return [v];
}

function mapEntries(v: unknown): [unknown, unknown][] {
  if (v instanceof Map) return [...v.entries()];
  if (v && typeof v === 'object') return Object.entries(v);
  return [];
}

function anyScalar(v: unknown): string {
  if (v instanceof Date) return v.toISOString().replace('T', ' ').replace(/\.000Z$|Z$/, '');
  if (typeof v === 'number') return formatFloat(v);
  return String(v);
}

/** The "quoted" text form used inside arrays/tuples/maps (and by TSV/CSV for composites). */
export function quotedText(v: unknown, s: Shape): string {
  if (v === null || v === undefined) return 'NULL';
  switch (s.kind) {
    case 'nullable':
      return quotedText(v, s.items[0]!);
    case 'int':
    case 'bool':
      return String(v);
    case 'float32':
    case 'float64':
      return formatFloat(Number(v), s.kind === 'float32' ? 32 : 64);
    case 'decimal':
      return formatDecimal(String(v));
    case 'string':
    case 'text':
      return quoteSql(bytesToString(v));
    case 'array':
      return `[${(Array.from(v as ArrayLike<unknown>)).map((x) => quotedText(x, s.items[0]!)).join(',')}]`;
    case 'tuple': {
      const vals = tupleValues(v, s);
      return `(${vals.map((x, i) => quotedText(x, s.items[i] ?? ANY)).join(',')})`;
    }
    case 'map':
      return `{${mapEntries(v).map(([k, x]) => `${quotedText(k, s.items[0]!)}:${quotedText(x, s.items[1]!)}`).join(',')}}`;
    case 'json':
      return quoteSql(jsonText(v, s));
    default:
      if (Array.isArray(v)) return `[${v.map((x) => quotedText(x, ANY)).join(',')}]`;
      if (v instanceof Map) return `{${[...v].map(([k, x]) => `${quotedText(k, ANY)}:${quotedText(x, ANY)}`).join(',')}}`;
      if (typeof v === 'string' || v instanceof Date) return quoteSql(anyScalar(v));
      if (typeof v === 'object' && !(v instanceof Uint8Array)) return quoteSql(jsonText(v, ANY));
      return anyScalar(v);
  }
}

const ANY: Shape = { kind: 'any', items: [] };

/** A TSV field. */
export function tsvText(v: unknown, s: Shape): string {
  if (v === null || v === undefined) return '\\N';
  switch (s.kind) {
    case 'nullable':
      return tsvText(v, s.items[0]!);
    case 'string':
    case 'text':
      return escapeTsv(bytesToString(v));
    case 'json':
      return escapeTsv(jsonText(v, s));
    case 'any':
      if (typeof v === 'string' || v instanceof Date || v instanceof Uint8Array) return escapeTsv(v instanceof Uint8Array ? bytesToString(v) : anyScalar(v));
      return quotedText(v, s);
    default:
      return quotedText(v, s);
  }
}

/** A CSV field (a top-level tuple becomes several fields). */
export function csvText(v: unknown, s: Shape): string {
  if (v === null || v === undefined) return '\\N';
  switch (s.kind) {
    case 'nullable':
      return csvText(v, s.items[0]!);
    case 'int':
    case 'bool':
    case 'float32':
    case 'float64':
    case 'decimal':
      return quotedText(v, s);
    case 'string':
    case 'text':
      return quoteCsv(bytesToString(v));
    case 'tuple': {
      const vals = tupleValues(v, s);
      return vals.map((x, i) => csvText(x, s.items[i] ?? ANY)).join(',');
    }
    case 'json':
      return quoteCsv(jsonText(v, s));
    case 'any':
      if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return anyScalar(v);
      if (typeof v === 'string' || v instanceof Date) return quoteCsv(anyScalar(v));
      return quoteCsv(quotedText(v, s));
    default:
      return quoteCsv(quotedText(v, s));
  }
}

/** A JSON value as ClickHouse's JSON formats write it (26.7 defaults: 64-bit integers unquoted, nan/inf → null). */
export function jsonText(v: unknown, s: Shape): string {
  if (v === null || v === undefined) return 'null';
  switch (s.kind) {
    case 'nullable':
      return jsonText(v, s.items[0]!);
    case 'int':
    case 'bool':
      return String(v);
    case 'float32':
    case 'float64': {
      const x = Number(v);
      return Number.isFinite(x) ? formatFloat(x, s.kind === 'float32' ? 32 : 64) : 'null';
    }
    case 'decimal':
      return formatDecimal(String(v));
    case 'string':
    case 'text':
      return jsonString(bytesToString(v));
    case 'array':
      return `[${Array.from(v as ArrayLike<unknown>).map((x) => jsonText(x, s.items[0]!)).join(',')}]`;
    case 'tuple': {
      const vals = tupleValues(v, s);
      if (s.names) return `{${s.names.map((k, i) => `${jsonString(k)}:${jsonText(vals[i], s.items[i] ?? ANY)}`).join(',')}}`;
      return `[${vals.map((x, i) => jsonText(x, s.items[i] ?? ANY)).join(',')}]`;
    }
    case 'map':
      return `{${mapEntries(v).map(([k, x]) => `${jsonString(typeof k === 'string' ? k : quotedText(k, s.items[0]!).replace(/^'|'$/g, ''))}:${jsonText(x, s.items[1]!)}`).join(',')}}`;
    default:
      if (typeof v === 'number') return Number.isFinite(v) ? formatFloat(v) : 'null';
      if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
      if (typeof v === 'string') return jsonString(v);
      if (v instanceof Date) return jsonString(anyScalar(v));
      if (v instanceof Uint8Array) return jsonString(bytesToString(v));
      if (Array.isArray(v) || ArrayBuffer.isView(v)) return `[${Array.from(v as ArrayLike<unknown>).map((x) => jsonText(x, ANY)).join(',')}]`;
      if (v instanceof Map) return `{${[...v].map(([k, x]) => `${jsonString(String(k))}:${jsonText(x, ANY)}`).join(',')}}`;
      if (typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${jsonString(k)}:${jsonText(x, ANY)}`).join(',')}}`;
      return jsonString(String(v));
  }
}

/** Cell text for the table view: strings unescaped except control characters. */
export function prettyText(v: unknown, s: Shape): string {
  if (v === null || v === undefined) return 'ᴺᵁᴸᴸ';
  const inner = s.kind === 'nullable' ? s.items[0]! : s;
  if (inner.kind === 'string' || inner.kind === 'text' || (inner.kind === 'any' && typeof v === 'string'))
    return bytesToString(v).replace(/[\n\t\r\0]/g, (c) => ESC[c]!);
  return tsvText(v, inner);
}

export function isRightAligned(type: string): boolean {
  const k = shapeFor(type);
  const inner = k.kind === 'nullable' ? k.items[0]! : k;
  return inner.kind === 'int' || inner.kind === 'float32' || inner.kind === 'float64' || inner.kind === 'decimal';
}

// ---------------------------------------------------------------- whole blocks

export function blockTsv(b: Block): string {
  const cols = b.columns.map((c) => ({ vals: c.toArray() as ArrayLike<unknown>, s: shapeFor(c.type) }));
  let out = '';
  for (let i = 0; i < b.rowCount; i++) out += cols.map((c) => tsvText(c.vals[i], c.s)).join('\t') + '\n';
  return out;
}

export function blockCsv(b: Block): string {
  const cols = b.columns.map((c) => ({ vals: c.toArray() as ArrayLike<unknown>, s: shapeFor(c.type) }));
  let out = '';
  for (let i = 0; i < b.rowCount; i++) out += cols.map((c) => csvText(c.vals[i], c.s)).join(',') + '\n';
  return out;
}

export function jsonRows(b: Block): string[] {
  const cols = b.columns.map((c) => ({ key: jsonString(c.name), vals: c.toArray() as ArrayLike<unknown>, s: shapeFor(c.type) }));
  const rows: string[] = [];
  for (let i = 0; i < b.rowCount; i++) rows.push(`{${cols.map((c) => `${c.key}:${jsonText(c.vals[i], c.s)}`).join(',')}}`);
  return rows;
}

function width(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** An aligned table (PrettyCompact style) for one block's worth of rows. */
export function renderTable(names: string[], types: string[], rows: string[][]): string {
  const right = types.map(isRightAligned);
  const w = names.map((n, j) => Math.max(width(n), ...rows.map((r) => width(r[j]!))));
  const pad = (s: string, j: number) => {
    const fill = ' '.repeat(w[j]! - width(s));
    return right[j] ? fill + s : s + fill;
  };
  const head = names.map((n, j) => {
    const fill = '─'.repeat(w[j]! - width(n));
    return right[j] ? `─${fill}${n}─` : `─${n}${fill}─`;
  });
  let out = `┌${head.join('┬')}┐\n`;
  for (const r of rows) out += `│ ${r.map((c, j) => pad(c, j)).join(' │ ')} │\n`;
  out += `└${w.map((x) => '─'.repeat(x + 2)).join('┴')}┘\n`;
  return out;
}

export function blockTableRows(b: Block, limit = Infinity): string[][] {
  const cols = b.columns.map((c) => ({ vals: c.toArray() as ArrayLike<unknown>, s: shapeFor(c.type) }));
  const rows: string[][] = [];
  const n = Math.min(b.rowCount, limit);
  for (let i = 0; i < n; i++) rows.push(cols.map((c) => prettyText(c.vals[i], c.s)));
  return rows;
}
