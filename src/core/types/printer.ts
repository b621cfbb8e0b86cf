// Canonical printer: TypeNode → the spelling ClickHouse itself prints
// (IDataType::getName(), as sent in Native block headers and system.columns).
//
// Canonicalisation done here (each checked against ClickHouse 26.7):
//   - `, ` between arguments, no other whitespace, no trailing comma;
//   - enum elements sorted by value, names single-quoted with the server's escapes;
//   - Variant alternatives sorted by their printed names (byte order, as DataTypeVariant sorts);
//   - JSON arguments ordered max_dynamic_types, max_dynamic_paths, typed paths (sorted by
//     path), SKIP paths (sorted, deduplicated), SKIP REGEXP (sorted, deduplicated);
//   - Tuple / Nested element names and JSON paths back-quoted only when needed.
// Not done here (the codec registry resolves them): family aliases and case
// (`INT` → `Int32`, `Decimal32(4)` → `Decimal(9, 4)`, `Enum(...)` → `Enum8(...)`),
// and number literals, which are printed as written (`0x10` stays `0x10`).

import type { TypeArg, TypeNode } from './type-node.js';

/**
 * The server's writeAnyQuotedString: escapes \b \f \n \r \t \0, backslash and
 * the quote char; every other character is written as is.
 */
export function quoteWith(s: string, q: "'" | '`'): string {
  const qc = q.charCodeAt(0);
  let i = 0;
  for (; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 || c === qc || c === 8 || c === 12 || c === 10 || c === 13 || c === 9 || c === 0) break;
  }
  if (i === s.length) return q + s + q;
  let out = q + s.slice(0, i);
  for (; i < s.length; i++) {
    const ch = s[i]!;
    switch (ch) {
      case '\b': out += '\\b'; break;
      case '\f': out += '\\f'; break;
      case '\n': out += '\\n'; break;
      case '\r': out += '\\r'; break;
      case '\t': out += '\\t'; break;
      case '\0': out += '\\0'; break;
      case '\\': out += '\\\\'; break;
      default: out += ch === q ? '\\' + q : ch;
    }
  }
  return out + q;
}

/** A string literal as the server prints it: `'it\'s'`. */
export function quoteString(s: string): string {
  return quoteWith(s, "'");
}

/** Valid identifiers the server still back-quotes (writeProbablyQuotedStringImpl + isValidIdentifier). */
const QUOTED_KEYWORDS = new Set(['distinct', 'all', 'table', 'select', 'from', 'values', 'null']);

function isPlainIdentifier(s: string): boolean {
  if (s.length === 0) return false;
  const c0 = s.charCodeAt(0);
  if (!((c0 >= 65 && c0 <= 90) || (c0 >= 97 && c0 <= 122) || c0 === 95)) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95)) return false;
  }
  return !(s.length <= 8 && QUOTED_KEYWORDS.has(s.toLowerCase()));
}

/** The server's backQuoteIfNeed: `a`, `` `b c` ``, `` `from` ``. */
export function backQuoteIfNeed(s: string): string {
  return isPlainIdentifier(s) ? s : quoteWith(s, '`');
}

/** JSON typed paths are additionally quoted when they read as the SKIP keyword. */
function quoteJsonPath(s: string): string {
  return s.length === 4 && s.toLowerCase() === 'skip' ? quoteWith(s, '`') : backQuoteIfNeed(s);
}

/** Code-point order, which equals the byte order of the UTF-8 the server compares (type names, paths). */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    // Surrogates encode code points above every BMP character.
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function printArg(arg: TypeArg, jsonPath: boolean): string {
  switch (arg.kind) {
    case 'type': {
      const t = printType(arg.type);
      if (arg.name === undefined) return t;
      return (jsonPath ? quoteJsonPath(arg.name) : backQuoteIfNeed(arg.name)) + ' ' + t;
    }
    case 'number':
      return arg.value;
    case 'string':
      return quoteString(arg.value);
    case 'enum':
      return `${quoteString(arg.name)} = ${arg.value}`;
    case 'function': {
      const name = backQuoteIfNeed(arg.name);
      if (!arg.hasParens) return name;
      let out = name + '(';
      for (let i = 0; i < arg.params.length; i++) {
        if (i > 0) out += ', ';
        out += printArg(arg.params[i]!, false);
      }
      return out + ')';
    }
    case 'setting':
      return `${arg.name}=${arg.value}`;
    case 'skip':
      return arg.regexp ? `SKIP REGEXP ${quoteString(arg.path)}` : `SKIP ${backQuoteIfNeed(arg.path)}`;
  }
}

function printJsonArgs(args: readonly TypeArg[]): string[] {
  const settings: TypeArg[] = [];
  const typed: { path: string; text: string }[] = [];
  const skips = new Set<string>();
  const regexps = new Set<string>();
  const rest: string[] = [];
  for (const a of args) {
    if (a.kind === 'setting') settings.push(a);
    else if (a.kind === 'type' && a.name !== undefined) typed.push({ path: a.name, text: printArg(a, true) });
    else if (a.kind === 'skip') (a.regexp ? regexps : skips).add(a.path);
    else rest.push(printArg(a, true));
  }
  const settingRank = (a: TypeArg): number =>
    a.kind === 'setting' ? (a.name === 'max_dynamic_types' ? 0 : a.name === 'max_dynamic_paths' ? 1 : 2) : 2;
  settings.sort((a, b) => settingRank(a) - settingRank(b));
  typed.sort((a, b) => compareBytes(a.path, b.path));
  const out = settings.map((s) => printArg(s, true));
  for (const t of typed) out.push(t.text);
  for (const p of [...skips].sort(compareBytes)) out.push(`SKIP ${backQuoteIfNeed(p)}`);
  for (const r of [...regexps].sort(compareBytes)) out.push(`SKIP REGEXP ${quoteString(r)}`);
  return out.concat(rest);
}

/** The canonical ClickHouse spelling of a parsed type. */
export function printType(node: TypeNode): string {
  if (!node.hasParens) return node.name;
  const args = node.args;
  const name = node.name;
  let parts: string[];
  if (name === 'Variant') {
    parts = args.map((a) => printArg(a, false)).sort(compareBytes);
  } else if (name.length === 4 && name.toUpperCase() === 'JSON') {
    parts = printJsonArgs(args);
  } else if (isEnumFamily(name) && args.every((a) => a.kind === 'enum')) {
    const sorted = args.slice().sort((a, b) => (a as { value: number }).value - (b as { value: number }).value);
    parts = sorted.map((a) => printArg(a, false));
  } else {
    parts = new Array<string>(args.length);
    for (let i = 0; i < args.length; i++) parts[i] = printArg(args[i]!, false);
  }
  return `${name}(${parts.join(', ')})`;
}

function isEnumFamily(name: string): boolean {
  if (name.length < 4 || name.length > 6) return false;
  const u = name.toUpperCase();
  return u === 'ENUM' || u === 'ENUM8' || u === 'ENUM16';
}
