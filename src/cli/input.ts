// Client-side parsing of TSV / CSV / JSONEachRow input for `chwire insert`:
// text fields become the JS values the column codecs take (numbers, numeric
// strings, date strings, arrays, Maps, null), driven by the table's types.
import { parseType } from '../core/types/index.js';
import type { TypeNode } from '../core/types/type-node.js';
import { geoType } from './format.js';

export type InputFormat = 'TSV' | 'TSVWithNames' | 'CSV' | 'CSVWithNames' | 'JSONEachRow' | 'Native';

export function inputFormat(name: string): InputFormat | undefined {
  const m: Record<string, InputFormat> = {
    tsv: 'TSV',
    tabseparated: 'TSV',
    tsvwithnames: 'TSVWithNames',
    tabseparatedwithnames: 'TSVWithNames',
    csv: 'CSV',
    csvwithnames: 'CSVWithNames',
    jsoneachrow: 'JSONEachRow',
    ndjson: 'JSONEachRow',
    jsonlines: 'JSONEachRow',
    native: 'Native',
  };
  return m[name.toLowerCase()];
}

// ---------------------------------------------------------------- record splitting

/** Lines of a byte stream (UTF-8), without the line terminator. */
export async function* lines(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<string> {
  const dec = new TextDecoder();
  let rest = '';
  for await (const chunk of source) {
    rest += typeof chunk === 'string' ? chunk : dec.decode(chunk, { stream: true });
    let i: number;
    while ((i = rest.indexOf('\n')) >= 0) {
      yield rest.slice(0, i).replace(/\r$/, '');
      rest = rest.slice(i + 1);
    }
  }
  rest += dec.decode();
  if (rest.length) yield rest.replace(/\r$/, '');
}

/** A CSV field: its text and whether it was quoted. */
export interface CsvField {
  text: string;
  quoted: boolean;
}

/** CSV records (RFC 4180: quoted fields may hold `,`, `""` and newlines). */
export async function* csvRecords(source: AsyncIterable<Uint8Array | string>, delimiter = ','): AsyncGenerator<CsvField[]> {
  const dec = new TextDecoder();
  let buf = '';
  let pos = 0;
  let fields: CsvField[] = [];
  let eof = false;
  const it = source[Symbol.asyncIterator]();
  const more = async (): Promise<boolean> => {
    if (eof) return false;
    const r = await it.next();
    if (r.done) {
      buf = buf.slice(pos) + dec.decode();
      pos = 0;
      eof = true;
      return buf.length > 0;
    }
    buf = buf.slice(pos) + (typeof r.value === 'string' ? r.value : dec.decode(r.value, { stream: true }));
    pos = 0;
    return true;
  };
  for (;;) {
    if (pos >= buf.length && !(await more())) break;
    // one field
    if (buf[pos] === '"') {
      let text = '';
      let i = pos + 1;
      for (;;) {
        if (i >= buf.length) {
          const consumed = i - pos;
          if (!(await more())) throw new Error('CSV input ends inside a quoted field');
          i = consumed;
          continue;
        }
        if (buf[i] === '"') {
          if (i + 1 >= buf.length && !eof) {
            const consumed = i - pos;
            await more();
            i = consumed;
            continue;
          }
          if (buf[i + 1] === '"') {
            text += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        text += buf[i];
        i++;
      }
      pos = i;
      fields.push({ text, quoted: true });
    } else {
      let i = pos;
      for (;;) {
        while (i < buf.length && buf[i] !== delimiter && buf[i] !== '\n' && buf[i] !== '\r') i++;
        if (i < buf.length || eof) break;
        const consumed = i - pos;
        if (!(await more())) break;
        i = consumed;
      }
      fields.push({ text: buf.slice(pos, i), quoted: false });
      pos = i;
    }
    // after a field: delimiter, end of record, or end of input
    if (pos >= buf.length && !eof) await more();
    const c = buf[pos];
    if (c === delimiter) {
      pos++;
      continue;
    }
    if (c === '\r') pos++;
    if (buf[pos] === '\n') pos++;
    if (!(fields.length === 1 && fields[0]!.text === '' && !fields[0]!.quoted)) yield fields;
    fields = [];
  }
  if (fields.length && !(fields.length === 1 && fields[0]!.text === '' && !fields[0]!.quoted)) yield fields;
}

// ---------------------------------------------------------------- text → values

const UNESC: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', '0': '\0', a: '\x07', v: '\v', e: '\x1b' };

/** Undo TSV escaping (\t, \n, \\, \', \xHH, …). */
export function unescapeTsv(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(x[0-9a-fA-F]{2}|.)/gs, (_, c: string) => (c.length === 3 ? String.fromCharCode(parseInt(c.slice(1), 16)) : (UNESC[c] ?? c)));
}

type Conv = (text: string) => unknown;

function unwrap(t: TypeNode): { t: TypeNode; nullable: boolean } {
  let nullable = false;
  for (;;) {
    t = geoType(t);
    if (t.name === 'LowCardinality' || t.name === 'SimpleAggregateFunction') t = (t.args[t.args.length - 1] as { type: TypeNode }).type;
    else if (t.name === 'Nullable') {
      nullable = true;
      t = (t.args[0] as { type: TypeNode }).type;
    } else return { t, nullable };
  }
}

function scalarFromText(t: TypeNode): Conv {
  const n = t.name;
  if (n === 'Float32' || n === 'Float64' || n === 'BFloat16')
    return (s) => {
      const x = s.trim().toLowerCase();
      if (x === 'nan' || x === '-nan' || x === '+nan') return NaN;
      if (x === 'inf' || x === '+inf' || x === 'infinity') return Infinity;
      if (x === '-inf' || x === '-infinity') return -Infinity;
      return Number(x);
    };
  if (n === 'Bool') return (s) => (/^(true|1|yes|on|t|y|enable|enabled)$/i.test(s.trim()) ? true : /^(false|0|no|off|f|n|disable|disabled)$/i.test(s.trim()) ? false : s);
  if (/^U?Int(8|16|32)$/.test(n)) return (s) => (/^\s*[-+]?\d+\s*$/.test(s) ? Number(s) : s);
  return (s) => s;
}

/** Parse the "quoted" text of a composite value ([...], (...), {...}) into nested JS values. */
export function parseQuoted(text: string): unknown {
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i]!)) i++;
  };
  const value = (): unknown => {
    ws();
    const c = text[i];
    if (c === '[' || c === '(') {
      const close = c === '[' ? ']' : ')';
      i++;
      const out: unknown[] = [];
      ws();
      if (text[i] === close) {
        i++;
        return c === '(' ? { tuple: out } : out;
      }
      for (;;) {
        out.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === close) {
          i++;
          break;
        }
        throw new Error(`bad composite value at ${i}: ${text.length > 200 ? text.slice(0, 200) + '…' : text}`);
      }
      return c === '(' ? { tuple: out } : out;
    }
    if (c === '{') {
      i++;
      const m: [unknown, unknown][] = [];
      ws();
      if (text[i] === '}') {
        i++;
        return { map: m };
      }
      for (;;) {
        const k = value();
        ws();
        if (text[i] !== ':') throw new Error(`bad map value at ${i}: ${text}`);
        i++;
        m.push([k, value()]);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          break;
        }
        throw new Error(`bad map value at ${i}: ${text}`);
      }
      return { map: m };
    }
    if (c === "'" || c === '"') {
      i++;
      let s = '';
      while (i < text.length && text[i] !== c) {
        if (text[i] === '\\' && i + 1 < text.length) {
          s += text.slice(i, i + 2);
          i += 2;
        } else s += text[i++];
      }
      i++;
      return { str: unescapeTsv(s) };
    }
    const start = i;
    while (i < text.length && !/[,\])}:\s]/.test(text[i]!)) i++;
    const raw = text.slice(start, i);
    return /^null$/i.test(raw) ? null : { str: raw };
  };
  const v = value();
  return v;
}

