// The embedded engine (chDB: ClickHouse 26.7 in-process) behind the server.
// Each client connection gets a lane of its own (a chDB connection to the one
// data directory, with a queue keeping its statements in order); a lane goes
// back to the free ones only once idle. Cancel and disconnect stop a running
// statement with KILL QUERY from the home connection (statements carry a
// marker comment: chDB has no way to set their query_id).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';

/** The parts of chdb's Session this file uses. */
interface ChdbSession {
  connection: unknown;
  queryAsync(sql: string, opts?: { format?: string }): Promise<{ bytes(): Uint8Array; text(): string; rowsRead: number; bytesRead: number }>;
  queryBindAsync(sql: string, params: object, opts?: { format?: string }): Promise<{ bytes(): Uint8Array; text(): string }>;
  queryStream(sql: string, opts?: { format?: string; signal?: AbortSignal }): AsyncIterable<{ numRows: number; raw(): Uint8Array }> & { cancel(): void };
  close(): void;
}
interface ChdbModule {
  Session: new (path?: string, opts?: object) => ChdbSession;
}
/** chdb's native addon: server-side binding of parameter text exactly as it arrived (no re-escaping). */
interface ChdbAddon {
  QueryAsyncConnection?(conn: unknown, sql: string, format: string, params?: Record<string, string>): Promise<{ bytes: Uint8Array; rowsRead?: number; bytesRead?: number }>;
}

/** An error from the engine, with ClickHouse's code and name. */
export class EngineError extends Error {
  constructor(
    readonly code: number,
    readonly exceptionName: string,
    message: string,
  ) {
    super(message);
  }
}

/** Map chdb's error ("Code: 60. DB::Exception: … (UNKNOWN_TABLE)") to code + name + message. */
export function toEngineError(e: unknown): EngineError {
  if (e instanceof EngineError) return e;
  const raw = e instanceof Error ? e.message : String(e);
  const m = /^Code: (\d+)\. ([\s\S]*)$/.exec(raw);
  const code = m ? Number(m[1]) : Number((e as { clickhouseCode?: unknown })?.clickhouseCode) || 1001;
  let message = m ? m[2]! : raw;
  if (!message.startsWith('DB::Exception: ')) message = 'DB::Exception: ' + message;
  return new EngineError(code, 'DB::Exception', message);
}

export interface EngineOptions {
  /** A persistent data directory; default: a temporary one removed on close. */
  dataDir?: string;
  /** Settings applied to the engine session at start (e.g. { session_timezone: 'UTC' }). */
  settings?: Record<string, string>;
  /** Idle engine sessions (chDB connections) kept for new client connections (default 4); each client gets its own. */
  sessions?: number;
}

export interface EngineResult {
  rows: number;
  bytes: number;
}

const CHDB_TSV_ESCAPE: Record<string, string> = { '\\\\': '\\', '\\0': '\0', '\\b': '\b', '\\f': '\f', '\\n': '\n', '\\r': '\r', '\\t': '\t' };

/** chdb's native stream calls (used directly for parameterized streams: the parameter text goes to the engine as it arrived). */
interface ChdbStreamAddon {
  StreamQuery?(conn: unknown, sql: string, format: string, params?: Record<string, string>): unknown;
  StreamFetch?(handle: unknown): Promise<{ done?: boolean; bytes?: Uint8Array; numRows?: number }>;
  StreamCancel?(handle: unknown): void;
}

/**
 * One engine session (a chDB connection) with its own queue. Statements of one
 * lane never interleave: a SET/restore pair, a USE and a stream stay together.
 * Lanes run in parallel with each other (chDB runs queries of different
 * connections concurrently).
 */
export class EngineLane {
  private tail: Promise<unknown> = Promise.resolve();
  /** Client connections bound to this lane. */
  users = 0;

  constructor(
    readonly engine: Engine,
    readonly session: ChdbSession,
    readonly index: number,
  ) {}

  get baseline(): ReadonlyMap<string, string> {
    return this.engine.baseline;
  }

  /** Run fn with exclusive use of this lane (calls are queued, one at a time). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.engine.isClosed) return Promise.reject(new EngineError(1002, 'DB::Exception', 'DB::Exception: the server is shutting down'));
    const p = this.tail.then(fn);
    this.tail = p.catch(() => {});
    return p;
  }

  /** Resolves when the work queued so far has finished. */
  idle(): Promise<void> {
    return this.tail.then(() => undefined);
  }

