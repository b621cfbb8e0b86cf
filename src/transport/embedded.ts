// The embedded engine transport: ClickHouse in-process through npm `chdb`
// (an optional dependency, loaded only when a `chdb:` client is used).
//
//   chdb:        the process-wide in-memory engine (chdb's default connection)
//   chdb:/path   a persistent chdb Session at that data directory
//
// Queries run with `FORMAT Native` and chwire's own decoder turns the bytes
// into blocks, so results are the same JS values as over TCP. Inserts encode
// Native, write it to a temp file and load it with
// `INSERT INTO t (cols) SELECT * FROM file('/tmp/…', 'Native', '<structure>')`
// (chdb's inline-data path cuts binary payloads at the first NUL byte).
//
// Limits of the engine API, and what this transport does about them:
// - chdb runs a query to completion and returns all its bytes at once: blocks
//   are decoded lazily, one per `next()`, but the result is buffered; there is
//   one Progress event (rows/bytes read, elapsed) before the data.
// - Abort rejects at once with AbortError. With `chdb:/path` the query is also
//   killed in the engine (KILL QUERY from a second connection to the same
//   directory); the default connection cannot be interrupted, so there the
//   computation finishes in the background.
// - Query parameters are bound client-side (bindQueryParams: typed literals).
// - Settings: SELECT/WITH statements get a trailing SETTINGS clause; any other
//   statement runs between `SET k = v` and a restore of the previous values.
// - Each client has its own database and SET settings. `chdb:/path` clients
//   each own a connection; on the shared default connection the transport
//   keeps `USE`, `SET` and the `database` option per client and applies them
//   around every statement (USE db … USE default), under one process-wide lock.
// - One statement per call: a second one after `;` is refused with code 62,
//   as TCP and HTTP servers do (chDB itself would run both).
// - query_id: chDB cannot set a query's id (no setting, no API), so the id
//   reported by chwire is not the engine's queryID().
// - exec(): raw formats; an INSERT body is written to a temp file and read
//   with `FROM INFILE`.
import { randomUUID } from 'node:crypto';
import { mkdtemp, open, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Endpoint } from '../client/client.js';
import { AbortError, ClickHouseError, ClientError, ConnectionError } from '../client/errors.js';
import { emptyProgress } from '../client/types.js';
import type {
  ClientOptions,
  ColumnMeta,
  InsertRequest,
  InsertSummary,
  Progress,
  QueryEvent,
  QueryParams,
  QuerySummary,
  Settings,
  Transport,
} from '../client/types.js';
import type { ValueOptions } from '../core/columns/column.js';
import { DecodeError } from '../core/errors.js';
import type { ExecBody, ExecParams, ExecResult } from './http.js';
import { CodecCache } from '../core/columns/registry.js';
import { Cursor } from '../core/io/cursor.js';
import { Writer } from '../core/io/writer.js';
import { BlockDecoder, decodeNative } from '../core/native/reader.js';
import { prepareBlock, writeBlock } from '../core/native/writer.js';
import { bindQueryParams, quoteIdentifier, quoteString, type ParamValue } from '../core/protocol/params.js';
import { quoteTable, scanSql, tokText, trailingFormatClause, untilStopped, withoutTrailingSemicolons, type Scan } from './common.js';

// ---------------------------------------------------------------- the chdb module (typed loosely)

interface ChdbResult {
  readonly elapsed: number;
  readonly rowsRead: number;
  readonly bytesRead: number;
  bytes(): Uint8Array;
}
interface ChdbRunner {
  queryAsync(sql: string, opts?: { format?: string; signal?: AbortSignal }): Promise<ChdbResult>;
}
interface ChdbSession extends ChdbRunner {
  close(): void;
}
interface ChdbModule extends ChdbRunner {
  Session: new (path?: string) => ChdbSession;
  drainPending?: () => Promise<void>;
}

let loading: Promise<ChdbModule> | undefined;

