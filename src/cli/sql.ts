// Statement splitting and classification for the command line.
import { trailingFormatClause } from '../transport/common.js';

/**
 * Split SQL text into statements at `;` outside string literals, quoted
 * identifiers and comments. Returns the complete statements and the unfinished
 * remainder (text after the last `;`, possibly only whitespace/comments).
 */
export function splitStatements(text: string): { statements: string[]; rest: string } {
  const statements: string[] = [];
  let start = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i++;
      while (i < n && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
    } else if (c === ';') {
      const s = text.slice(start, i).trim();
      if (s && !isOnlyComments(s)) statements.push(s);
      start = ++i;
    } else i++;
  }
  return { statements, rest: text.slice(start) };
}

export function isOnlyComments(s: string): boolean {
  return s.replace(/--[^\n]*|\/\*[\s\S]*?\*\/|(^|\s)#[^\n]*/g, '').trim() === '';
}

/** Leading keyword (`--`, `#` and block comments skipped), upper-cased. */
export function firstKeyword(sql: string): string {
  const s = sql.replace(/^(\s+|(--|#)[^\n]*(\n|$)|\/\*[\s\S]*?\*\/)+/, '');
  const m = /^\(*\s*([A-Za-z]+)/.exec(s);
  return m ? m[1]!.toUpperCase() : '';
}

const RESULT_KEYWORDS = new Set(['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXPLAIN', 'EXISTS', 'VALUES', 'CHECK']);

/** Statements known to return no rows (run with command(); an INSERT must be). */
const COMMAND_KEYWORDS = new Set([
  'INSERT', 'CREATE', 'DROP', 'ALTER', 'SET', 'USE', 'RENAME', 'TRUNCATE', 'OPTIMIZE', 'ATTACH', 'DETACH',
  'GRANT', 'REVOKE', 'DELETE', 'UPDATE', 'EXCHANGE', 'UNDROP',
]);

/**
 * How to run a statement: 'rows' (a result to print), 'command' (no result), or
 * 'unknown' (run as a query; print the result if it has columns).
 */
export function statementKind(sql: string): 'rows' | 'command' | 'unknown' {
  const k = firstKeyword(sql);
  return RESULT_KEYWORDS.has(k) ? 'rows' : COMMAND_KEYWORDS.has(k) ? 'command' : 'unknown';
}

/** A trailing `FORMAT name` clause: the name and the statement without it. */
export function trailingFormat(sql: string): { sql: string; format?: string } {
  const f = firstKeyword(sql) === 'INSERT' ? undefined : trailingFormatClause(sql);
  if (!f) return { sql };
  return { sql: sql.slice(0, f.start) + sql.slice(f.end), format: f.name };
}