/** Convert a parsed quoted value to the JS value for type t. */
function fromParsed(v: unknown, t: TypeNode): unknown {
  if (v === null) return null;
  const u = unwrap(t).t;
  const sub = (i: number) => (u.args[i] as { type: TypeNode }).type;
  if (u.name === 'Array' && Array.isArray(v)) return v.map((x) => fromParsed(x, sub(0)));
  if (u.name === 'Tuple' && v && typeof v === 'object' && 'tuple' in v) {
    const vals = (v as { tuple: unknown[] }).tuple.map((x, i) => fromParsed(x, sub(i)));
    const names = u.args.map((a) => (a as { name?: string }).name);
    return names.length && names.every(Boolean) ? Object.fromEntries(names.map((n, i) => [n!, vals[i]])) : vals;
  }
  if (u.name === 'Map' && v && typeof v === 'object' && 'map' in v)
    return new Map((v as { map: [unknown, unknown][] }).map.map(([k, x]) => [fromParsed(k, sub(0)), fromParsed(x, sub(1))]));
  if (v && typeof v === 'object' && 'str' in v) return scalarFromText(u)((v as { str: string }).str);
  return v;
}

/** A converter from one field's text to the column's JS value. */
function nodeConverter(type: TypeNode, format: 'TSV' | 'CSV'): (text: string, quoted?: boolean) => unknown {
  const { t, nullable } = unwrap(type);
  const composite = t.name === 'Array' || t.name === 'Tuple' || t.name === 'Map' || t.name === 'Nested';
  const isString = t.name === 'String' || t.name === 'FixedString';
  const scalar = scalarFromText(t);
  return (text, quoted = false) => {
    if (!quoted && text === '\\N') return null;
    if (format === 'CSV' && !quoted && text === '' && nullable) return null;
    // A composite's TSV text is its quoted form as is: escapes inside its strings are undone once, by parseQuoted.
    if (composite) return fromParsed(parseQuoted(text), t);
    const s = format === 'TSV' ? unescapeTsv(text) : text;
    if (isString) return s;
    return scalar(s);
  };
}