/** Load npm `chdb` (dynamic import, so nothing else ever needs it). */
export function loadChdb(): Promise<ChdbModule> {
  loading ??= (async () => {
    const name = 'chdb'; // not a literal: type-checks and bundles without chdb installed
    let m: unknown;
    try {
      m = await import(name);
    } catch (e) {
      loading = undefined;
      const err = e as { code?: string; message?: string };
      const missing = err.code === 'ERR_MODULE_NOT_FOUND' && /'chdb'|"chdb"|chdb/.test(err.message ?? '');
      throw new ClientError(
        missing
          ? "the embedded engine (chdb:) needs the optional package 'chdb': run `npm install chdb`, or give a server url (clickhouse://host:9000)"
          : `the embedded engine (chdb) failed to load: ${err.message ?? String(e)} (reinstall it with \`npm install chdb\`)`,
        'CHWIRE_CHDB_MISSING',
      );
    }
    const mod = ((m as { queryAsync?: unknown }).queryAsync ? m : (m as { default?: unknown }).default) as ChdbModule | undefined;
    if (typeof mod?.queryAsync !== 'function') {
      loading = undefined;
      throw new ClientError("the installed 'chdb' package has no queryAsync(): run `npm install chdb@^3`", 'CHWIRE_CHDB_MISSING');
    }
    return mod;
  })();
  return loading;
}

// ---------------------------------------------------------------- errors

const CH_ERROR = /^Code:\s*(\d+)\.\s*([A-Za-z_]\w*(?:::\w+)*)?/;

/** An engine error → ClickHouseError (code and exception class parsed from the message); abort → AbortError. */
export function mapEngineError(e: unknown, signal?: AbortSignal): unknown {
  if (e instanceof ClickHouseError || e instanceof AbortError) return e;
  const err = e as { code?: string; clickhouseCode?: number; message?: string } | undefined;
  if (err?.code === 'CHDB_ABORT') return new AbortError(undefined, { cause: signal?.reason ?? e });
  const msg = String(err?.message ?? e);
  const m = CH_ERROR.exec(msg);
  if (m || typeof err?.clickhouseCode === 'number') {
    const code = m ? Number(m[1]) : err!.clickhouseCode!;
    const message = m ? msg.slice(m[0].length - (m[2]?.length ?? 0)).trim() : msg;
    const out = new ClickHouseError({ code, name: m?.[2] ?? 'DB::Exception', message });
    (out as { cause?: unknown }).cause = e;
    return out;
  }
  if (e instanceof Error && /session .*is active|Cannot open a session|data directory/i.test(msg))
    return new ConnectionError(msg, { cause: e }, 'CHWIRE_CHDB_BUSY');
  return e;
}

/** The error-code name ClickHouse puts at the end of a message: `... (UNKNOWN_TABLE)`. */
export function errorCodeName(message: string): string | undefined {
  return /\(([A-Z][A-Z0-9_]+)\)\s*(?:\(version [^)]*\))?\.?\s*$/.exec(message)?.[1];
}

// ---------------------------------------------------------------- SQL helpers

function settingLiteral(v: string | number | boolean | bigint): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number' || typeof v === 'bigint') return String(v);
  return quoteString(v);
}

function checkSettingName(k: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new ClientError(`bad setting name ${JSON.stringify(k)}`);
  return k;
}

function definedSettings(s?: Settings): [string, string | number | boolean | bigint][] {
  return Object.entries(s ?? {}).filter((e): e is [string, string | number | boolean | bigint] => e[1] !== undefined);
}

// ---------------------------------------------------------------- statement scanning

/** Reject a second statement after `;` (the servers' code 62), as TCP and HTTP do. */
export function checkSingleStatement(sql: string, scan = scanSql(sql)): void {
  const { toks } = scan;
  const semi = toks.findIndex((t) => t.kind === 'punct' && sql[t.start] === ';');
  if (semi < 0 || toks.slice(semi).every((t) => t.kind === 'punct' && sql[t.start] === ';')) return;
  const at = toks[semi]!.start;
  const before = sql.slice(0, at).split('\n');
  throw new ClickHouseError({
    code: 62,
    name: 'DB::Exception',
    message: `DB::Exception: Syntax error (Multi-statements are not allowed): failed at position ${at + 1} (;) (line ${before.length}, col ${before[before.length - 1]!.length + 1}): ${sql.slice(at)}. (SYNTAX_ERROR)`,
  });
}

