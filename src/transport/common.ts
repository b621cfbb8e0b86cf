// Small helpers every transport shares. No node:* imports (the HTTP transport runs in browsers).
import { quoteIdentifier, skipComment } from '../core/protocol/params.js';

let queryCounter = 0;

/** A fresh query id (UUID where the platform has one). */
export function newQueryId(): string {
  const g = globalThis as { crypto?: { randomUUID?: () => string } };
  return g.crypto?.randomUUID?.() ?? `chwire-${Date.now()}-${++queryCounter}`;
}

/** A setting's value as the text the server parses (booleans as 0/1). */
export function settingText(v: unknown): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/**
 * The first two words of a statement, upper-cased, after whitespace, comments (`--`, `#`,
 * nested block comments) and opening parentheses.
 */
export function leadingWords(sql: string): string[] {
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const ch = sql[i]!;
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r' || ch === '\f' || ch === '(') i++;
    else if (ch === '#') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else {
      const j = skipComment(sql, i);
      if (j === i) break;
      i = j;
    }
  }
  return (/^([A-Za-z_][A-Za-z0-9_]*)(?:\s+([A-Za-z_][A-Za-z0-9_]*))?/.exec(sql.slice(i, i + 64)) ?? []).slice(1, 3).filter(Boolean).map((w) => w!.toUpperCase());
}

/** Whether a statement is an INSERT (the native protocol may then make the server wait for Data blocks). */
export function isInsertStatement(sql: string): boolean {
  return leadingWords(sql)[0] === 'INSERT';
}

/** Whether a statement changes its session (SET, USE, a temporary table): state a pooled connection must not carry on. */
export function changesSession(sql: string): boolean {
  const [a, b] = leadingWords(sql);
  return a === 'SET' || a === 'USE' || ((a === 'CREATE' || a === 'DROP') && (b === 'TEMPORARY' || b === 'TEMP'));
}

export interface Tok {
  start: number;
  end: number;
  /** word (keyword, identifier, number), quoted (string or quoted identifier), or one punctuation character */
  kind: 'word' | 'quoted' | 'punct';
  depth: number;
}

export interface Scan {
  toks: Tok[];
  /** INSERT … FORMAT name: where its inline data starts (not tokenized), else -1. */
  dataAt: number;
}

/**
 * The statement's tokens, outside comments (`--`, `#`, nested block comments) and whitespace
 * (quotes, escapes and brackets respected).
 */
