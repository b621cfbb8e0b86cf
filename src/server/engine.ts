// The embedded engine (chDB: ClickHouse 26.7 in-process) behind the server.
// chDB runs in this process and holds one session: every engine call goes
// through one queue (run()), so statements, SET/restore pairs and streams of
// different client connections never interleave.
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
}

export interface EngineResult {
  rows: number;
  bytes: number;
}

const CHDB_TSV_ESCAPE: Record<string, string> = { '\\\\': '\\', '\\0': '\0', '\\b': '\b', '\\f': '\f', '\\n': '\n', '\\r': '\r', '\\t': '\t' };

export class Engine {
  version = '';
  timezone = 'UTC';
  /** Every engine setting and its value when no query changes it. */
  readonly baseline = new Map<string, string>();
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private tmp: string;
  private seq = 0;

  private constructor(
    private readonly session: ChdbSession,
    private readonly addon: ChdbAddon | undefined,
  ) {
    this.tmp = mkdtempSync(join(tmpdir(), 'chwire-serve-'));
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
    let addon: ChdbAddon | undefined;
    try {
      // The addon is not a public entry point: reached through the package's own loader.
      const req = createRequire(import.meta.url);
      const main = req.resolve('chdb');
      addon = (req(join(dirname(main), 'dist', 'loader.js')) as { loadNative(): ChdbAddon }).loadNative();
      if (typeof addon?.QueryAsyncConnection !== 'function') addon = undefined;
    } catch {
      addon = undefined;
    }
    const session = options.dataDir ? new mod.Session(options.dataDir) : new mod.Session();
    const engine = new Engine(session, addon);
    await engine.run(async () => {
      if (options.settings && Object.keys(options.settings).length) {
        await session.queryAsync(`SET ${Object.entries(options.settings).map(([k, v]) => `${k} = ${sqlString(v)}`).join(', ')}`, { format: 'TSV' });
      }
      const info = (await session.queryAsync('SELECT version(), timezone()', { format: 'TSV' })).text().trim().split('\t');
      engine.version = info[0] ?? '';
      engine.timezone = info[1] ?? 'UTC';
      const rows = (await session.queryAsync('SELECT name, value FROM system.settings', { format: 'JSONCompactEachRow' })).text();
      for (const line of rows.split('\n')) {
        if (!line) continue;
        const [n, v] = JSON.parse(line) as [string, string];
        engine.baseline.set(n, v);
      }
    });
    return engine;
  }

  /** Run fn with exclusive use of the engine (calls are queued, one at a time). */
  run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new EngineError(1002, 'DB::Exception', 'DB::Exception: the server is shutting down'));
    const p = this.tail.then(fn);
    this.tail = p.catch(() => {});
    return p;
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
   * chunk (FORMAT Native: revision-0 blocks). Parameters are bound by the
   * engine from their text form, as a server binds protocol parameters.
   */
  async stream(
    sql: string,
    params: Record<string, string> | undefined,
    onChunk: (bytes: Uint8Array) => Promise<void> | void,
    signal?: AbortSignal,
    streaming = true,
  ): Promise<EngineResult> {
    let rows = 0;
    let bytes = 0;
    try {
      if (params && Object.keys(params).length) {
        let out: Uint8Array;
        if (this.addon?.QueryAsyncConnection) {
          const raw = await this.addon.QueryAsyncConnection(this.session.connection, sql, 'Native', params);
          out = raw.bytes;
        } else {
          // chdb re-escapes string parameters (TSV): undo that so the engine sees the text as sent.
          const unescaped: Record<string, string> = {};
          for (const [k, v] of Object.entries(params)) unescaped[k] = v.replace(/\\[\\0bfnrt]/g, (m) => CHDB_TSV_ESCAPE[m]!);
          out = (await this.session.queryBindAsync(sql, unescaped, { format: 'Native' })).bytes();
        }
        if (out.length) {
          bytes += out.length;
          await onChunk(out);
        }
        return { rows, bytes };
      }
      if (!streaming) {
        // Statements other than SELECT cannot stream in chDB: one result.
        const out = (await this.session.queryAsync(sql, { format: 'Native' })).bytes();
        if (out.length) await onChunk(out);
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
        if (b.length) await onChunk(b);
      }
      return { rows, bytes };
    } catch (e) {
      if (signal?.aborted) return { rows, bytes };
      throw toEngineError(e);
    }
  }

  /** Write bytes to a temp file for file(path, 'Native', …) (inside or outside run()). */
  async tempFile(bytes: Uint8Array): Promise<{ path: string; remove(): Promise<void> }> {
    const path = join(this.tmp, `${process.pid}-${++this.seq}.native`);
    await writeFile(path, bytes);
    return { path, remove: () => unlink(path).catch(() => {}) };
  }

  /** Release this user's reference; the last one waits for queued work and closes the session. */
  async close(): Promise<void> {
    if (this.closed) return;
    const sh = Engine.shared;
    if (sh && --sh.users > 0) return;
    Engine.shared = undefined;
    const last = this.tail;
    this.closed = true;
    await last.catch(() => {});
    this.session.close();
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