  /** A statement's whole output (inside run()). */
  async exec(sql: string, format = 'TSV'): Promise<Uint8Array> {
    try {
      return (await this.session.queryAsync(sql, { format })).bytes();
    } catch (e) {
      throw toEngineError(e);
    }
  }

  async execText(sql: string, format = 'TSV'): Promise<string> {
    return new TextDecoder().decode(await this.exec(sql, format));
  }

  /**
   * Apply settings for one statement (inside run()): returns the SET that
   * restores the baseline, or '' when nothing changed.
   */
  async applySettings(settings: ReadonlyMap<string, string>): Promise<string> {
    const set: string[] = [];
    const restore: string[] = [];
    for (const [name, value] of settings) {
      if (this.baseline.get(name) === value) continue;
      set.push(`${name} = ${sqlString(value)}`);
      const base = this.baseline.get(name);
      restore.push(base === undefined ? `${name} = DEFAULT` : `${name} = ${sqlString(base)}`);
    }
    if (!set.length) return '';
    await this.exec(`SET ${set.join(', ')}`);
    return `SET ${restore.join(', ')}`;
  }

  async restoreSettings(restore: string): Promise<void> {
    if (!restore) return;
    try {
      await this.session.queryAsync(restore, { format: 'TSV' });
    } catch {
      // A setting the engine refuses to restore keeps its value; nothing else to do.
    }
  }

  /**
   * Run a statement (inside run()) and hand over its Native output chunk by
   * chunk (FORMAT Native: revision-0 blocks) as the engine produces them.
   * Parameters are bound by the engine from their text form, as a server binds
   * protocol parameters; parameterized statements hold the engine's process-wide
   * parameter lock (chDB's parameter state is not isolated per connection).
   */
  async stream(
    sql: string,
    params: Record<string, string> | undefined,
    onChunk: (bytes: Uint8Array, rows: number) => Promise<void> | void,
    signal?: AbortSignal,
    streaming = true,
  ): Promise<EngineResult> {
    if (params && Object.keys(params).length) return this.engine.withParamLock(() => this.streamBound(sql, params, onChunk, signal, streaming));
    let rows = 0;
    let bytes = 0;
    try {
      if (!streaming) {
        // Statements other than SELECT cannot stream in chDB: one result.
        const out = (await this.session.queryAsync(sql, { format: 'Native' })).bytes();
        if (out.length) await onChunk(out, 0);
        return { rows, bytes: out.length };
      }
      const s = this.session.queryStream(sql, { format: 'Native', ...(signal ? { signal } : {}) });
      for await (const chunk of s) {
        if (signal?.aborted) {
          s.cancel();
          break;
        }
        rows += chunk.numRows;
        const b = chunk.raw();
        bytes += b.length;
        if (b.length) await onChunk(b, chunk.numRows);
      }
      return { rows, bytes };
    } catch (e) {
      if (signal?.aborted) return { rows, bytes };
      throw toEngineError(e);
    }
  }

  private async streamBound(
    sql: string,
    params: Record<string, string>,
    onChunk: (bytes: Uint8Array, rows: number) => Promise<void> | void,
    signal: AbortSignal | undefined,
    streaming: boolean,
  ): Promise<EngineResult> {
    let rows = 0;
    let bytes = 0;
    const addon = this.engine.addon;
    try {
      if (streaming && addon?.StreamQuery && addon.StreamFetch && addon.StreamCancel) {
        // Block by block, with the parameter text as it arrived (chdb's queryStreamBind would TSV-escape it again).
        const handle = addon.StreamQuery(this.session.connection, sql, 'Native', params);
        let done = false;
        try {
          while (!signal?.aborted) {
            const raw = await addon.StreamFetch(handle);
            if (raw.done) {
              done = true;
              break;
            }
            const b = raw.bytes ?? new Uint8Array(0);
            rows += raw.numRows ?? 0;
            bytes += b.length;
            if (b.length) await onChunk(b, raw.numRows ?? 0);
          }
        } finally {
          if (!done) {
            try {
              addon.StreamCancel(handle);
            } catch {
              // best effort
            }
          }
        }
        return { rows, bytes };
      }
      let out: Uint8Array;
      if (addon?.QueryAsyncConnection) {
        out = (await addon.QueryAsyncConnection(this.session.connection, sql, 'Native', params)).bytes;
      } else {
        // chdb re-escapes string parameters (TSV): undo that so the engine sees the text as sent.
        const unescaped: Record<string, string> = {};
        for (const [k, v] of Object.entries(params)) unescaped[k] = v.replace(/\\[\\0bfnrt]/g, (m) => CHDB_TSV_ESCAPE[m]!);
        out = (await this.session.queryBindAsync(sql, unescaped, { format: 'Native' })).bytes();
      }
      if (out.length) {
        bytes += out.length;
        await onChunk(out, 0);
      }
      return { rows, bytes };
    } catch (e) {
      if (signal?.aborted) return { rows, bytes };
      throw toEngineError(e);
    }
  }

