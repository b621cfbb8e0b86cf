// Just enough SQL recognition for the server: which statements need client
// data (INSERT … VALUES / FORMAT without inline data), SET / USE statements
// (kept per connection, as a ClickHouse session would), and the target of an INSERT.
import { trailingFormatClause } from '../transport/common.js';

export type StatementKind =
  | { kind: 'insert'; prefix: string; target: string; columns?: string[] }
  | { kind: 'set'; settings: [string, string][] }
  | { kind: 'use'; database: string }
  | { kind: 'select' }
  | { kind: 'other' };

/** Strip leading comments and whitespace. */
function stripLeading(sql: string): string {
  let s = sql;
  for (;;) {
    const t = s.replace(/^\s+/, '');
    if (t.startsWith('--')) {
      const nl = t.indexOf('\n');
      s = nl < 0 ? '' : t.slice(nl + 1);
    } else if (t.startsWith('/*')) {
      const end = t.indexOf('*/');
      s = end < 0 ? '' : t.slice(end + 2);
    } else return t;
  }
}

/** Split on top-level commas (outside quotes and brackets). */
export function splitTopLevel(s: string, sep = ','): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') depth--;
    else if (ch === sep && depth === 0) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** Unquote a SQL identifier (`a b`, "a", plain). */
export function unquoteIdent(s: string): string {
  const t = s.trim();
  if ((t.startsWith('`') && t.endsWith('`')) || (t.startsWith('"') && t.endsWith('"'))) {
    return t.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return t;
}

/** A SET value literal as setting text: 'str' → str, numbers and words as written. */
function settingValue(v: string): string {
  const t = v.trim();
  if (t.startsWith("'") && t.endsWith("'") && t.length >= 2) {
    return t.slice(1, -1).replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r', '0': '\0' })[c] ?? c);
  }
  if (/^(true|false)$/i.test(t)) return /^true$/i.test(t) ? '1' : '0';
  return t;
}

/** Read balanced parentheses starting at s[i] === '('; returns the index after ')'. */
function skipParens(s: string, i: number): number {
  let depth = 0;
  let quote = '';
  for (; i < s.length; i++) {
    const ch = s[i]!;
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = '';
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return s.length;
}

/**
 * The statement without a trailing `FORMAT name` (the native protocol always
 * carries Native blocks; the client applies its own output format).
 */
export function stripFormat(sql: string): string {
  const f = trailingFormatClause(sql);
  return f ? sql.slice(0, f.start).replace(/\s+$/, '') : sql;
}

export function classify(sql: string): StatementKind {
  const s = stripLeading(sql).replace(/[\s;]+$/, '');
  const head = /^([A-Za-z]+)/.exec(s)?.[1]?.toUpperCase() ?? '';
  if (head === 'SET' && !/^SET\s+(ROLE|DEFAULT\s+ROLE)\b/i.test(s)) {
    const body = s.slice(3);
    const settings: [string, string][] = [];
    for (const part of splitTopLevel(body)) {
      const eq = part.indexOf('=');
      if (eq < 0) return { kind: 'other' };
      settings.push([part.slice(0, eq).trim(), settingValue(part.slice(eq + 1))]);
    }
    return { kind: 'set', settings };
  }
  if (head === 'USE') {
    const m = /^USE\s+(\S+)$/i.exec(s);
    if (m) return { kind: 'use', database: unquoteIdent(m[1]!) };
  }
  if (head === 'INSERT') {
    const m = /^([\s\S]*?)\s+(VALUES|FORMAT\s+[A-Za-z0-9_]+)$/i.exec(s);
    if (m) {
      const prefix = m[1]!;
      const t = /^INSERT\s+INTO\s+(?:TABLE\s+)?(FUNCTION\s+)?/i.exec(prefix);
      if (!t) return { kind: 'other' };
      let i = t[0].length;
      let target: string;
      if (t[1]) {
        const open = prefix.indexOf('(', i);
        const close = skipParens(prefix, open);
        target = prefix.slice(i, close);
        i = close;
      } else {
        const id = /^(?:`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*"|[A-Za-z0-9_]+)(?:\s*\.\s*(?:`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*"|[A-Za-z0-9_]+))?/.exec(prefix.slice(i));
        if (!id) return { kind: 'other' };
        target = id[0];
        i += id[0].length;
      }
      const rest = prefix.slice(i).replace(/^\s+/, '');
      let columns: string[] | undefined;
      if (rest.startsWith('(')) {
        const close = skipParens(rest, 0);
        columns = splitTopLevel(rest.slice(1, close - 1)).map(unquoteIdent).filter((c) => c !== '');
      }
      return columns ? { kind: 'insert', prefix, target, columns } : { kind: 'insert', prefix, target };
    }
    return { kind: 'other' };
  }
  if (head === 'SELECT' || head === 'WITH' || s.startsWith('(')) return { kind: 'select' };
  return { kind: 'other' };
}
