// ClickHouse type-name parser: one hand-written, single-pass scanner over the
// name, producing a TypeNode tree. The grammar follows the server's
// src/Parsers/ParserDataType.cpp (ClickHouse 26.x):
//
//   type      := name [ '(' [ arg { ',' arg } [ ',' ] ] ')' ]
//   name      := bare word | `back-quoted` | "double-quoted"   (word chars and `$`, no leading digit)
//                plus the SQL multi-word names (DOUBLE PRECISION, INT UNSIGNED, INT(11), NATIONAL CHAR VARYING, ...)
//   arg       := depends on the family:
//     Enum, Enum8, Enum16 (any case)   'str' [ '=' int ]         (missing values auto-assigned)
//     Tuple                            [ ident ] type            (all named or none; the server checks)
//     Nested                           ident type
//     Dynamic                          ident '=' number
//     JSON (any case)                  SKIP REGEXP 'str' | SKIP path | path '=' number | path type
//     AggregateFunction                [ uint ',' ] func { ',' type }     func := ident [ '(' literal,... ')' ]
//     SimpleAggregateFunction          func { ',' type }
//     anything else                    'str' '=' int | literal | type
//
// A trailing comma before ')' is accepted, as the server accepts it. Whitespace
// (space, \t, \n, \v, \f, \r) may appear between any two tokens; SQL comments
// are not supported (the server never sends them).

import { TypeParseError } from '../errors.js';
import { Limits } from '../limits.js';
import { quoteString } from './printer.js';
import type { TypeArg, TypeNode } from './type-node.js';

// Character classes for ASCII; code units >= 0x80 are treated as word chars in
// bare words (ClickHouse's lexer does the same for UTF-8 bytes).
/** The one-letter escapes both readers of quoted text decode (readEscapedString's table). */
export const SIMPLE_UNESCAPES: Readonly<Record<string, string>> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', a: '\x07', e: '\x1b', '0': '\0' };

const WORD = new Uint8Array(128); // [A-Za-z0-9_$]
const DIGIT = new Uint8Array(128);
const SPACE = new Uint8Array(128);
for (let c = 48; c <= 57; c++) {
  WORD[c] = 1;
  DIGIT[c] = 1;
}
for (let c = 65; c <= 90; c++) WORD[c] = 1;
for (let c = 97; c <= 122; c++) WORD[c] = 1;
WORD[95] = 1; // _
WORD[36] = 1; // $
for (const c of [32, 9, 10, 11, 12, 13]) SPACE[c] = 1;

const C_LPAREN = 40;
const C_RPAREN = 41;
const C_COMMA = 44;
const C_EQ = 61;
const C_QUOTE = 39; // '
const C_DQUOTE = 34; // "
const C_BACKTICK = 96; // `
const C_BACKSLASH = 92;
const C_MINUS = 45;
const C_PLUS = 43;
const C_DOT = 46;
const C_LBRACKET = 91;
const C_RBRACKET = 93;

/** Identifiers ClickHouse refuses as a type name (column-declaration keywords). */
const RESERVED_TYPE_NAMES = new Set([
  'NOT', 'NULL', 'DEFAULT', 'MATERIALIZED', 'EPHEMERAL', 'ALIAS', 'AUTO', 'PRIMARY', 'TTL', 'COMMENT', 'CODEC', 'SETTINGS',
]);

/** Integer names that take a MySQL display width `(N)` and a SIGNED/UNSIGNED suffix. */
const INTEGER_TYPE_NAMES = new Set([
  'INT8', 'INT16', 'INT32', 'INT64', 'INT128', 'INT256',
  'UINT8', 'UINT16', 'UINT32', 'UINT64', 'UINT128', 'UINT256',
  'TINYINT', 'SMALLINT', 'MEDIUMINT', 'INT', 'INTEGER', 'BIGINT', 'INT1',
]);

let textDecoder: TextDecoder | undefined;

/** Quote a name for an error message (JSON string syntax, so control chars stay visible). */
export function quoteForError(name: string): string {
  // A hostile peer could send a huge name; keep messages bounded.
  const max = 10_000;
  if (name.length <= max) return JSON.stringify(name);
  return `${JSON.stringify(name.slice(0, max))}… (${name.length - max} more characters)`;
}

class Scanner {
  readonly src: string;
  pos = 0;
  readonly len: number;

  constructor(src: string) {
    this.src = src;
    this.len = src.length;
  }