/**
 * The statement without trailing `;`, comments and whitespace, and (when dropFormat) without a
 * trailing `FORMAT name`, which is returned apart: the transport picks the format.
 */
export function splitTail(sql: string, dropFormat: boolean, scan = scanSql(sql)): { sql: string; format?: string } {
  if (scan.dataAt >= 0) return { sql };
  const f = dropFormat ? trailingFormatClause(sql, scan) : undefined;
  if (f) return { sql: sql.slice(0, f.start).replace(/\s+$/, ''), format: f.name };
  const last = withoutTrailingSemicolons(sql, scan.toks).at(-1);
  return { sql: last ? sql.slice(0, last.end) : '' };
}

/** Drop trailing `;`, comments, whitespace and (for queries) a trailing `FORMAT name`. */
export function stripTail(sql: string, dropFormat: boolean): string {
  return splitTail(sql, dropFormat).sql;
}

/** SET and USE, kept per client on the shared default connection. */
type SessionStatement = { kind: 'use'; database: string } | { kind: 'set'; settings: [string, string][] } | undefined;

function unquoteIdent(t: string): string {
  return /^[`"]/.test(t) ? t.slice(1, -1).replace(/\\(.)|``|""/g, (m, c: string | undefined) => c ?? m[0]!) : t;
}

function sessionStatement(sql: string, scan: Scan): SessionStatement {
  const { toks } = scan;
  const head = tokText(sql, toks[0]).toUpperCase();
  if (head === 'USE' && toks.length === 2 && toks[1]!.kind !== 'punct') return { kind: 'use', database: unquoteIdent(tokText(sql, toks[1])) };
  if (head !== 'SET' || toks.length < 4) return undefined;
  const settings: [string, string][] = [];
  let i = 1;
  while (i < toks.length) {
    const name = toks[i];
    const eq = toks[i + 1];
    if (name?.kind !== 'word' || tokText(sql, eq) !== '=' || /^param_/i.test(tokText(sql, name))) return undefined;
    let j = i + 2;
    while (j < toks.length && !(toks[j]!.depth === 0 && tokText(sql, toks[j]) === ',')) j++;
    if (j === i + 2) return undefined;
    settings.push([tokText(sql, name), sql.slice(toks[i + 2]!.start, toks[j - 1]!.end)]);
    i = j + 1;
  }
  return { kind: 'set', settings };
}

/** True for statements that take a trailing `SETTINGS` clause as query settings. */
function isSelectLike(sql: string): boolean {
  const s = sql.replace(/^(\s+|--[^\n]*\n|\/\*[\s\S]*?\*\/)+/, '');
  return /^(\(\s*)*(select|with)\b/i.test(s);
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined, onAbort?: () => void): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    onAbort?.();
    p.catch(() => {});
    return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort?.();
      p.catch(() => {});
      reject(new AbortError(undefined, { cause: signal.reason }));
    };
    signal.addEventListener('abort', abort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', abort);
        reject(e);
      },
    );
  });
}

/** One-at-a-time lock (a process-wide one guards the shared default connection). */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    return release;
  }
}
const defaultConnectionLock = new Mutex();

// ---------------------------------------------------------------- the transport

interface RunOptions {
  settings?: Settings;
  signal?: AbortSignal;
  format: string;
  /** The statement may take a trailing SETTINGS clause. */
  selectLike: boolean;
  /** Session settings not applied (SET validation). */
  bare?: boolean;
}

/** An internal decoder signal (or any non-Error) never escapes: a clear DecodeError instead. */
function decodeFailure(e: unknown): unknown {
  if (e instanceof Error) return e;
  return new DecodeError('the embedded engine returned bytes that are not complete Native blocks', 'CHWIRE_MALFORMED_DATA', { cause: e });
}

/**
 * Engine connections whose last statement failed. chdb 3.4 then hands the *next* statement the
 * failed one's partial output (rows it made before the error) instead of its own: before the next
 * real statement, settle() runs a marker query until the engine answers it with its own text.
 */
const failedRunners = new WeakSet<ChdbRunner>();

async function settle(runner: ChdbRunner): Promise<void> {
  for (let i = 0; failedRunners.has(runner); i++) {
    if (i === 3) throw new ClientError('the embedded engine keeps answering with an earlier statement\'s output', 'CHWIRE_CHDB_STALE');
    const marker = `chwire-${randomUUID()}`;
    const r = await runner.queryAsync(`SELECT '${marker}'`, { format: 'TabSeparated' }).catch(() => undefined);
    if (r && new TextDecoder().decode(r.bytes()).trim() === marker) failedRunners.delete(runner);
  }
}

export class EmbeddedTransport implements Transport {
  readonly kind = 'embedded' as const;
  private killer: ChdbSession | undefined;
  private tmpDir: Promise<string> | undefined;
  private closed = false;
  /** Inserts reading their source: close() stops each. */
  private readonly closing = new Set<(e: Error) => void>();
  private timezone = 'UTC';
  private version = '';
  private readonly lock: Mutex;
  private tmpSeq = 0;
  /** Shared default connection: this client's database (USE) … */
  private database: string | undefined;
  /** … and its SET settings (name → SQL literal), applied per statement. */
  private readonly sessionSettings = new Map<string, string>();

  constructor(
    private readonly chdb: ChdbModule,
    private readonly runner: ChdbRunner,
    private readonly session: ChdbSession | undefined,
    readonly path: string,
    private readonly options: ClientOptions,
  ) {
    this.lock = session ? new Mutex() : defaultConnectionLock;
  }

  /** Engine identity and time zone (the default for DateTime columns without their own). */
  async init(database?: string): Promise<void> {
    if (database) {
      if (this.session) await this.run(`USE ${quoteIdentifier(database)}`, { format: 'Native', selectLike: false });
      else this.database = database;
    }
    const r = await this.run('SELECT version() AS v, timezone() AS tz', { format: 'Native', selectLike: true });
    const [b] = decodeNative(r.bytes());
    if (b) {
      this.version = String(b.columns[0]!.get(0));
      this.timezone = String(b.columns[1]!.get(0));
    }
  }

  private check(): void {
    if (this.closed) throw new ClientError('the embedded transport is closed', 'CHWIRE_CLIENT_CLOSED');
  }

  /**
   * Run one statement with this client's database and settings, under the connection's lock
   * (held until the engine is done, also after an early abort). With a Session the query text
   * carries a marker comment so an abort can KILL it from a second connection.
   */
  private async run(sql: string, o: RunOptions): Promise<ChdbResult> {
    this.check();
    const signal = o.signal;
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const merged = new Map(o.bare ? [] : this.sessionSettings);
    for (const [k, v] of definedSettings(o.settings)) merged.set(checkSettingName(k), settingLiteral(v));
    const settings = [...merged];
    const marker = this.session ? `chwire-${randomUUID()}` : '';
    const text = marker ? `/* ${marker} */ ${sql}` : sql;
    const useDb = !this.session && this.database !== undefined && this.database !== 'default' ? this.database : undefined;
    const release = await raceAbort(this.lock.lock(), signal);
    const runner = this.runner;
    // Every statement goes through here: one that fails marks the engine connection (see settle()).
    const call = (x: string, format: string | undefined): Promise<ChdbResult> =>
      runner.queryAsync(x, format === undefined ? {} : { format }).catch((e: unknown) => {
        failedRunners.add(runner);
        throw e;
      });
    const q = (x: string): Promise<ChdbResult> => call(x, 'Native');
    const job = (async (): Promise<ChdbResult> => {
      await settle(runner);
      if (useDb) await q(`USE ${quoteIdentifier(useDb)}`);
      let restore = '';
      try {
        if (settings.length && !o.selectLike) {
          // SET, run, restore the previous values.
          const prev = await q(`SELECT name, value, changed FROM system.settings WHERE name IN (${settings.map(([k]) => quoteString(k)).join(', ')})`);
          const saved = new Map<string, string | null>();
          for (const b of decodeNative(prev.bytes()))
            for (let i = 0; i < b.rowCount; i++) saved.set(String(b.columns[0]!.get(i)), b.columns[2]!.get(i) ? String(b.columns[1]!.get(i)) : null);
          await q(`SET ${settings.map(([k, v]) => `${k} = ${v}`).join(', ')}`);
          restore = `SET ${settings.map(([k]) => `${k} = ${saved.get(k) != null ? quoteString(saved.get(k)!) : 'DEFAULT'}`).join(', ')}`;
        }
        if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
        const full = settings.length && o.selectLike ? `${text}\nSETTINGS ${settings.map(([k, v]) => `${k} = ${v}`).join(', ')}` : text;
        return await call(full, o.format);
      } finally {
        if (restore) await q(restore).catch(() => {});
        if (useDb) await q('USE default').catch(() => {});
      }
    })();
    job.then(release, release);
    return raceAbort(
      job.catch((e: unknown) => {
        throw mapEngineError(e, signal);
      }),
      signal,
      marker ? () => this.kill(marker) : undefined,
    );
  }

  /** Best effort: KILL a Session query by its marker from a second connection to the same directory. */
  private kill(marker: string): void {
    try {
      this.killer ??= new this.chdb.Session(this.path);
      void this.killer
        .queryAsync(`KILL QUERY WHERE query LIKE ${quoteString(`%/* ${marker} */%`)} AND query NOT LIKE '%KILL QUERY%' ASYNC`, { format: 'Null' })
        .catch(() => {});
    } catch {
      // the engine finishes the query in the background
    }
  }

  private valueOptions(o: ValueOptions): ValueOptions {
    return o.serverTimezone ? o : { ...o, serverTimezone: this.timezone };
  }

  /**
   * Bind parameters, refuse multi-statements, and on the shared default connection keep SET and
   * USE for this client (true: handled, nothing to run).
   */
  private async prepare(p: QueryParams | ExecParams, dropFormat: boolean): Promise<{ sql: string; format?: string; scan: Scan } | true> {
    this.check();
    let sql = p.query;
    if (p.query_params && Object.keys(p.query_params).length) sql = bindQueryParams(sql, p.query_params as Record<string, ParamValue>);
    let scan = scanSql(sql);
    checkSingleStatement(sql, scan);
    const tail = splitTail(sql, dropFormat, scan);
    if (tail.sql !== sql) scan = scanSql(tail.sql);
    if (!this.session) {
      const st = sessionStatement(tail.sql, scan);
      if (st?.kind === 'use') {
        const before = this.database;
        this.database = st.database;
        try {
          await this.run('SELECT 1', { format: 'Null', selectLike: true, ...opt(undefined, p.abort_signal) });
        } catch (e) {
          this.database = before;
          throw e;
        }
        return true;
      }
      if (st?.kind === 'set') {
        // Checked by the engine as a SETTINGS clause, then kept for this client only.
        const text = `SELECT 1\nSETTINGS ${[...this.sessionSettings, ...st.settings].map(([k, v]) => `${k} = ${v}`).join(', ')}`;
        await this.run(text, { format: 'Null', selectLike: false, bare: true, ...opt(undefined, p.abort_signal) });
        for (const [k, v] of st.settings) this.sessionSettings.set(k, v);
        return true;
      }
    }
    return { sql: tail.sql, ...(tail.format ? { format: tail.format } : {}), scan };
  }

  query(p: QueryParams, options: ValueOptions): AsyncIterable<QueryEvent> & { queryId: string } {
    // chDB has no way to set a query's id: queryID() in the engine differs from this one.
    const queryId = p.query_id ?? randomUUID();
    const self = this;
    const gen = async function* (): AsyncGenerator<QueryEvent> {
      const prep = await self.prepare(p, true);
      const started = Date.now();
      if (prep === true) {
        yield { type: 'progress', progress: { ...emptyProgress(), elapsedNs: (Date.now() - started) * 1e6 } };
        return;
      }
      const { sql } = prep;
      const r = await self.run(sql, { format: 'Native', selectLike: isSelectLike(sql), ...opt(p.clickhouse_settings, p.abort_signal) });
      const bytes = r.bytes();
      const progress: Progress = { ...emptyProgress(), rows: r.rowsRead, bytes: r.bytesRead, elapsedNs: Math.round((r.elapsed || (Date.now() - started) / 1000) * 1e9) };
      const decoder = new BlockDecoder(0, self.valueOptions(options));
      const c = new Cursor(bytes);
      // The first block first (so the ResultSet knows the columns at once), then the progress.
      let first = true;
      while (c.pos < c.end) {
        if (p.abort_signal?.aborted) throw new AbortError(undefined, { cause: p.abort_signal.reason });
        let block;
        try {
          block = decoder.read(c);
        } catch (e) {
          throw decodeFailure(e);
        }
        yield { type: 'data', block };
        if (first) yield { type: 'progress', progress };
        first = false;
      }
      if (first) yield { type: 'progress', progress };
    };
    return Object.assign(gen(), { queryId });
  }

  async command(p: QueryParams): Promise<QuerySummary> {
    const queryId = p.query_id ?? randomUUID();
    const started = Date.now();
    const prep = await this.prepare(p, false);
    if (prep === true) return { progress: emptyProgress(), elapsedMs: Date.now() - started, queryId };
    const { sql } = prep;
    const r = await this.run(sql, { format: 'Null', selectLike: isSelectLike(sql), ...opt(p.clickhouse_settings, p.abort_signal) });
    const progress = { ...emptyProgress(), rows: r.rowsRead, bytes: r.bytesRead, elapsedNs: Math.round(r.elapsed * 1e9) };
    return { progress, elapsedMs: Date.now() - started, queryId };
  }

  /**
   * Raw formats: the statement's output in its FORMAT (default TabSeparated, as over HTTP); a
   * `body` is the data of an `INSERT … FORMAT X` (read by the engine from a temp file).
   */
  async exec(p: ExecParams): Promise<ExecResult> {
    const queryId = p.query_id ?? randomUUID();
    const started = Date.now();
    const prep = await this.prepare(p, true);
    let bytes: Uint8Array = new Uint8Array(0);
    let summary: Progress | undefined;
    if (prep !== true) {
      let sql = prep.format ? `${prep.sql} FORMAT ${prep.format}` : prep.sql;
      let file: string | undefined;
      try {
        if (p.body !== undefined) {
          const ins = scanSql(sql);
          const toks = ins.toks;
          const fmt = toks.findIndex((t) => t.depth === 0 && tokText(sql, t).toUpperCase() === 'FORMAT');
          if (tokText(sql, toks[0]).toUpperCase() !== 'INSERT' || fmt < 0 || (ins.dataAt >= 0 && sql.slice(ins.dataAt).trim() !== ''))
            throw new ClientError('exec() with a body needs an INSERT … FORMAT <name> statement without inline data', 'CHWIRE_BAD_OPTION');
          // FROM INFILE goes before the SETTINGS clause (if any) and FORMAT.
          let at = fmt;
          for (let i = 3; i < fmt; i++) if (toks[i]!.depth === 0 && tokText(sql, toks[i]).toUpperCase() === 'SETTINGS' && tokText(sql, toks[i + 2]) === '=') {
            at = i;
            break;
          }
          file = join(await this.tempDir(), `${process.pid}-${++this.tmpSeq}.body`);
          await writeBody(file, p.body, p.abort_signal);
          sql = `${sql.slice(0, toks[at]!.start)}FROM INFILE ${quoteString(file)} ${sql.slice(toks[at]!.start, ins.dataAt >= 0 ? ins.dataAt : sql.length)}`;
        }
        const r = await this.run(sql, { format: prep.format ?? 'TabSeparated', selectLike: isSelectLike(sql), ...opt(p.clickhouse_settings, p.abort_signal) });
        bytes = r.bytes();
        summary = { ...emptyProgress(), rows: r.rowsRead, bytes: r.bytesRead, elapsedNs: Math.round((r.elapsed || (Date.now() - started) / 1000) * 1e9) };
      } finally {
        if (file) {
          const f = file;
          if (p.abort_signal?.aborted && this.chdb.drainPending) void this.chdb.drainPending().then(() => unlink(f).catch(() => {}));
          else await unlink(f).catch(() => {});
        }
      }
    }
    const out = bytes;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        if (out.length) c.enqueue(out);
        c.close();
      },
    });
    return {
      queryId,
      headers: new Headers({ 'x-clickhouse-query-id': queryId }),
      stream,
      bytes: async () => out,
      text: async () => new TextDecoder().decode(out),
      async *[Symbol.asyncIterator]() {
        if (out.length) yield out;
      },
      ...(summary ? { summary } : {}),
    };
  }

  /** The insert header: the table's insertable columns (or req.columns, in that order). */
  private async header(table: string, columns: string[] | undefined, signal?: AbortSignal): Promise<ColumnMeta[]> {
    const r = await this.run(`DESCRIBE TABLE ${quoteTable(table)}`, { format: 'Native', selectLike: false, ...opt(undefined, signal) });
    const all: (ColumnMeta & { kind: string })[] = [];
    for (const b of decodeNative(r.bytes())) {
      const names = b.columns.map((c) => c.name);
      const [ni, ti, ki] = [names.indexOf('name'), names.indexOf('type'), names.indexOf('default_type')];
      for (let i = 0; i < b.rowCount; i++)
        all.push({ name: String(b.columns[ni]!.get(i)), type: String(b.columns[ti]!.get(i)), kind: ki >= 0 ? String(b.columns[ki]!.get(i)) : '' });
    }
    if (!columns?.length) return all.filter((c) => c.kind !== 'MATERIALIZED' && c.kind !== 'ALIAS').map(({ name, type }) => ({ name, type }));
    return columns.map((n) => {
      const c = all.find((x) => x.name === n);
      if (!c) throw new ClickHouseError({ code: 16, name: 'DB::Exception', message: `DB::Exception: No such column ${n} in table ${table} (NO_SUCH_COLUMN_IN_TABLE)` });
      return { name: c.name, type: c.type };
    });
  }

  private tempDir(): Promise<string> {
    this.tmpDir ??= mkdtemp(join(tmpdir(), 'chwire-insert-'));
    return this.tmpDir;
  }

  async insert(req: InsertRequest): Promise<InsertSummary> {
    this.check();
    const signal = req.abort_signal;
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const queryId = req.query_id ?? randomUUID();
    const header = await this.header(req.table, req.columns, signal);
    const file = join(await this.tempDir(), `${process.pid}-${++this.tmpSeq}.native`);
    const fh = await open(file, 'w');
    let rows = 0;
    let bytes = 0;
    // Reading the source ends at once on abort or close(), even while the source is still producing.
    let rejectStop!: (e: Error) => void;
    const stopped = new Promise<never>((_, reject) => (rejectStop = reject));
    stopped.catch(() => {});
    const onStop = (e: Error): void => rejectStop(e);
    const onAbort = (): void => onStop(new AbortError(undefined, { cause: signal?.reason }));
    this.closing.add(onStop);
    signal?.addEventListener('abort', onAbort, { once: true });
    const until = <U>(p: Promise<U>): Promise<U> => Promise.race([p, stopped]);
    try {
      try {
        if (req.native) {
          const chunks: Uint8Array[] = [];
          for await (const chunk of untilStopped(req.native, until)) {
            if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
            chunks.push(chunk);
            await fh.write(chunk);
            bytes += chunk.length;
          }
          // Row count (and an early, clear error for malformed bytes).
          const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
          for (const b of decodeNative(all)) rows += b.rowCount;
        } else {
          const cache = new CodecCache();
          for await (const block of untilStopped(req.blocks(header), until)) {
            if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
            const { columns, rows: n } = prepareBlock(block, cache, this.timezone);
            if (n === 0) continue;
            const w = new Writer(64 * 1024);
            writeBlock(w, columns, n, { revision: 0 });
            const out = w.toBytes();
            await fh.write(out);
            rows += n;
            bytes += out.length;
          }
        }
      } finally {
        await fh.close();
      }
      const progress = { ...emptyProgress(), writtenRows: rows, writtenBytes: bytes };
      if (rows === 0 && bytes === 0) return { rows: 0, queryId, progress };
      const structure = header.map((h) => `${quoteIdentifier(h.name)} ${h.type}`).join(', ');
      const cols = header.map((h) => quoteIdentifier(h.name)).join(', ');
      const sql = `INSERT INTO ${quoteTable(req.table)} (${cols}) SELECT * FROM file(${quoteString(file)}, 'Native', ${quoteString(structure)})`;
      // flatten_nested = 0: a Nested(…) column of the structure stays one column (as the header
      // and the bytes have it) instead of becoming one array per field.
      const r = await this.run(sql, { format: 'Null', selectLike: true, ...opt({ flatten_nested: 0, ...req.clickhouse_settings }, signal) });
      progress.elapsedNs = Math.round(r.elapsed * 1e9);
      return { rows, queryId, progress };
    } finally {
      this.closing.delete(onStop);
      signal?.removeEventListener('abort', onAbort);
      // An aborted insert may still be reading the file: delete it once the engine is done.
      if (signal?.aborted && this.chdb.drainPending) void this.chdb.drainPending().then(() => unlink(file).catch(() => {}));
      else await unlink(file).catch(() => {});
    }
  }

  async ping(): Promise<boolean> {
    const r = await this.run('SELECT 1', { format: 'Native', selectLike: true });
    return r.bytes().length > 0;
  }

  async serverInfo(): Promise<{ name: string; version: string; revision: number; timezone?: string }> {
    return { name: 'chDB', version: this.version, revision: 0, timezone: this.timezone };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Inserts still reading their source end now.
    for (const stop of this.closing) stop(new ClientError('the client was closed while this request ran', 'CHWIRE_CLIENT_CLOSED'));
    this.killer?.close();
    this.session?.close();
    const dir = this.tmpDir;
    if (dir) await rm(await dir, { recursive: true, force: true }).catch(() => {});
  }
}

/** Write an exec() body to a file. */
async function writeBody(file: string, body: ExecBody, signal?: AbortSignal): Promise<void> {
  const fh = await open(file, 'w');
  try {
    if (typeof body === 'string') await fh.write(body);
    else if (body instanceof Uint8Array) await fh.write(body);
    else {
      const src: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
        typeof (body as ReadableStream<Uint8Array>).getReader === 'function' ? readStream(body as ReadableStream<Uint8Array>) : (body as AsyncIterable<Uint8Array> | Iterable<Uint8Array>);
      for await (const chunk of src) {
        if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
        await fh.write(chunk);
      }
    }
  } finally {
    await fh.close();
  }
}

async function* readStream(s: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const r = s.getReader();
  try {
    for (;;) {
      const { done, value } = await r.read();
      if (done) return;
      yield value;
    }
  } finally {
    r.releaseLock();
  }
}

function opt(settings: Settings | undefined, signal: AbortSignal | undefined): { settings?: Settings; signal?: AbortSignal } {
  return { ...(settings ? { settings } : {}), ...(signal ? { signal } : {}) };
}

/** `chdb:` → the in-process default engine; `chdb:/path` → a persistent Session there. */
export async function createEmbeddedTransport(endpoint: Endpoint, options: ClientOptions): Promise<Transport> {
  const chdb = await loadChdb();
  const path = endpoint.path ?? '';
  let session: ChdbSession | undefined;
  if (path) {
    try {
      await chdb.drainPending?.();
      session = new chdb.Session(path);
    } catch (e) {
      throw mapEngineError(e);
    }
  }
  const t = new EmbeddedTransport(chdb, session ?? chdb, session, path, options);
  try {
    await t.init(endpoint.database ?? options.database);
  } catch (e) {
    await t.close();
    throw e;
  }
  return t;
}

export { quoteTable };
