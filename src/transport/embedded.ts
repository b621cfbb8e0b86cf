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
import { CodecCache } from '../core/columns/registry.js';
import { Cursor } from '../core/io/cursor.js';
import { Writer } from '../core/io/writer.js';
import { BlockDecoder, decodeNative } from '../core/native/reader.js';
import { prepareBlock, writeBlock } from '../core/native/writer.js';
import { bindQueryParams, quoteIdentifier, quoteString, type ParamValue } from '../core/protocol/params.js';
import { quoteTable } from './common.js';

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

/** Drop trailing `;`, whitespace and (for queries) a trailing `FORMAT name`: the transport picks the format. */
export function stripTail(sql: string, dropFormat: boolean): string {
  let q = sql.replace(/[\s;]+$/, '');
  if (dropFormat) q = q.replace(/\s+FORMAT\s+[A-Za-z][A-Za-z0-9_]*$/i, '');
  return q;
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

/** One-at-a-time lock (a process-wide one guards the shared default connection's SET/restore). */
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
}

export class EmbeddedTransport implements Transport {
  readonly kind = 'embedded' as const;
  private killer: ChdbSession | undefined;
  private tmpDir: Promise<string> | undefined;
  private closed = false;
  private timezone = 'UTC';
  private version = '';
  private readonly lock: Mutex;
  private tmpSeq = 0;

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
    const r = await this.exec('SELECT version() AS v, timezone() AS tz', { format: 'Native', selectLike: true });
    const [b] = decodeNative(r.bytes());
    if (b) {
      this.version = String(b.columns[0]!.get(0));
      this.timezone = String(b.columns[1]!.get(0));
    }
    if (database) await this.exec(`USE ${quoteIdentifier(database)}`, { format: 'Native', selectLike: false });
  }

  private check(): void {
    if (this.closed) throw new ClientError('the embedded transport is closed', 'CHWIRE_CLIENT_CLOSED');
  }

  /**
   * Run one statement with settings and abort. With a Session the query text
   * carries a marker comment so an abort can KILL it from a second connection.
   */
  private async exec(sql: string, o: RunOptions): Promise<ChdbResult> {
    this.check();
    const signal = o.signal;
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const settings = definedSettings(o.settings);
    const marker = this.session ? `chwire-${randomUUID()}` : '';
    const text = marker ? `/* ${marker} */ ${sql}` : sql;
    const kill = marker ? () => this.kill(marker) : undefined;
    const run = (q: string): Promise<ChdbResult> =>
      raceAbort(
        this.runner.queryAsync(q, { format: o.format }).catch((e: unknown) => {
          throw mapEngineError(e, signal);
        }),
        signal,
        kill,
      );
    if (settings.length === 0) return run(text);
    if (o.selectLike) return run(`${text}\nSETTINGS ${settings.map(([k, v]) => `${checkSettingName(k)} = ${settingLiteral(v)}`).join(', ')}`);
    // Other statements: SET, run, restore the previous values (under the connection's lock).
    const release = await raceAbort(this.lock.lock(), signal);
    try {
      const names = settings.map(([k]) => checkSettingName(k));
      const prev = await this.runner.queryAsync(
        `SELECT name, value, changed FROM system.settings WHERE name IN (${names.map(quoteString).join(', ')})`,
        { format: 'Native' },
      );
      const saved = new Map<string, string | null>();
      for (const b of decodeNative(prev.bytes()))
        for (let i = 0; i < b.rowCount; i++) saved.set(String(b.columns[0]!.get(i)), b.columns[2]!.get(i) ? String(b.columns[1]!.get(i)) : null);
      await this.runner.queryAsync(`SET ${settings.map(([k, v]) => `${k} = ${settingLiteral(v)}`).join(', ')}`, { format: 'Native' }).catch((e: unknown) => {
        throw mapEngineError(e, signal);
      });
      try {
        return await run(text);
      } finally {
        const restore = names.map((k) => `${k} = ${saved.has(k) && saved.get(k) !== null ? quoteString(saved.get(k)!) : 'DEFAULT'}`);
        await this.runner.queryAsync(`SET ${restore.join(', ')}`, { format: 'Native' }).catch(() => {});
      }
    } finally {
      release();
    }
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

  query(p: QueryParams, options: ValueOptions): AsyncIterable<QueryEvent> & { queryId: string } {
    const queryId = p.query_id ?? randomUUID();
    const self = this;
    const gen = async function* (): AsyncGenerator<QueryEvent> {
      let sql = stripTail(p.query, true);
      if (p.query_params && Object.keys(p.query_params).length) sql = bindQueryParams(sql, p.query_params as Record<string, ParamValue>);
      const started = Date.now();
      const r = await self.exec(sql, { format: 'Native', selectLike: isSelectLike(sql), ...opt(p.clickhouse_settings, p.abort_signal) });
      const bytes = r.bytes();
      const progress: Progress = { ...emptyProgress(), rows: r.rowsRead, bytes: r.bytesRead, elapsedNs: Math.round((r.elapsed || (Date.now() - started) / 1000) * 1e9) };
      const decoder = new BlockDecoder(0, self.valueOptions(options));
      const c = new Cursor(bytes);
      // The first block first (so the ResultSet knows the columns at once), then the progress.
      let first = true;
      while (c.pos < c.end) {
        if (p.abort_signal?.aborted) throw new AbortError(undefined, { cause: p.abort_signal.reason });
        yield { type: 'data', block: decoder.read(c) };
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
    let sql = stripTail(p.query, false);
    if (p.query_params && Object.keys(p.query_params).length) sql = bindQueryParams(sql, p.query_params as Record<string, ParamValue>);
    const r = await this.exec(sql, { format: 'Null', selectLike: isSelectLike(sql), ...opt(p.clickhouse_settings, p.abort_signal) });
    const progress = { ...emptyProgress(), rows: r.rowsRead, bytes: r.bytesRead, elapsedNs: Math.round(r.elapsed * 1e9) };
    return { progress, elapsedMs: Date.now() - started, queryId };
  }

  /** The insert header: the table's insertable columns (or req.columns, in that order). */
  private async header(table: string, columns: string[] | undefined, signal?: AbortSignal): Promise<ColumnMeta[]> {
    const r = await this.exec(`DESCRIBE TABLE ${quoteTable(table)}`, { format: 'Native', selectLike: false, ...opt(undefined, signal) });
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
    try {
      try {
        if (req.native) {
          const chunks: Uint8Array[] = [];
          for await (const chunk of req.native) {
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
          for await (const block of req.blocks(header)) {
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
      const r = await this.exec(sql, { format: 'Null', selectLike: true, ...opt(req.clickhouse_settings, signal) });
      progress.elapsedNs = Math.round(r.elapsed * 1e9);
      return { rows, queryId, progress };
    } finally {
      // An aborted insert may still be reading the file: delete it once the engine is done.
      if (signal?.aborted && this.chdb.drainPending) void this.chdb.drainPending().then(() => unlink(file).catch(() => {}));
      else await unlink(file).catch(() => {});
    }
  }

  async ping(): Promise<boolean> {
    const r = await this.exec('SELECT 1', { format: 'Native', selectLike: true });
    return r.bytes().length > 0;
  }

  async serverInfo(): Promise<{ name: string; version: string; revision: number; timezone?: string }> {
    return { name: 'chDB', version: this.version, revision: 0, timezone: this.timezone };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.killer?.close();
    this.session?.close();
    const dir = this.tmpDir;
    if (dir) await rm(await dir, { recursive: true, force: true }).catch(() => {});
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