  fail(what: string, at: number = this.pos): never {
    let near: string;
    if (at >= this.len) near = 'at the end';
    else {
      const snippet = this.src.slice(at, at + 20);
      near = `at position ${at} (near ${JSON.stringify(snippet)}${at + 20 < this.len ? '…' : ''})`;
    }
    throw new TypeParseError(`Bad ClickHouse type name ${quoteForError(this.src)}: ${what} ${near}`);
  }

  /** Skip whitespace; return the code unit at the new position, or -1 at the end. */
  peek(): number {
    const s = this.src;
    let p = this.pos;
    while (p < this.len) {
      const c = s.charCodeAt(p);
      if (c < 128 && SPACE[c] === 1) p++;
      else break;
    }
    this.pos = p;
    return p < this.len ? s.charCodeAt(p) : -1;
  }

  expect(c: number, what: string): void {
    if (this.peek() !== c) this.fail(`expected ${what}`);
    this.pos++;
  }

  /** At a bare word start (letter, `_`, `$` or non-ASCII)? Assumes peek() was called. */
  atBareWordStart(c: number): boolean {
    return c >= 128 || (c >= 0 && WORD[c] === 1 && DIGIT[c] === 0);
  }

  /** Identifier start: bare word, back-quoted or double-quoted. */
  atIdentifier(): boolean {
    const c = this.peek();
    return c === C_BACKTICK || c === C_DQUOTE || this.atBareWordStart(c);
  }

  readBareWord(): string {
    const s = this.src;
    const start = this.pos;
    let p = start;
    while (p < this.len) {
      const c = s.charCodeAt(p);
      if (c >= 128 || WORD[c] === 1) p++;
      else break;
    }
    this.pos = p;
    return s.slice(start, p);
  }

  /**
   * Reads an identifier. Returns the name; `quoted` tells whether it was
   * quoted (a quoted identifier is never a keyword).
   */
  readIdentifier(what: string): { name: string; quoted: boolean } {
    const c = this.peek();
    if (c === C_BACKTICK || c === C_DQUOTE) return { name: this.readQuoted(c, what), quoted: true };
    if (!this.atBareWordStart(c)) this.fail(`expected ${what}`);
    return { name: this.readBareWord(), quoted: false };
  }

  /**
   * Reads a quoted token (', ` or ") starting at this.pos and returns its
   * unescaped content, as the server's parseComplexEscapeSequence reads it:
   * \b \f \n \r \t \v \a \e \0 \xHH; \\ \' \" \` \/ stand for the char; \N for
   * nothing; any other `\c` keeps the backslash. A doubled quote stands for itself.
   */
  readQuoted(q: number, what: string): string {
    const s = this.src;
    const open = this.pos;
    let p = open + 1;
    let chunkStart = p;
    let out = '';
    let bytes: number[] | undefined; // pending \xHH bytes >= 0x80 (decoded as UTF-8)
    const flush = (): void => {
      if (bytes !== undefined) {
        textDecoder ??= new TextDecoder();
        out += textDecoder.decode(new Uint8Array(bytes));
        bytes = undefined;
      }
    };
    for (;;) {
      if (p >= this.len) this.fail(`unterminated ${what}`, open);
      const c = s.charCodeAt(p);
      if (c === q) {
        if (p + 1 < this.len && s.charCodeAt(p + 1) === q) {
          // SQL style: a doubled quote stands for one quote.
          if (p > chunkStart) {
            flush();
            out += s.slice(chunkStart, p);
          }
          flush();
          out += s[p];
          p += 2;
          chunkStart = p;
          continue;
        }
        if (p > chunkStart) {
          flush();
          out += s.slice(chunkStart, p);
        }
        flush();
        this.pos = p + 1;
        return out;
      }
      if (c !== C_BACKSLASH) {
        p++;
        continue;
      }
      if (p > chunkStart) {
        flush();
        out += s.slice(chunkStart, p);
      }
      if (p + 1 >= this.len) this.fail(`unterminated ${what}`, open);
      const e = s[p + 1]!;
      p += 2;
      if (e === 'x' || e === 'X') {
        const h = p + 2 <= this.len ? parseHexByte(s, p) : -1;
        if (h < 0) this.fail(`bad \\x escape in ${what}`, p - 2);
        p += 2;
        if (h < 0x80) {
          flush();
          out += String.fromCharCode(h);
        } else (bytes ??= []).push(h);
        chunkStart = p;
        continue;
      }
      flush();
      // \N reads as nothing (the server's NULL marker); any other unknown escape keeps its
      // backslash (the server does so for LIKE patterns: '100\%').
      const simple = SIMPLE_UNESCAPES[e];
      if (simple !== undefined) out += simple;
      else if (e === '\\' || e === "'" || e === '"' || e === '`' || e === '/') out += e;
      else if (e !== 'N') out += '\\' + e;
      chunkStart = p;
    }
  }