interface FieldReader {
  /** Fields taken: a Tuple in CSV spreads over one field per element (as ClickHouse writes and reads it). */
  width: number;
  read(fields: CsvField[], at: number): unknown;
}

function fieldReader(type: TypeNode, format: 'TSV' | 'CSV'): FieldReader {
  const u = unwrap(type).t;
  if (format === 'CSV' && u.name === 'Tuple' && u.args.length) {
    const items = u.args.map((a) => fieldReader((a as { type: TypeNode }).type, format));
    const names = u.args.map((a) => (a as { name?: string }).name);
    const named = names.every(Boolean);
    return {
      width: items.reduce((n, r) => n + r.width, 0),
      read(fields, at) {
        const vals = items.map((r) => {
          const v = r.read(fields, at);
          at += r.width;
          return v;
        });
        return named ? Object.fromEntries(names.map((n, i) => [n!, vals[i]])) : vals;
      },
    };
  }
  const conv = nodeConverter(type, format);
  return { width: 1, read: (fields, at) => conv(fields[at]!.text, fields[at]!.quoted) };
}

/** Reads TSV / CSV records into rows for the columns; errors name the row and the column. */
export function rowReader(columns: { name: string; type: string }[], format: 'TSV' | 'CSV'): { width: number; read(fields: CsvField[], row: number): unknown[] } {
  const readers = columns.map((c) => fieldReader(parseType(c.type), format));
  const width = readers.reduce((n, r) => n + r.width, 0);
  return {
    width,
    read(fields, row) {
      if (fields.length !== width) {
        const spread = width !== columns.length ? `; a Tuple column takes one ${format} field per element` : '';
        throw new Error(`row ${row} has ${fields.length} fields, the table takes ${width} (${columns.map((c) => c.name).join(', ')}${spread})`);
      }
      let at = 0;
      return readers.map((r, j) => {
        try {
          return r.read(fields, at);
        } catch (e) {
          const c = columns[j]!;
          throw new Error(`row ${row}, column ${c.name} (${c.type}): ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          at += r.width;
        }
      });
    },
  };
}

/** JSON.parse that keeps numbers a double cannot hold exactly (big integers, long decimals) as strings. */
export function parseJsonExact(line: string): unknown {
  let out = '';
  let last = 0;
  let inStr = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
      continue;
    }
    if (c === '"') inStr = true;
    else if (c === '-' || (c >= '0' && c <= '9')) {
      let j = i + 1;
      while (j < line.length && /[0-9.eE+-]/.test(line[j]!)) j++;
      const tok = line.slice(i, j);
      if (String(Number(tok)) !== tok && !/[eE]/.test(tok) && !(tok.includes('.') && /^-?\d+\.\d*?0+$/.test(tok) && String(Number(tok)) === tok.replace(/\.?0+$/, ''))) {
        out += line.slice(last, i) + `"${tok}"`;
        last = j;
      }
      i = j - 1;
    }
  }
  return JSON.parse(out + line.slice(last));
}

/**
 * The default value of a type, as ClickHouse fills a field the input omits: 0, '', [], NULL for
 * Nullable, the smallest Enum value, …; undefined when chwire does not know it.
 */
export function typeDefault(type: string | TypeNode): { value: unknown } | undefined {
  let t = geoType(typeof type === 'string' ? parseType(type) : type);
  while (t.name === 'LowCardinality' || t.name === 'SimpleAggregateFunction') t = (t.args[t.args.length - 1] as { type: TypeNode }).type;
  const n = t.name;
  const sub = (a: (typeof t.args)[number]) => typeDefault((a as { type: TypeNode }).type);
  if (n === 'Nullable' || n === 'Variant' || n === 'Dynamic' || n === 'Nothing') return { value: null };
  if (/^U?Int\d+$/.test(n) || /^(Float|BFloat16)/.test(n)) return { value: 0 };
  if (n.startsWith('Decimal')) return { value: '0' };
  if (n === 'String' || n === 'FixedString') return { value: '' };
  if (n === 'Bool') return { value: false };
  if (/^Date(Time)?(32|64)?$/.test(n)) return { value: 0 };
  if (n === 'UUID') return { value: '00000000-0000-0000-0000-000000000000' };
  if (n === 'IPv4') return { value: '0.0.0.0' };
  if (n === 'IPv6') return { value: '::' };
  if (n === 'Array' || n === 'Nested') return { value: [] };
  if (n === 'Map') return { value: new Map() };
  if (n === 'Enum8' || n === 'Enum16' || n === 'Enum') {
    const els = t.args.filter((a) => a.kind === 'enum') as { name: string; value: number }[];
    if (!els.length) return undefined;
    return { value: els.reduce((m, e) => (e.value < m.value ? e : m)).name };
  }
  if (n === 'Tuple') {
    const items = t.args.map(sub);
    if (items.some((d) => !d)) return undefined;
    const names = t.args.map((a) => (a as { name?: string }).name);
    const vals = items.map((d) => d!.value);
    return { value: names.length && names.every(Boolean) ? Object.fromEntries(names.map((k, i) => [k!, vals[i]])) : vals };
  }
  return undefined;
}

/**
 * For JSONEachRow: a null for a column that is not Nullable becomes the type's
 * default value (as ClickHouse does with input_format_null_as_default=1).
 */
export function nullAsDefault(type: string): (v: unknown) => unknown {
  const d = typeDefault(type);
  if (!d || d.value === null) return (v) => v;
  return (v) => (v === null ? structuredClone(d.value) : v);
}