export function scanSql(sql: string): Scan {
  const toks: Tok[] = [];
  let depth = 0;
  let i = 0;
  const n = sql.length;
  const word = (t: Tok | undefined, w: string): boolean => t?.kind === 'word' && sql.slice(t.start, t.end).toUpperCase() === w;
  while (i < n) {
    const ch = sql[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    if (ch === '#') {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    const after = skipComment(sql, i);
    if (after !== i) {
      i = after;
      continue;
    }
    const start = i;
    if (ch === "'" || ch === '"' || ch === '`') {
      i++;
      while (i < n) {
        const c = sql[i]!;
        if (c === '\\') i += 2;
        else if (c === ch && sql[i + 1] === ch) i += 2;
        else if (c === ch) {
          i++;
          break;
        } else i++;
      }
      toks.push({ start, end: Math.min(i, n), kind: 'quoted', depth });
      continue;
    }
    if (/[\w$]/.test(ch)) {
      while (i < n && /[\w$]/.test(sql[i]!)) i++;
      toks.push({ start, end: i, kind: 'word', depth });
      // INSERT … FORMAT name: what follows is data.
      const k = toks.length;
      if (k >= 2 && depth === 0 && word(toks[0], 'INSERT') && word(toks[k - 2], 'FORMAT') && toks[k - 2]!.depth === 0) return { toks, dataAt: i };
      continue;
    }
    if (ch === '(' || ch === '[') depth++;
    toks.push({ start, end: i + 1, kind: 'punct', depth: ch === ')' || ch === ']' ? depth - 1 : depth });
    if (ch === ')' || ch === ']') depth = Math.max(0, depth - 1);
    i++;
  }
  return { toks, dataAt: -1 };
}

export function tokText(sql: string, t: Tok | undefined): string {
  return t ? sql.slice(t.start, t.end) : '';
}

/** The tokens without the `;` that end them. */
export function withoutTrailingSemicolons(sql: string, toks: Tok[]): Tok[] {
  let k = toks.length;
  while (k && toks[k - 1]!.kind === 'punct' && sql[toks[k - 1]!.start] === ';') k--;
  return toks.slice(0, k);
}

/**
 * A trailing `FORMAT <name>` clause (before any final `;`, whitespace or comments): the name and
 * the span of the clause. None in an INSERT with inline data, inside brackets, strings or comments.
 */
export function trailingFormatClause(sql: string, scan = scanSql(sql)): { name: string; start: number; end: number } | undefined {
  if (scan.dataAt >= 0) return undefined;
  const toks = withoutTrailingSemicolons(sql, scan.toks);
  const name = toks.at(-1);
  const kw = toks.at(-2);
  if (!name || !kw || kw.depth !== 0 || name.kind !== 'word' || kw.kind !== 'word' || tokText(sql, kw).toUpperCase() !== 'FORMAT') return undefined;
  return { name: tokText(sql, name), start: kw.start, end: name.end };
}

/** `sql` with its trailing FORMAT clause (if any) naming `format` instead. */
export function replaceTrailingFormat(sql: string, format: string): string {
  const f = trailingFormatClause(sql);
  return f ? sql.slice(0, f.start) + `FORMAT ${format}` + sql.slice(f.end) : sql;
}

/**
 * session_id: a session's requests run one at a time, in order (over TCP and HTTP alike).
 * `join(id)` queues a request: `before` settles when the request ahead of it is over; `leave()`
 * (idempotent) is called once this one is over or gave up. The next request's turn comes once this
 * one left *and* the one before it did: a request that gave up while queued must not let the next
 * one run beside the one still running.
 */
export class SessionTurns {
  private readonly tails = new Map<string, Promise<void>>();

  /** Whether requests of session `id` are queued or running. */
  busy(id: string): boolean {
    return this.tails.has(id);
  }

  join(id: string): { before: Promise<void>; leave: () => void } {
    const before = this.tails.get(id) ?? Promise.resolve();
    let turnOver!: () => void;
    const tail = new Promise<void>((r) => (turnOver = r));
    this.tails.set(id, tail);
    void tail.then(() => {
      if (this.tails.get(id) === tail) this.tails.delete(id);
    });
    let left = false;
    const leave = (): void => {
      if (left) return;
      left = true;
      void before.then(turnOver);
    };
    return { before, leave };
  }
}

/** A table name for SQL: `db.table`, already-quoted names, or plain names (quoted when needed). */
export function quoteTable(t: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(t) || /[`"]/.test(t)) return t;
  return quoteIdentifier(t);
}

/** Whether a query's data blocks may be recycled, and the reader decoding them now. */
export interface RecycleControl {
  recycle: boolean;
  reader?: { recycleBlocks: boolean };
}

/** QueryHandle.valuesCopied for a query run under `ctl`: recycle from now on. */
export function valuesCopiedFor(ctl: RecycleControl): () => void {
  return () => {
    ctl.recycle = true;
    if (ctl.reader) ctl.reader.recycleBlocks = true;
  };
}

/**
 * An inactivity deadline (request_timeout): `onFire` runs once `ms` pass without touch() while
 * it runs (between touch() and pause()). One timer serves any number of touches: it is re-armed
 * lazily when it fires early, since a timer cleared and set per read or chunk was measurable.
 */
export class InactivityDeadline {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  /** The last touch (Date.now()). */
  private from = 0;

  constructor(
    private readonly ms: number,
    private readonly onFire: () => void,
  ) {}

  /** Activity (or a wait begins): the deadline counts from now, and runs. */
  touch(): void {
    if (this.ms <= 0) return;
    this.from = Date.now();
    this.running = true;
    if (!this.timer) this.arm(this.ms);
  }

  /** Nobody waits for the peer now: the time until the next touch() does not count. */
  pause(): void {
    this.running = false;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = false;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.check, ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private readonly check = (): void => {
    this.timer = undefined;
    if (!this.running) return;
    const left = this.from + this.ms - Date.now();
    if (left > 0) this.arm(left);
    else {
      this.running = false;
      this.onFire();
    }
  };
}

/**
 * Iterate `src` with every next() raced through `until`: an abort ends the loop at once, even
 * while the source is still producing; the source is then closed in the background.
 */
export async function* untilStopped<T>(src: AsyncIterable<T> | Iterable<T>, until: <U>(p: Promise<U>) => Promise<U>): AsyncGenerator<T> {
  const it: AsyncIterator<T> | Iterator<T> = Symbol.asyncIterator in src ? src[Symbol.asyncIterator]() : src[Symbol.iterator]();
  let ended = false;
  try {
    for (;;) {
      const r = await until(Promise.resolve(it.next()));
      if (r.done) {
        ended = true;
        return;
      }
      yield r.value;
    }
  } finally {
    if (!ended) void Promise.resolve().then(() => it.return?.()).catch(() => {});
  }
}