  /**
   * Reads a number literal as written, with an optional sign: decimal
   * (`12`, `1.5`, `.5`, `1.`, `1e-7`), hex `0x1F`, binary `0b101`.
   */
  readNumber(): string {
    const s = this.src;
    const start = this.pos;
    let p = start;
    let c = s.charCodeAt(p);
    if (c === C_MINUS || c === C_PLUS) {
      p++;
      // The server's lexer allows whitespace between the sign and the digits.
      while (p < this.len && SPACE[s.charCodeAt(p)] === 1) p++;
      c = s.charCodeAt(p);
    }
    const digitsStart = p;
    const isDigit = (x: number): boolean => x >= 48 && x <= 57;
    if (c === 48 && (s[p + 1] === 'x' || s[p + 1] === 'X')) {
      p += 2;
      const h0 = p;
      while (p < this.len && isHex(s.charCodeAt(p))) p++;
      if (p === h0) this.fail('bad number literal', start);
    } else if (c === 48 && (s[p + 1] === 'b' || s[p + 1] === 'B') && (s[p + 2] === '0' || s[p + 2] === '1')) {
      p += 2;
      while (p < this.len && (s[p] === '0' || s[p] === '1')) p++;
    } else {
      let sawDigit = false;
      while (p < this.len && isDigit(s.charCodeAt(p))) { p++; sawDigit = true; }
      if (s.charCodeAt(p) === C_DOT) {
        p++;
        while (p < this.len && isDigit(s.charCodeAt(p))) { p++; sawDigit = true; }
      }
      if (!sawDigit) this.fail('bad number literal', start);
      if (s[p] === 'e' || s[p] === 'E') {
        let q = p + 1;
        if (s[q] === '+' || s[q] === '-') q++;
        if (!isDigit(s.charCodeAt(q))) this.fail('bad number literal (exponent)', start);
        while (q < this.len && isDigit(s.charCodeAt(q))) q++;
        p = q;
      }
    }
    // A number glued to a word (`16a`, `1.2.3`) is not a number.
    if (p < this.len) {
      const n = s.charCodeAt(p);
      if (n >= 128 || WORD[n] === 1 || n === C_DOT) this.fail('bad number literal', start);
    }
    this.pos = p;
    // Drop whitespace the lexer allowed between a sign and the digits.
    return digitsStart > start + 1 ? s[start] + s.slice(digitsStart, p) : s.slice(start, p);
  }

  /** At a number literal (optionally signed)? Assumes peek() was called. */
  atNumber(c: number): boolean {
    if (c >= 48 && c <= 57) return true;
    const s = this.src;
    if (c === C_DOT) {
      const n = s.charCodeAt(this.pos + 1);
      return n >= 48 && n <= 57;
    }
    if (c === C_MINUS || c === C_PLUS) {
      let p = this.pos + 1;
      while (p < this.len && SPACE[s.charCodeAt(p)] === 1) p++;
      const n = s.charCodeAt(p);
      return (n >= 48 && n <= 57) || (n === C_DOT && s.charCodeAt(p + 1) >= 48 && s.charCodeAt(p + 1) <= 57);
    }
    return false;
  }