  /** Write bytes to a temp file for file(path, 'Native', …) (inside or outside run()). */
  tempFile(bytes: Uint8Array): Promise<{ path: string; remove(): Promise<void> }> {
    return this.engine.tempFile(bytes);
  }
}

/** Every setting and its value, one JSON row each (JSONCompactEachRow). */
async function lane0Settings(lane: EngineLane): Promise<string> {
  return (await lane.session.queryAsync('SELECT name, value FROM system.settings', { format: 'JSONCompactEachRow' })).text();
}

export class Engine {
  version = '';
  timezone = 'UTC';
  /** Every engine setting and its value when no query changes it. */
  readonly baseline = new Map<string, string>();
  /** Every open lane (client lanes, busy or free). */
  readonly lanes = new Set<EngineLane>();
  /** Idle lanes bound to no client connection. */
  private readonly free: EngineLane[] = [];
  /** The first connection: owns a temporary data directory, runs KILL QUERY and engine work. */
  readonly home: EngineLane;
  /** Free lanes kept open. */
  private readonly keep: number;
  private closed = false;
  private tmp: string;
  private seq = 0;
  private fileSeq = 0;
  private paramTail: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly addon: (ChdbAddon & ChdbStreamAddon) | undefined,
    private readonly mod: ChdbModule,
    private readonly path: string,
    first: ChdbSession,
    private readonly options: EngineOptions,
  ) {
    this.tmp = mkdtempSync(join(tmpdir(), 'chwire-serve-'));
    this.home = new EngineLane(this, first, -1);
    this.keep = Math.max(1, Math.floor(options.sessions ?? 4));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * chDB holds one data directory per process: servers in one process share
   * one engine (reference-counted; close() of the last user closes it).
   */
  private static shared: { engine: Promise<Engine>; dataDir: string | undefined; users: number } | undefined;

  static async open(options: EngineOptions = {}): Promise<Engine> {
    const sh = Engine.shared;
    if (sh) {
      if (options.dataDir !== undefined && options.dataDir !== sh.dataDir) {
        throw new Error(`the embedded engine is already open with ${sh.dataDir ?? 'a temporary data directory'}: one data directory per process`);
      }
      sh.users++;
      return sh.engine;
    }
    const p = Engine.openNew(options);
    Engine.shared = { engine: p, dataDir: options.dataDir, users: 1 };
    p.catch(() => {
      Engine.shared = undefined;
    });
    return p;
  }

  private static async openNew(options: EngineOptions): Promise<Engine> {
    const name = 'chdb';
    let mod: ChdbModule;
    try {
      const m = (await import(name)) as ChdbModule & { default?: ChdbModule };
      mod = m.Session ? m : m.default!;
    } catch (e) {
      throw new Error(`chwire serve needs the embedded engine: npm install chdb (${(e as Error).message})`);
    }
    let addon: (ChdbAddon & ChdbStreamAddon) | undefined;
    try {
      // The addon is not a public entry point: reached through the package's own loader.
      const req = createRequire(import.meta.url);
      const main = req.resolve('chdb');
      addon = (req(join(dirname(main), 'dist', 'loader.js')) as { loadNative(): ChdbAddon & ChdbStreamAddon }).loadNative();
      if (typeof addon?.QueryAsyncConnection !== 'function') addon = undefined;
    } catch {
      addon = undefined;
    }
    const first = options.dataDir ? new mod.Session(options.dataDir) : new mod.Session();
    // More sessions (chDB connections) on the same data directory: the same databases and tables.
    const path = options.dataDir ?? (first as unknown as { path?: string }).path ?? '';
    const engine = new Engine(addon, mod, path, first, options);
    const count = Math.max(1, Math.floor(options.sessions ?? 4));
    for (let i = 0; i < count; i++) engine.free.push(engine.openLane());
    const home = engine.home;
    await home.run(async () => {
      const start = options.settings;
      if (start && Object.keys(start).length) {
        await home.session.queryAsync(`SET ${Object.entries(start).map(([k, v]) => `${k} = ${sqlString(v)}`).join(', ')}`, { format: 'TSV' });
      }
      const info = (await home.session.queryAsync('SELECT version(), timezone()', { format: 'TSV' })).text().trim().split('\t');
      engine.version = info[0] ?? '';
      engine.timezone = info[1] ?? 'UTC';
      const rows = (await lane0Settings(home)).split('\n');
      for (const line of rows) {
        if (!line) continue;
        const [n, v] = JSON.parse(line) as [string, string];
        engine.baseline.set(n, v);
      }
    });
    await Promise.all(engine.free.map((l) => l.idle()));
    return engine;
  }

  /** A new lane: its own chDB connection, with the start settings applied first. */
  private openLane(): EngineLane {
    const lane = new EngineLane(this, new this.mod.Session(this.path), this.seq++);
    this.lanes.add(lane);
    const start = this.options.settings;
    if (start && Object.keys(start).length) {
      void lane
        .run(() => lane.session.queryAsync(`SET ${Object.entries(start).map(([k, v]) => `${k} = ${sqlString(v)}`).join(', ')}`, { format: 'TSV' }))
        .catch(() => {});
    }
    return lane;
  }

  /**
   * A lane of its own for a client connection, until release(): an idle free one, else a new
   * one. A lane still running an abandoned statement is never handed out.
   */
  acquireLane(): EngineLane {
    const lane = this.free.pop() ?? this.openLane();
    lane.users = 1;
    return lane;
  }

  /** Back to the free lanes once its queued work has finished (surplus lanes are closed). */
  releaseLane(lane: EngineLane): void {
    lane.users = 0;
    void lane.idle().then(() => {
      if (this.closed || !this.lanes.has(lane)) return;
      if (this.free.length < this.keep) this.free.push(lane);
      else {
        this.lanes.delete(lane);
        lane.session.close();
      }
    });
  }

  /**
   * Stop the statements whose text carries `/* tag *\/` (KILL QUERY from the home connection,
   * never busy with client work), again until `done` settles: a statement may not be running yet.
   */
  async kill(tag: string, done: Promise<unknown>): Promise<void> {
    let over = false;
    void done.then(
      () => (over = true),
      () => (over = true),
    );
    const sql = `KILL QUERY WHERE query LIKE ${sqlString(`%/* ${tag} */%`)} AND query NOT LIKE '%KILL QUERY%' ASYNC`;
    for (let wait = 50; !over && !this.closed; wait = Math.min(wait * 2, 2000)) {
      await this.home.session.queryAsync(sql, { format: 'TSV' }).catch(() => {});
      await Promise.race([done.catch(() => {}), new Promise((r) => setTimeout(r, wait))]);
    }
  }

  /** The home connection's queue (engine work not tied to a client connection). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.home.run(fn);
  }

  /** Serialize parameterized statements across lanes. */
  withParamLock<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.paramTail.then(fn);
    this.paramTail = p.catch(() => {});
    return p;
  }

  /** Write bytes to a temp file for file(path, 'Native', …) (inside or outside run()). */
  async tempFile(bytes: Uint8Array): Promise<{ path: string; remove(): Promise<void> }> {
    const path = join(this.tmp, `${process.pid}-${++this.fileSeq}.native`);
    await writeFile(path, bytes);
    return { path, remove: () => unlink(path).catch(() => {}) };
  }

  /** Release this user's reference; the last one waits for queued work and closes the sessions. */
  async close(): Promise<void> {
    if (this.closed) return;
    const sh = Engine.shared;
    if (sh && --sh.users > 0) return;
    Engine.shared = undefined;
    this.closed = true;
    await Promise.all([...this.lanes, this.home].map((l) => l.idle().catch(() => {})));
    // The first session owns a temporary data directory: it closes last.
    for (const l of this.lanes) l.session.close();
    this.home.session.close();
    rmSync(this.tmp, { recursive: true, force: true });
  }
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** A SQL identifier, back-quoted when needed. */
export function sqlIdent(s: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : '`' + s.replace(/\\/g, '\\\\').replace(/`/g, '\\`') + '`';
}