  /**
   * If the next bare words equal `words` (case-insensitive), consume them and
   * return true; otherwise leave the position unchanged.
   */
  tryKeywords(...words: string[]): boolean {
    const save = this.pos;
    for (const w of words) {
      const c = this.peek();
      if (!this.atBareWordStart(c)) {
        this.pos = save;
        return false;
      }
      const word = this.readBareWord();
      if (word.toUpperCase() !== w) {
        this.pos = save;
        return false;
      }
    }
    return true;
  }
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function parseHexByte(s: string, p: number): number {
  const a = s.charCodeAt(p);
  const b = s.charCodeAt(p + 1);
  if (!isHex(a) || !isHex(b)) return -1;
  return parseInt(s.slice(p, p + 2), 16);
}

function isEnumName(name: string): boolean {
  const l = name.length;
  if (l !== 4 && l !== 5 && l !== 6) return false;
  const u = name.toUpperCase();
  return u === 'ENUM' || u === 'ENUM8' || u === 'ENUM16';
}

/** Parses a whole type name; throws TypeParseError on anything malformed. */
export function parseType(name: string): TypeNode {
  if (typeof name !== 'string') {
    throw new TypeParseError(`Bad ClickHouse type name: expected a string, got ${typeof name}`);
  }
  const sc = new Scanner(name);
  if (sc.peek() === -1) sc.fail('empty type name', 0);
  const node = parseTypeAt(sc, 1);
  if (sc.peek() !== -1) sc.fail('unexpected trailing characters');
  return node;
}

/**
 * `depth` counts type nodes on the path from the root: `UInt8` is depth 1,
 * `Array(UInt8)` reaches depth 2. Depth above Limits.maxTypeDepth is rejected.
 */
function parseTypeAt(sc: Scanner, depth: number): TypeNode {
  if (depth > Limits.maxTypeDepth) {
    sc.fail(`nesting deeper than ${Limits.maxTypeDepth} levels`);
  }
  const start = sc.pos;
  const id = sc.readIdentifier('a type name');
  let typeName = id.name;
  // Mirror the server: a (quoted) name must be word chars or `$`, not starting with a digit.
  if (typeName.length === 0) sc.fail('empty type name', start);
  {
    const c0 = typeName.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) sc.fail('type name starts with a digit', start);
    for (let i = 0; i < typeName.length; i++) {
      const c = typeName.charCodeAt(i);
      if (c >= 128 || WORD[c] !== 1) sc.fail(`invalid character in type name ${JSON.stringify(typeName)}`, start);
    }
  }
  const upper = typeName.toUpperCase();
  if (RESERVED_TYPE_NAMES.has(upper)) sc.fail(`${JSON.stringify(typeName)} is not a type name`, start);

  // SQL-standard / MySQL multi-word names (server: ParserDataType, "Special cases
  // for compatibility with SQL standard"). The name becomes `UPPER SUFFIX`.
  let suffix = '';
  if (upper === 'NATIONAL') {
    if (sc.tryKeywords('CHARACTER', 'LARGE', 'OBJECT')) suffix = 'CHARACTER LARGE OBJECT';
    else if (sc.tryKeywords('CHARACTER', 'VARYING')) suffix = 'CHARACTER VARYING';
    else if (sc.tryKeywords('CHAR', 'VARYING')) suffix = 'CHAR VARYING';
    else if (sc.tryKeywords('CHARACTER')) suffix = 'CHARACTER';
    else if (sc.tryKeywords('CHAR')) suffix = 'CHAR';
  } else if (upper === 'BINARY' || upper === 'CHARACTER' || upper === 'CHAR' || upper === 'NCHAR') {
    if (sc.tryKeywords('LARGE', 'OBJECT')) suffix = 'LARGE OBJECT';
    else if (sc.tryKeywords('VARYING')) suffix = 'VARYING';
  } else if (upper === 'DOUBLE') {
    if (sc.tryKeywords('PRECISION')) suffix = 'PRECISION';
  } else if (INTEGER_TYPE_NAMES.has(upper)) {
    if (sc.tryKeywords('SIGNED')) suffix = 'SIGNED';
    else if (sc.tryKeywords('UNSIGNED')) suffix = 'UNSIGNED';
    else if (sc.peek() === C_LPAREN) {
      // MySQL display width, dropped: INT(11), INT(11) UNSIGNED.
      sc.pos++;
      if (sc.atNumber(sc.peek())) sc.readNumber();
      sc.expect(C_RPAREN, "')' after the integer display width");
      if (sc.tryKeywords('SIGNED')) suffix = 'SIGNED';
      else if (sc.tryKeywords('UNSIGNED')) suffix = 'UNSIGNED';
      if (suffix === '') return { name: typeName, args: [], hasParens: false };
    }
  }
  if (suffix !== '') {
    return { name: `${upper} ${suffix}`, args: [], hasParens: false };
  }

  if (sc.peek() !== C_LPAREN) return { name: typeName, args: [], hasParens: false };
  sc.pos++;

  const args: TypeArg[] = [];
  const node: TypeNode = { name: typeName, args, hasParens: true };
  if (sc.peek() === C_RPAREN) {
    sc.pos++;
    return node;
  }

  let mode: 'enum' | 'tuple' | 'nested' | 'dynamic' | 'json' | 'aggregate' | 'simpleAggregate' | 'generic';
  if (typeName === 'Tuple') mode = 'tuple';
  else if (typeName === 'Nested') mode = 'nested';
  else if (typeName === 'Dynamic') mode = 'dynamic';
  else if (upper === 'JSON') mode = 'json';
  else if (typeName === 'AggregateFunction') mode = 'aggregate';
  else if (typeName === 'SimpleAggregateFunction') mode = 'simpleAggregate';
  else if (isEnumName(typeName)) mode = 'enum';
  else mode = 'generic';

  let enumAutoBase = 1; // ClickHouse: bare enum names count up from the first explicit value (or 1)
  let enumAutoCount = 0;
  let functionIndex = mode === 'aggregate' || mode === 'simpleAggregate' ? 0 : -1;

  for (let i = 0; ; i++) {
    if (i > 0) {
      const c = sc.peek();
      if (c === C_RPAREN) break;
      if (c !== C_COMMA) sc.fail("expected ',' or ')'");
      sc.pos++;
      // Trailing comma: `Tuple(UInt8, String,)`.
      if (sc.peek() === C_RPAREN) break;
    }
    const c = sc.peek();
    if (c === -1) sc.fail("expected ')'");
    switch (mode) {
      case 'enum': {
        if (c !== C_QUOTE) sc.fail('expected a quoted enum element name');
        const elemName = sc.readQuoted(C_QUOTE, 'string literal');
        let value: number;
        if (sc.peek() === C_EQ) {
          sc.pos++;
          value = readEnumValue(sc);
          if (i === 0) enumAutoBase = value;
        } else {
          if (i > 0) enumAutoCount++;
          value = enumAutoBase + enumAutoCount;
        }
        args.push({ kind: 'enum', name: elemName, value });
        break;
      }
      case 'tuple': {
        // `name Type` or `Type`: an identifier followed by another identifier is a name.
        const save = sc.pos;
        let elemName: string | undefined;
        if (sc.atIdentifier()) {
          const ident = sc.readIdentifier('an element name');
          if (sc.atIdentifier()) elemName = ident.name;
          else sc.pos = save;
        }
        const type = parseTypeAt(sc, depth + 1);
        args.push(elemName === undefined ? { kind: 'type', type } : { kind: 'type', type, name: elemName });
        break;
      }
      case 'nested': {
        const ident = sc.readIdentifier('a Nested element name');
        if (!sc.atIdentifier()) sc.fail('expected the type of a Nested element');
        args.push({ kind: 'type', type: parseTypeAt(sc, depth + 1), name: ident.name });
        break;
      }
      case 'dynamic': {
        const ident = sc.readIdentifier('a Dynamic setting name (e.g. max_types=8)');
        sc.expect(C_EQ, "'=' after a Dynamic setting name");
        if (!sc.atNumber(sc.peek())) sc.fail('expected a number as a Dynamic setting value');
        args.push({ kind: 'setting', name: ident.name, value: sc.readNumber() });
        break;
      }
      case 'json': {
        if (sc.atBareWordStart(c) && sc.tryKeywords('SKIP')) {
          if (sc.tryKeywords('REGEXP')) {
            if (sc.peek() !== C_QUOTE) sc.fail('expected a quoted regular expression after SKIP REGEXP');
            args.push({ kind: 'skip', path: sc.readQuoted(C_QUOTE, 'string literal'), regexp: true });
          } else {
            args.push({ kind: 'skip', path: readCompoundIdentifier(sc), regexp: false });
          }
          break;
        }
        const path = readCompoundIdentifier(sc);
        if (sc.peek() === C_EQ) {
          sc.pos++;
          if (!sc.atNumber(sc.peek())) sc.fail('expected a number as a JSON setting value');
          args.push({ kind: 'setting', name: path, value: sc.readNumber() });
        } else {
          if (!sc.atIdentifier()) sc.fail(`expected a type or '=' after JSON path ${JSON.stringify(path)}`);
          args.push({ kind: 'type', type: parseTypeAt(sc, depth + 1), name: path });
        }
        break;
      }
      case 'aggregate':
      case 'simpleAggregate': {
        if (i === functionIndex) {
          if (i === 0 && mode === 'aggregate' && c >= 48 && c <= 57) {
            // Leading version number: AggregateFunction(1, sumMap, ...).
            const v = sc.readNumber();
            if (!/^[0-9]+$/.test(v)) sc.fail('expected an unsigned integer version');
            args.push({ kind: 'number', value: v });
            functionIndex = 1;
            break;
          }
          args.push(readFunction(sc, depth + 1));
        } else {
          args.push({ kind: 'type', type: parseTypeAt(sc, depth + 1) });
        }
        break;
      }
      case 'generic': {
        if (c === C_QUOTE) {
          const str = sc.readQuoted(C_QUOTE, 'string literal');
          if (sc.peek() === C_EQ) {
            sc.pos++;
            args.push({ kind: 'enum', name: str, value: readEnumValue(sc) });
          } else {
            args.push({ kind: 'string', value: str });
          }
        } else if (sc.atNumber(c)) {
          args.push({ kind: 'number', value: sc.readNumber() });
        } else if (sc.atIdentifier()) {
          args.push({ kind: 'type', type: parseTypeAt(sc, depth + 1) });
        } else {
          sc.fail('expected a type, a number or a quoted string');
        }
        break;
      }
    }
  }
  sc.expect(C_RPAREN, "')'");
  return node;
}

/** An enum value: an optionally signed integer (decimal or 0x hex). */
function readEnumValue(sc: Scanner): number {
  const at = sc.peek();
  if (!sc.atNumber(at)) sc.fail('expected an integer enum value');
  const start = sc.pos;
  const text = sc.readNumber();
  let neg = false;
  let digits = text;
  if (digits[0] === '-' || digits[0] === '+') {
    neg = digits[0] === '-';
    digits = digits.slice(1);
  }
  let v: number;
  if (/^[0-9]+$/.test(digits)) v = Number(digits);
  else if (/^0[xX][0-9a-fA-F]+$/.test(digits)) v = parseInt(digits.slice(2), 16);
  else sc.fail('expected an integer enum value', start);
  if (!Number.isSafeInteger(v)) sc.fail('enum value out of range', start);
  return neg ? -v : v;
}

/** `a.b.c` where each part is bare or quoted; returns the parts joined with `.`. */
function readCompoundIdentifier(sc: Scanner): string {
  let path = sc.readIdentifier('a JSON path').name;
  while (sc.peek() === C_DOT) {
    sc.pos++;
    path += '.' + sc.readIdentifier('a JSON path part after "."').name;
  }
  return path;
}

/** Aggregate function: `name` or `name(param, ...)`, params are literals. */
function readFunction(sc: Scanner, depth: number): TypeArg {
  const id = sc.readIdentifier('an aggregate function name');
  if (sc.peek() !== C_LPAREN) return { kind: 'function', name: id.name, params: [], hasParens: false };
  sc.pos++;
  const params: TypeArg[] = [];
  if (sc.peek() !== C_RPAREN) {
    for (;;) {
      params.push(readLiteral(sc, depth));
      const c = sc.peek();
      if (c === C_COMMA) {
        sc.pos++;
        continue;
      }
      if (c === C_RPAREN) break;
      sc.fail("expected ',' or ')' in aggregate function parameters");
    }
  }
  sc.pos++;
  return { kind: 'function', name: id.name, params, hasParens: true };
}

/**
 * A literal parameter: number, string, or an array literal. TypeNode has no
 * array kind, so an array literal is kept as its canonical text (`[1, 2]`) in
 * a `number` arg; no codec needs aggregate-function parameters.
 */
function readLiteral(sc: Scanner, depth: number): TypeArg {
  if (depth > Limits.maxTypeDepth) sc.fail(`nesting deeper than ${Limits.maxTypeDepth} levels`);
  const c = sc.peek();
  if (c === C_QUOTE) return { kind: 'string', value: sc.readQuoted(C_QUOTE, 'string literal') };
  if (sc.atNumber(c)) return { kind: 'number', value: sc.readNumber() };
  if (c === C_LBRACKET) {
    sc.pos++;
    const items: string[] = [];
    if (sc.peek() !== C_RBRACKET) {
      for (;;) {
        const item = readLiteral(sc, depth + 1);
        items.push(item.kind === 'string' ? quoteString(item.value) : (item as { value: string }).value);
        const n = sc.peek();
        if (n === C_COMMA) {
          sc.pos++;
          continue;
        }
        if (n === C_RBRACKET) break;
        sc.fail("expected ',' or ']' in an array literal");
      }
    }
    sc.pos++;
    return { kind: 'number', value: `[${items.join(', ')}]` };
  }
  return sc.fail('expected a number, a quoted string or an array literal');
}
