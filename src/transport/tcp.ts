// Native protocol over node:net / node:tls: drives the sans-IO Connection,
// with a pool, failover, backpressure, deadlines and server-side cancel.
import * as net from 'node:net';
import * as tls from 'node:tls';
import * as os from 'node:os';
import { Connection, type ConnectionEvent, type QueryRequest } from '../core/connection/connection.js';
import { ChwireError, EncodeError } from '../core/errors.js';
import type { ValueOptions } from '../core/columns/column.js';
import { NativeStreamDecoder } from '../core/native/reader.js';
import type { Block } from '../core/native/block-types.js';
import { bindQueryParams, encodeQueryParameters, formatSqlLiteral, quoteIdentifier } from '../core/protocol/params.js';
import { formatClientName } from '../core/protocol/client-name.js';
import { has } from '../core/protocol/revision.js';
import type { Setting } from '../core/protocol/common.js';
import type { CodecSet } from '../core/compression/codec.js';
import { ClickHouseError, ConnectionError, TimeoutError, AbortError, ClientError } from '../client/errors.js';
import type { Endpoint } from '../client/client.js';
import {
  type ClientOptions,
  type ColumnMeta,
  type InsertRequest,
  type InsertSummary,
  type QueryEvent,
  type QueryHandle,
  type QueryParams,
  type QuerySummary,
  type Settings,
  type Transport,
  addProgress,
  emptyProgress,
} from '../client/types.js';
import { createNodeCodecs } from './compression.js';
import { logEntries } from '../client/result-set.js';
import { InactivityDeadline, SessionTurns, changesSession, isInsertStatement, newQueryId, untilStopped, quoteTable, settingText, valuesCopiedFor, type RecycleControl } from './common.js';

/** Blocks buffered ahead of the consumer before the socket is paused. */
const HIGH_WATER_EVENTS = 16;
/** Size of the reused socket read buffer (plain TCP). */
const READ_BUFFER_BYTES = 64 * 1024;
/** Inbound buffers are allocated at least this large, so consecutive blocks share one. */
const INPUT_SLAB_BYTES = 1024 * 1024;
/** How long a failed host is skipped. */
const HOST_COOLDOWN_MS = 10_000;
/** A session_id's connection is closed (its server session ends) after this long unused. */
const SESSION_IDLE_MS = 60_000;

/** `p`, or a TimeoutError after `ms`, or an AbortError on `signal`. */
function waitFor(p: Promise<void>, signal: AbortSignal | undefined, ms: number, what: string): Promise<void> {
  if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
  return new Promise<void>((resolve, reject) => {
    const finish = (e?: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (e) reject(e);
      else resolve();
    };
    const onAbort = () => finish(new AbortError(undefined, { cause: signal?.reason }));
    const timer = setTimeout(() => finish(new TimeoutError(what)), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(() => finish(), () => finish());
  });
}

/** How long to wait for EndOfStream after Cancel before dropping the connection. */
const CANCEL_DRAIN_MS = 5_000;

function parseApplication(app?: string): { name: string; version?: string } | undefined {
  if (!app) return undefined;
  const i = app.lastIndexOf('/');
  return i > 0 ? { name: app.slice(0, i), version: app.slice(i + 1) } : { name: app };
}

/** One socket driving one Connection. Requests are serialized by the pool. */
class NodeConnection {
  readonly conn: Connection;
  private socket!: net.Socket;
  private events: ConnectionEvent[] = [];
  private waiter: (() => void) | undefined;
  private error: unknown;
  private paused = false;
  closed = false;
  lastUsed = Date.now();
  /** Set when per-query settings were applied with SET (old servers): the session is no longer clean. */
  dirty = false;
  /** The session_id this connection serves (its server session is that session's state). */
  session: string | undefined;
  /** Called once when the pool takes this connection back (a session's next request may go). */
  onRelease: (() => void) | undefined;
  /** Inactivity deadline (request_timeout), armed while a request runs; it runs while someone waits. */
  private deadline: InactivityDeadline | undefined;

  constructor(
    readonly endpoint: Endpoint,
    private readonly options: ClientOptions,
    codecs: CodecSet | undefined,
  ) {
    const app = parseApplication(options.application);
    this.conn = new Connection({
      user: endpoint.username ?? 'default',
      password: endpoint.password ?? '',
      database: endpoint.database ?? '',
      clientName: formatClientName(app),
      compression: options.compression ?? 'none',
      ...(codecs ? { codecs } : {}),
      valueOptions: pickValueOptions(options),
      alloc: (n) => Buffer.allocUnsafeSlow(n),
      inputSlab: INPUT_SLAB_BYTES,
      osUser: safeUser(),
      hostname: os.hostname(),
    });
  }

  get revision(): number {
    return this.conn.revision;
  }

  async open(): Promise<void> {
    const ep = this.endpoint;
    const timeout = this.options.connect_timeout ?? 10_000;
    await new Promise<void>((resolve, reject) => {
      let done = false;
      const fail = (e: unknown) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        // The server refused the handshake (wrong password, unknown database) and closed: its
        // Exception, when it arrived, is the error — not the socket error that follows it.
        const ex = this.events.find((x) => x.type === 'exception');
        this.destroy();
        reject(ex?.type === 'exception' ? serverError(ex.exception) : e);
      };
      const timer = setTimeout(() => fail(new TimeoutError(`connecting to ${ep.host}:${ep.port} timed out after ${timeout} ms`)), timeout);
      const onConnect = () => {
        this.socket.setNoDelay(true);
        this.socket.setKeepAlive(true, 30_000);
        this.flush();
        this.wait()
          .then(() => {
            if (done) return;
            if (this.events[0]?.type !== 'hello') return fail(new ConnectionError(`no server Hello from ${ep.host}:${ep.port}`));
            done = true;
            clearTimeout(timer);
            resolve();
          })
          .catch(fail);
      };
      if (ep.scheme === 'tcps') {
        const t = this.options.tls ?? {};
        const opts: tls.ConnectionOptions = {
          host: ep.host,
          port: ep.port,
          servername: t.servername ?? (net.isIP(ep.host) ? undefined : ep.host),
          rejectUnauthorized: t.reject_unauthorized ?? true,
        };
        if (t.ca_cert) opts.ca = toPem(t.ca_cert);
        if (t.cert) opts.cert = toPem(t.cert);
        if (t.key) opts.key = toPem(t.key);
        try {
          this.socket = tls.connect(opts, onConnect);
        } catch (e) {
          // Bad TLS material (a key that does not match its certificate, unreadable PEM) throws here.
          const msg = e instanceof Error ? e.message : String(e);
          clearTimeout(timer);
          done = true;
          this.closed = true;
          reject(new ConnectionError(`TLS setup for ${ep.host}:${ep.port} failed: ${msg}`, { cause: e }, 'CHWIRE_TLS'));
          return;
        }
      } else {
        // The kernel copies straight into the Connection's inbound buffer (already sized and
        // aligned for the block being read): one copy per byte, no allocation per read.
        // While chunked framing is undone, reads go to a reused scratch buffer instead.
        const scratch = Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
        let target: Uint8Array | undefined;
        const buffer = (): Uint8Array => (target = this.conn.readTarget(READ_BUFFER_BYTES)) ?? scratch;
        const callback = (n: number, b: Uint8Array): boolean => (b === target ? this.onBytes(undefined, n) : this.onBytes(b.subarray(0, n), n));
        this.socket = net.connect({ host: ep.host, port: ep.port, onread: { buffer, callback } }, onConnect);
      }
      this.attach(fail);
    });
    // Hello consumed by wait(): the connection is idle now.
    this.events = [];
  }

  private attach(onEarlyError: (e: unknown) => void): void {
    const s = this.socket;
    s.on('data', (chunk: Buffer) => this.onBytes(chunk, -1));
    s.on('error', (e: Error) => {
      const err = new ConnectionError(`connection to ${this.endpoint.host}:${this.endpoint.port} failed: ${e.message}`, { cause: e }, (e as { code?: string }).code === 'ECONNREFUSED' ? 'CHWIRE_CONNECTION_REFUSED' : 'CHWIRE_CONNECTION');
      this.error ??= err;
      this.conn.fail(err);
      onEarlyError(err);
      this.wake();
    });
    s.on('close', () => {
      this.closed = true;
      if (!this.error) {
        this.error = new ConnectionError(`the server ${this.endpoint.host}:${this.endpoint.port} closed the connection`, undefined, 'CHWIRE_CONNECTION_CLOSED');
        this.conn.fail(this.error);
      }
      onEarlyError(this.error);
      this.wake();
    });
  }

  /**
   * Inbound bytes: a chunk of its own (n = -1, may be kept without a copy), a
   * reused scratch chunk (n ≥ 0, copied), or n bytes the socket wrote in place
   * into the Connection's buffer (chunk undefined). Returns false to pause reading.
   */
  private onBytes(chunk: Uint8Array | undefined, n: number): boolean {
    // A waiter is woken for events or an error only, not for bytes that complete nothing
    // (most reads of a large block): touch() keeps its deadline moving meanwhile.
    let wake = false;
    if (this.closed) return false; // shut down: what still arrives is not read
    try {
      const evs = chunk ? this.conn.receive(chunk, n >= 0) : this.conn.received(n);
      if (evs.length) {
        for (const e of evs) this.events.push(e);
        if (this.events.length >= HIGH_WATER_EVENTS && !this.paused) {
          this.paused = true;
          this.socket.pause();
        }
        wake = true;
      }
      this.touch();
    } catch (e) {
      this.error = e;
      this.destroy();
      wake = true;
    }
    if (wake) this.wake();
    return !this.paused;
  }

  private wake(): void {
    const w = this.waiter;
    if (!w) return;
    this.waiter = undefined;
    // Nobody waits any more: the deadline pauses until the next wait touches it.
    this.deadline?.pause();
    w();
  }

  /** Wait for at least one event (or an error). */
  private wait(): Promise<void> {
    if (this.events.length || this.error) return this.error && !this.events.length ? Promise.reject(this.error) : Promise.resolve();
    // We wait for the server now: the inactivity deadline runs (only) while someone waits.
    this.deadline?.touch();
    return new Promise<void>((resolve, reject) => {
      this.waiter = () => {
        if (this.events.length) resolve();
        else if (this.error) reject(this.error);
        else resolve();
      };
    });
  }

  /** The next event, waiting for bytes as needed. */
  async next(): Promise<ConnectionEvent> {
    while (!this.events.length) await this.wait();
    return this.take();
  }

  get hasEvent(): boolean {
    return this.events.length > 0;
  }

  /** Resolves when an event may be available (check hasEvent), rejects on a connection error; consumes nothing. */
  ready(): Promise<void> {
    return this.events.length ? Promise.resolve() : this.wait();
  }

  /** Wake a caller waiting in ready()/next() (it re-checks its own stop condition). */
  interrupt(): void {
    this.wake();
  }

  /** Take the next queued event (hasEvent must be true); resumes a paused socket when the queue drained. */
  take(): ConnectionEvent {
    const e = this.events.shift()!;
    if (this.paused && this.events.length < HIGH_WATER_EVENTS / 2) {
      this.paused = false;
      this.socket.resume();
    }
    return e;
  }

  /** Write pending output; resolves when the socket accepted it (backpressure). */
  flush(): Promise<void> {
    const parts = this.conn.takeOutput();
    if (!parts.length || this.closed) return Promise.resolve();
    let ok = true;
    // Several parts (e.g. Query + the empty Data block that ends it) leave in one writev.
    if (parts.length > 1) this.socket.cork();
    for (const p of parts) ok = this.socket.write(p);
    if (parts.length > 1) this.socket.uncork();
    if (ok) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.socket.off('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.off('drain', onDrain);
        reject(this.error);
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  /**
   * Arm the inactivity deadline (request_timeout): it fires when no byte arrives for `ms` while
   * the caller waits for the server. Time the caller spends elsewhere (a slow consumer, with the
   * socket paused or the whole result already received) does not count.
   */
  armDeadline(ms: number, onFire: () => void): void {
    this.deadline?.clear();
    this.deadline = new InactivityDeadline(ms, onFire);
    if (this.waiter) this.deadline.touch();
  }
  disarmDeadline(): void {
    this.deadline?.clear();
    this.deadline = undefined;
  }
  private touch(): void {
    this.lastUsed = Date.now();
    // Bytes arrived: activity. The deadline of a caller still waiting (partial packet) restarts.
    if (this.waiter) this.deadline?.touch();
  }

  /**
   * Open, idle and with nothing unread (whatever SETs ran on it). conn.reusable: an exception
   * before any Data packet may leave our trailing block unread (see Connection).
   */
  get cleanIdle(): boolean {
    return !this.closed && !this.error && this.conn.state === 'idle' && this.conn.reusable && this.events.length === 0;
  }

  get usable(): boolean {
    return this.cleanIdle && !this.dirty;
  }

  destroy(): void {
    this.closed = true;
    this.disarmDeadline();
    this.socket?.destroy();
  }

  /** End the connection under its user: events not yet taken are dropped and every wait rejects with `err`. */
  shutdown(err: Error): void {
    // A running SELECT gets Cancel before the socket closes: a server busy computing may notice
    // a closed socket only much later. (Not an INSERT: Cancel there ends its data normally.)
    const cancel = this.conn.state === 'query' && !this.closed;
    if (cancel) {
      try {
        this.conn.cancel();
        for (const part of this.conn.takeOutput()) this.socket.write(part);
        this.socket.end();
      } catch {
        /* closing anyway */
      }
      const s = this.socket;
      setTimeout(() => s.destroy(), 1000).unref();
    }
    this.error ??= err;
    this.events = [];
    this.conn.fail(err);
    this.closed = true;
    this.disarmDeadline();
    if (!cancel) this.socket?.destroy();
    this.wake();
  }
}

function toPem(v: string | Uint8Array): string | Buffer {
  return typeof v === 'string' ? v : Buffer.from(v);
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return '';
  }
}

function pickValueOptions(o: ClientOptions): ValueOptions {
  const out: ValueOptions = {};
  if (o.int64) out.int64 = o.int64;
  if (o.decimal) out.decimal = o.decimal;
  if (o.dates) out.dates = o.dates;
  if (o.strings) out.strings = o.strings;
  if (o.maps) out.maps = o.maps;
  if (o.arrays) out.arrays = o.arrays;
  return out;
}

/** Protocol Progress (fields gated by revision) → the client's, zeros where absent. */
function clientProgress(p: import('../core/protocol/server-packets.js').Progress): import('../client/types.js').Progress {
  return {
    rows: p.rows,
    bytes: p.bytes,
    totalRows: p.totalRows ?? 0,
    totalBytes: p.totalBytes ?? 0,
    writtenRows: p.writtenRows ?? 0,
    writtenBytes: p.writtenBytes ?? 0,
    elapsedNs: p.elapsedNs ?? 0,
  };
}

function serverError(e: { code: number; name: string; message: string; stackTrace?: string; nested?: unknown }): ClickHouseError {
  return new ClickHouseError(e as ConstructorParameters<typeof ClickHouseError>[0]);
}

/** Hands a connection (or an error) to an acquire(); false when that acquire() already gave up. */
type Waiter = (c: NodeConnection | Error) => boolean;

/** Connection pool over one or more hosts with failover. Invariant: `open` counts idle, lent and connecting connections. */
class Pool {
  private idle: NodeConnection[] = [];
  /** session_id → the connection holding that server session. */
  private readonly sessions = new Map<string, NodeConnection>();
  private readonly turns = new SessionTurns();
  /** Connections handed out and not yet released (close() ends them). */
  private readonly busy = new Set<NodeConnection>();
  private open = 0;
  /** Queued acquire() calls; each leaves the queue when it gives up (abort, timeout). */
  private waiters: Waiter[] = [];
  private failedUntil = new Map<string, number>();
  private next = 0;
  private closed = false;
  private sweeper: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly endpoints: Endpoint[],
    private readonly options: ClientOptions,
    private readonly codecs: CodecSet | undefined,
  ) {
    const ttl = options.idle_socket_ttl ?? 10_000;
    this.sweeper = setInterval(() => this.sweep(ttl), Math.max(100, Math.min(ttl, 1000)));
    this.sweeper.unref?.();
  }

  private get max(): number {
    return Math.max(1, this.options.max_open_connections ?? 10);
  }

  private sweep(ttl: number): void {
    const now = Date.now();
    for (const [id, c] of this.sessions) if (!this.turns.busy(id) && now - c.lastUsed > SESSION_IDLE_MS) this.endSession(id);
    this.idle = this.idle.filter((c) => {
      if (now - c.lastUsed > ttl || !c.usable) {
        this.open--;
        c.destroy();
        return false;
      }
      return true;
    });
  }

  /** Endpoints in the order to try (skipping recently failed ones unless all failed). */
  private order(): Endpoint[] {
    const now = Date.now();
    let list = this.endpoints;
    if (this.options.host_selection === 'round_robin' && list.length > 1) {
      const k = this.next++ % list.length;
      list = [...list.slice(k), ...list.slice(0, k)];
    }
    const healthy = list.filter((e) => (this.failedUntil.get(`${e.host}:${e.port}`) ?? 0) <= now);
    const cooling = list.filter((e) => (this.failedUntil.get(`${e.host}:${e.port}`) ?? 0) > now);
    return [...healthy, ...cooling];
  }

  private async connect(): Promise<NodeConnection> {
    let last: unknown;
    for (const ep of this.order()) {
      const c = new NodeConnection(ep, this.options, this.codecs);
      try {
        await c.open();
        this.failedUntil.delete(`${ep.host}:${ep.port}`);
        await this.applyClientSettings(c);
        return c;
      } catch (e) {
        last = e;
        c.destroy();
        // A server exception during the handshake (bad password, unknown database) is not a host failure.
        if (e instanceof ClickHouseError) throw e;
        this.failedUntil.set(`${ep.host}:${ep.port}`, Date.now() + HOST_COOLDOWN_MS);
      }
    }
    throw last instanceof Error ? last : new ConnectionError('no host could be reached');
  }

  /** Old servers (< 54429) take no settings in the Query packet: client-wide ones are SET once per connection. */
  private async applyClientSettings(c: NodeConnection): Promise<void> {
    const s = connectionSettings(this.options);
    if (!s || has(c.revision, 'DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS')) return;
    const sql = setStatement(s);
    if (sql) await runToEnd(c, { query: sql }, this.options.request_timeout);
  }

  async acquire(signal?: AbortSignal, session?: string): Promise<NodeConnection> {
    if (session !== undefined) return this.acquireSession(session, signal);
    const c = await this.take(signal);
    if (this.closed) {
      this.release(c);
      throw new ClientError('the client is closed', 'CHWIRE_CLIENT_CLOSED');
    }
    this.busy.add(c);
    return c;
  }

  /**
   * session_id over TCP: a server session is a connection, so a session keeps one connection
   * of the pool for itself (SET, USE and temporary tables live on it); its requests run one at
   * a time, in order. The session ends when that connection breaks or stays unused for
   * SESSION_IDLE_MS (as ClickHouse's HTTP sessions end after session_timeout, 60 s by default).
   */
  private async acquireSession(id: string, signal?: AbortSignal): Promise<NodeConnection> {
    if (this.closed) throw new ClientError('the client is closed', 'CHWIRE_CLIENT_CLOSED');
    // Queue behind the session's running request (bounded by request_timeout, like a pool wait).
    const { before, leave } = this.turns.join(id);
    try {
      const timeout = this.options.request_timeout ?? 30_000;
      await waitFor(before, signal, timeout, `session '${id}' stayed busy for ${timeout} ms`);
      let c = this.sessions.get(id);
      if (c && !c.cleanIdle) {
        // Broken while unused (the server closed it): the session's state is gone; a new one starts.
        this.endSession(id);
        c = undefined;
      }
      if (!c) {
        c = await this.take(signal);
        c.session = id;
        this.sessions.set(id, c);
      }
      if (this.closed) throw new ClientError('the client is closed', 'CHWIRE_CLIENT_CLOSED');
      this.busy.add(c);
      c.onRelease = leave;
      return c;
    } catch (e) {
      leave();
      throw e;
    }
  }

  /** Forget a session, closing its connection unless a request still holds it. */
  private endSession(id: string): void {
    const c = this.sessions.get(id);
    this.sessions.delete(id);
    if (c && !this.busy.has(c)) this.drop(c);
  }

  /** A connection leaves the pool: its slot is free for the next waiter. */
  private drop(c: NodeConnection): void {
    this.open--;
    c.destroy();
    this.wakeWaiter();
  }

  private async take(signal?: AbortSignal): Promise<NodeConnection> {
    if (this.closed) throw new ClientError('the client is closed', 'CHWIRE_CLIENT_CLOSED');
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    while (this.idle.length) {
      const c = this.idle.pop()!;
      if (c.usable) return c;
      this.open--;
      c.destroy();
    }
    return new Promise<NodeConnection>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const waiter: Waiter = (c) => {
        if (settled) return false;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (c instanceof Error) reject(c);
        else resolve(c);
        return true;
      };
      const giveUp = (e: Error) => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter(e);
      };
      const onAbort = () => giveUp(new AbortError(undefined, { cause: signal?.reason }));
      signal?.addEventListener('abort', onAbort, { once: true });
      // A free slot: connect now (bounded by connect_timeout). Otherwise wait for a release.
      if (this.open < this.max) return this.openFor(waiter);
      const timeout = this.options.request_timeout ?? 30_000;
      timer = setTimeout(() => giveUp(new TimeoutError(`no connection became free within ${timeout} ms (max_open_connections = ${this.max})`)), timeout);
      this.waiters.push(waiter);
    });
  }

  /**
   * Open a connection for `w` in a slot counted from now on. If `w` gave up meanwhile (abort,
   * timeout), the connection goes to the next waiter or to idle: a counted slot is never orphaned.
   */
  private openFor(w: Waiter): void {
    this.open++;
    this.connect().then(
      (c) => {
        if (!w(c)) this.give(c);
      },
      (e: unknown) => {
        this.open--;
        w(e instanceof Error ? e : new ConnectionError(String(e)));
        this.wakeWaiter();
      },
    );
  }

  /** A slot became free: open a connection for the first waiter. */
  private wakeWaiter(): void {
    if (this.closed || this.open >= this.max) return;
    const w = this.waiters.shift();
    if (w) this.openFor(w);
  }

  /** A usable connection (counted in `open`) to the first waiter still waiting, else to idle. */
  private give(c: NodeConnection): void {
    if (this.closed) {
      this.open--;
      c.destroy();
      return;
    }
    c.lastUsed = Date.now();
    for (let w = this.waiters.shift(); w; w = this.waiters.shift()) if (w(c)) return;
    this.idle.push(c);
  }

  release(c: NodeConnection): void {
    this.busy.delete(c);
    c.disarmDeadline();
    if (c.session !== undefined) {
      // A session's connection stays with the session (per-query SETs included) until it breaks.
      const next = c.onRelease;
      c.onRelease = undefined;
      c.lastUsed = Date.now();
      const own = this.sessions.get(c.session) === c;
      // `dirty` does not matter here: the session is the user's own state.
      if (!own || this.closed || !c.cleanIdle) {
        if (own) this.sessions.delete(c.session);
        this.drop(c);
      }
      next?.();
      return;
    }
    if (!c.usable || this.closed) {
      this.drop(c);
      return;
    }
    this.give(c);
  }

  close(): void {
    this.closed = true;
    for (const c of this.sessions.values()) if (!this.busy.has(c)) this.drop(c);
    this.sessions.clear();
    clearInterval(this.sweeper);
    for (const c of this.idle) c.destroy();
    this.idle = [];
    for (const w of this.waiters.splice(0)) w(new ClientError('the client is closed', 'CHWIRE_CLIENT_CLOSED'));
    // Requests still running end now: their sockets close, so the server stops their queries
    // (and an INSERT without its end-of-data block commits nothing more).
    for (const c of this.busy) c.shutdown(new ClientError('the client was closed while this request ran', 'CHWIRE_CLIENT_CLOSED'));
  }
}

/**
 * Settings every request of this client carries: the user's clickhouse_settings, and for
 * compression 'zstd' the server's network_compression_method (the Query packet's compression
 * flag only says on/off; the server picks the method of its own frames from this setting,
 * LZ4 by default). A user's own network_compression_method wins.
 */
function connectionSettings(o: ClientOptions): Settings | undefined {
  if (o.compression !== 'zstd') return o.clickhouse_settings;
  return { network_compression_method: 'zstd', ...o.clickhouse_settings };
}

function setStatement(s: Settings): string | undefined {
  const parts = Object.entries(s)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${quoteIdentifier(k)} = ${typeof v === 'string' ? formatSqlLiteral(v) : settingText(v)}`);
  return parts.length ? `SET ${parts.join(', ')}` : undefined;
}

/**
 * After Cancel (or for a query the consumer abandoned): send Cancel if not yet sent and read
 * to EndOfStream/Exception. Drains by *events*, not by conn.state: the state turns idle as soon
 * as EndOfStream is parsed while its events (and data before it) may still sit in the queue —
 * leaving them would hand a stale result to the next query on this connection. Never throws;
 * a connection that cannot be drained within CANCEL_DRAIN_MS is destroyed.
 */
async function drainAfterCancel(c: NodeConnection): Promise<void> {
  const timer = setTimeout(() => c.destroy(), CANCEL_DRAIN_MS);
  timer.unref?.();
  try {
    c.disarmDeadline();
    if (c.conn.state !== 'cancelling' && c.conn.state !== 'idle') c.conn.cancel();
    await c.flush();
    for (;;) {
      const e = await c.next();
      if (e.type === 'endOfStream' || e.type === 'exception') break;
    }
  } catch {
    c.destroy();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * While an INSERT sends blocks: take what the server sent meanwhile (progress, logs); an
 * exception means the server ended the INSERT, and is thrown.
 */
function serverSaid(c: NodeConnection, progress: import('../client/types.js').Progress): void {
  while (c.hasEvent) {
    const e = c.take();
    if (e.type === 'exception') throw serverError(e.exception);
    if (e.type === 'progress') addProgress(progress, clientProgress(e.progress));
  }
}

/** Run a statement to its end, discarding data; throws a server exception. */
async function runToEnd(c: NodeConnection, q: QueryRequest, timeoutMs?: number): Promise<void> {
  c.conn.query(q);
  await c.flush();
  if (timeoutMs) c.armDeadline(timeoutMs, () => c.destroy());
  for (;;) {
    const e = await c.next();
    if (e.type === 'exception') throw serverError(e.exception);
    if (e.type === 'endOfStream') return;
  }
}

const DONE: IteratorResult<never> = { value: undefined as never, done: true };

/**
 * One query on a pooled connection, as an async iterator of its events; abort and
 * timeout send a real Cancel. Written by hand rather than as an async generator: a
 * queued event is handed out with one resolved promise, where generator layers cost
 * several promises and microtask turns per block (a fast SELECT gets thousands).
 */
class TcpQuery implements AsyncIterator<QueryEvent> {
  private c: NodeConnection | undefined;
  /** 'open' while the query runs and events flow; 'done' once cleaned up. */
  private phase: 'new' | 'starting' | 'open' | 'done' = 'new';
  /** The Query packet went out. */
  private sent = false;
  /** The server ended the query (EndOfStream or Exception taken). */
  private finished = false;
  /** True while the connection is ours; nothing here may touch it after it went back. */
  private owned = false;
  /** A background drain owns the connection and gives it back (even if nobody reads on). */
  private draining = false;
  /** Why the query stopped early (abort, timeout); surfaced by the next next(). */
  private stop: Error | undefined;
  private onStop: (() => void) | undefined;
  /** The data block handed out last: released (with recycling) when the next event is asked for. */
  private lastData: Block | undefined;
  /** A next() in progress; another next() or return() waits for it (as with an async generator). */
  private busy: Promise<unknown> | undefined;
  private readonly onAbort = () => this.cancel(new AbortError(undefined, { cause: this.signal?.reason }));

  constructor(
    private readonly pool: Pool,
    private readonly options: ClientOptions,
    private readonly request: (c: NodeConnection) => { req: QueryRequest; setSql?: string },
    private readonly signal: AbortSignal | undefined,
    private readonly ctl: RecycleControl,
    /** A read that fails before any event reached the caller is retried once on a fresh connection. */
    private readonly retry: boolean,
    /** The statement is an INSERT: a Data packet from the server is then its header, asking for rows. */
    private readonly insert = false,
    /** session_id: run on that session's connection. */
    private readonly session?: string,
  ) {}

  next(): Promise<IteratorResult<QueryEvent>> {
    // The common case, a running query with nobody else waiting: pump() hands out a queued event
    // at once, or tracks its own wait for the server (see busy).
    if (this.phase === 'open' && !this.busy) return this.pump();
    return this.track(this.busy ? this.busy.then(() => this.step(), () => this.step()) : this.step());
  }

  private track(p: Promise<IteratorResult<QueryEvent>>): Promise<IteratorResult<QueryEvent>> {
    this.busy = p;
    const clear = () => {
      if (this.busy === p) this.busy = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  private step(): Promise<IteratorResult<QueryEvent>> {
    if (this.phase === 'done') return Promise.resolve(DONE);
    if (this.phase === 'open') return this.pump();
    return this.start().then(
      () => this.pump(),
      (e: unknown) => this.fail(e),
    );
  }

  return(): Promise<IteratorResult<QueryEvent>> {
    const end = (): IteratorResult<QueryEvent> => {
      this.cleanup();
      return DONE;
    };
    return this.busy ? this.busy.then(end, end) : Promise.resolve(end());
  }

  /** Acquire a connection, send the query and wait for its first event (retried once, see `retry`). */
  private async start(): Promise<void> {
    this.phase = 'starting';
    for (let attempt = 0; ; attempt++) {
      try {
        await this.open();
        const c = this.c!;
        while (!this.stop && !c.hasEvent) await c.ready();
        if (this.stop) throw this.stop;
        this.phase = 'open';
        return;
      } catch (e) {
        const stopped = this.stop;
        this.cleanup();
        if (!this.retry || attempt > 0 || stopped || this.draining || !(e instanceof ConnectionError) || e.code === 'CHWIRE_CONNECTION_REFUSED' || this.signal?.aborted) throw e;
        // Again, from scratch, on a fresh connection.
        this.phase = 'starting';
        this.c = undefined;
        this.sent = this.finished = this.draining = false;
      }
    }
  }

  private async open(): Promise<void> {
    const signal = this.signal;
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const c = await this.pool.acquire(signal, this.session);
    this.c = c;
    this.owned = true;
    const stopped = new Promise<void>((r) => (this.onStop = r));
    if (signal?.aborted) this.onAbort();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
    if (this.stop) throw this.stop;
    const { req, setSql } = this.request(c);
    if (setSql) {
      c.dirty = true; // dropped at release from now on, so the SET may be abandoned mid-way
      const set = runToEnd(c, { query: setSql }, this.options.request_timeout);
      set.catch(() => {}); // may lose the race below
      await Promise.race([set, stopped]);
    }
    if (this.stop) throw this.stop;
    const timeout = this.options.request_timeout ?? 30_000;
    c.armDeadline(timeout, () => this.cancel(new TimeoutError(`no data from the server for ${timeout} ms (request_timeout)`)));
    // Data blocks' buffers are recycled once released: with reuse_buffers, or once the
    // consumer said it copies values out (blocks already decoded stay pinned).
    c.conn.recycleBlocks = this.ctl.recycle;
    this.ctl.reader = c.conn;
    c.conn.query(req);
    this.sent = true;
    await c.flush();
  }

  /** The next event: at once when one is queued, else when the server sends it (or the query stops). */
  private pump(): Promise<IteratorResult<QueryEvent>> {
    const c = this.c!;
    const last = this.lastData;
    if (last) {
      this.lastData = undefined;
      // The consumer asked for more: with recycling, that block's buffers may now be reused.
      if (this.owned && c.conn.recycleBlocks) c.conn.releaseBlock(last);
    }
    try {
      for (;;) {
        if (this.stop) throw this.stop;
        // Wait for an event or for abort/timeout, whichever comes first (cancel() interrupts
        // the wait): the caller gets its error at once, the drain goes on in the background.
        if (!c.hasEvent) {
          const p = c.ready().then(
            () => this.pump(),
            (e: unknown) => this.fail(e),
          );
          // A wait in progress: a return() (or another next()) waits for it, as with an async generator.
          return this.busy ? p : this.track(p);
        }
        const e = c.take();
        switch (e.type) {
          case 'data':
            // An INSERT … SELECT ends with a block of no columns; a header naming columns asks for rows.
            if (this.insert && e.block.columns.length > 0) this.refuseInsertData(c);
            this.lastData = e.block;
            return Promise.resolve({ value: { type: 'data', block: e.block }, done: false });
          case 'totals':
          case 'extremes':
          case 'log':
          case 'profileEvents':
            return Promise.resolve({ value: { type: e.type, block: e.block }, done: false });
          case 'progress':
            return Promise.resolve({ value: { type: 'progress', progress: clientProgress(e.progress) }, done: false });
          case 'profileInfo':
            return Promise.resolve({ value: { type: 'profileInfo', info: e.info }, done: false });
          case 'exception':
            this.finished = true;
            throw serverError(e.exception);
          case 'endOfStream':
            this.finished = true;
            this.cleanup();
            return Promise.resolve(DONE);
        }
      }
    } catch (e) {
      return this.fail(e);
    }
  }

  /**
   * An INSERT run as a query got the server's header: the server waits for Data blocks, which
   * query()/command() have none of. Before revision 54415 the server ignores rows written in the
   * query text (ClickHouse's own client parses them and sends blocks). The connection is dropped
   * without the end-of-data block, so the server commits nothing of this INSERT.
   */
  private refuseInsertData(c: NodeConnection): never {
    this.finished = true;
    c.destroy();
    const old = !has(c.revision, 'DBMS_MIN_REVISION_WITH_CLIENT_SUPPORT_EMBEDDED_DATA');
    throw new ClientError(
      (old
        ? `this server (protocol revision ${c.revision}) does not read rows written inside an INSERT's text over the native protocol`
        : 'the server waits for the rows of this INSERT, and its text has none') +
        ': pass the rows to client.insert({ table, values }) (or columns, or Native bytes), or use INSERT … SELECT; nothing was inserted',
      'CHWIRE_INSERT_NEEDS_DATA',
    );
  }

  /** End with an error: the stop reason when we stopped (a server exception stays itself). */
  private fail(e: unknown): Promise<never> {
    this.cleanup();
    return Promise.reject(this.stop && !(e instanceof ClickHouseError) ? this.stop : e);
  }

  private cancel(err: Error): void {
    if (this.stop || this.finished || !this.owned) return;
    this.stop = err;
    this.onStop?.();
    // A wait for the server sees `stop` now (before any drain waits on this connection).
    this.c?.interrupt();
    // Once the query is out, Cancel + drain start now, not when (if ever) the consumer resumes.
    if (this.sent) this.drain();
  }

  private drain(): void {
    if (this.draining || !this.owned) return;
    this.draining = true;
    const c = this.c!;
    void drainAfterCancel(c).finally(() => this.giveBack(c));
  }

  private giveBack(c: NodeConnection): void {
    if (!this.owned || this.c !== c) return;
    this.owned = false;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.ctl.reader = undefined;
    c.conn.recycleBlocks = false;
    c.conn.releaseAllBlocks();
    this.pool.release(c);
  }

  /**
   * The query is over for us (ended, failed, or the consumer left): a query still running is
   * cancelled and drained in the background; the connection returns to the pool once the
   * server ended it, or is dropped. Idempotent.
   */
  private cleanup(): void {
    this.phase = 'done';
    this.lastData = undefined;
    const c = this.c;
    if (!c || this.draining || !this.owned) return;
    if (this.sent && !this.finished && !c.closed && c.conn.state !== 'broken') this.drain();
    else this.giveBack(c);
  }
}

export class TcpTransport implements Transport {
  readonly kind = 'tcp' as const;
  private readonly pool: Pool;

  constructor(
    endpoints: Endpoint[],
    private readonly options: ClientOptions,
    codecs: CodecSet | undefined,
  ) {
    this.pool = new Pool(endpoints, options, codecs);
  }

  /** Build the Query packet fields for this connection's revision. */
  private request(c: NodeConnection, p: QueryParams, queryId: string): { req: QueryRequest; setSql?: string } {
    const rev = c.revision;
    // Without session_id a statement's session state dies with it (as over HTTP): the pool
    // drops this connection afterwards rather than hand SETs or temporary tables to whoever is next.
    if (p.session_id === undefined && changesSession(p.query)) c.dirty = true;
    let query = p.query;
    let parameters: Setting[] | undefined;
    if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_PARAMETERS')) {
      if (p.query_params && Object.keys(p.query_params).length) parameters = encodeQueryParameters(p.query_params as never, undefined, p.query);
    } else if (query.includes('{')) {
      // Bound here, also without query_params: a placeholder left unbound is named (CHWIRE_MISSING_PARAM).
      query = bindQueryParams(query, (p.query_params ?? {}) as never);
    }
    const settings: Setting[] = [];
    let setSql: string | undefined;
    if (has(rev, 'DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS')) {
      // Type names must arrive as text; flags 0 so a server that does not know the setting ignores it.
      settings.push({ name: 'output_format_native_encode_types_in_binary_format', value: '0', flags: 0 });
      if (this.options.compression === 'zstd' && p.clickhouse_settings?.network_compression_method === undefined)
        settings.push({ name: 'network_compression_method', value: 'zstd', flags: 1 });
      for (const [k, v] of Object.entries(p.clickhouse_settings ?? {})) if (v !== undefined) settings.push({ name: k, value: settingText(v), flags: 1 });
    } else {
      // Client-wide settings were SET on connect; per-query ones that differ need SET now.
      const base = connectionSettings(this.options) ?? {};
      const extra: Settings = {};
      for (const [k, v] of Object.entries(p.clickhouse_settings ?? {})) if (v !== undefined && base[k] !== v) extra[k] = v;
      setSql = setStatement(extra);
    }
    const req: QueryRequest = { query, queryId, settings };
    if (parameters) req.parameters = parameters;
    return setSql ? { req, setSql } : { req };
  }

  /**
   * A statement's events (query() and command()). A read that failed before any event (a stale
   * pooled socket) is retried once on a fresh connection — never an INSERT (its rows may have been
   * committed), never within a session (its state would be lost).
   */
  private statement(p: QueryParams, queryId: string, ctl: RecycleControl): TcpQuery {
    const insert = isInsertStatement(p.query);
    return new TcpQuery(this.pool, this.options, (c) => this.request(c, p, queryId), p.abort_signal, ctl, !insert && p.session_id === undefined, insert, p.session_id);
  }

  query(p: QueryParams, _options: ValueOptions): AsyncIterable<QueryEvent> & QueryHandle {
    const queryId = p.query_id ?? newQueryId();
    const ctl: RecycleControl = { recycle: p.reuse_buffers === true };
    const it = this.statement(p, queryId, ctl);
    return { [Symbol.asyncIterator]: () => it, queryId, valuesCopied: valuesCopiedFor(ctl) };
  }

  async command(p: QueryParams): Promise<QuerySummary> {
    const started = Date.now();
    const queryId = p.query_id ?? newQueryId();
    const progress = emptyProgress();
    const summary: QuerySummary = { progress, elapsedMs: 0, queryId };
    const events = this.statement(p, queryId, { recycle: true });
    for await (const e of { [Symbol.asyncIterator]: () => events }) {
      if (e.type === 'progress') {
        addProgress(progress, e.progress);
        p.on_progress?.(e.progress);
      } else if (e.type === 'profileInfo') summary.profileInfo = e.info;
      else if (e.type === 'log' && p.on_log) for (const r of logEntries(e.block)) p.on_log(r);
    }
    summary.elapsedMs = Date.now() - started;
    return summary;
  }

  async insert(req: InsertRequest): Promise<InsertSummary> {
    const signal = req.abort_signal;
    if (signal?.aborted) throw new AbortError(undefined, { cause: signal.reason });
    const queryId = req.query_id ?? newQueryId();
    const c = await this.pool.acquire(signal, req.session_id);
    const progress = emptyProgress();
    let rows = 0;
    /** The INSERT went out: an abort sends Cancel (the connection is then dropped at release). */
    let sent = false;
    let stop: Error | undefined;
    /** Waits in progress. Each is its own subscription, dropped when it settles: a Promise.race
     *  against one long-lived promise would pin every value it ever resolved with (each batch). */
    const waits = new Set<(e: Error) => void>();
    /** `p`, or the abort as soon as it fires: every wait (server or source) goes through this. */
    const until = <T>(p: Promise<T>): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        waits.add(reject);
        p.then(
          (v) => (waits.delete(reject), resolve(v)),
          (e: unknown) => (waits.delete(reject), reject(e)),
        );
        if (stop) reject(stop);
      });
    const onAbort = () => {
      if (stop) return;
      stop = new AbortError(undefined, { cause: signal?.reason });
      if (sent) {
        try {
          c.conn.cancel();
          void c.flush().catch(() => {});
        } catch {
          c.destroy();
        }
      }
      for (const r of waits) r(stop);
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (stop) throw stop;
      const cols = req.columns?.length ? ` (${req.columns.map(quoteIdentifier).join(', ')})` : '';
      const { req: q, setSql } = this.request(c, { query: `INSERT INTO ${quoteTable(req.table)}${cols} VALUES`, clickhouse_settings: req.clickhouse_settings }, queryId);
      if (setSql) {
        c.dirty = true; // dropped at release from now on, so the SET may be abandoned mid-way
        await until(runToEnd(c, { query: setSql }, this.options.request_timeout));
      }
      if (stop) throw stop;
      const timeout = this.options.request_timeout ?? 30_000;
      c.armDeadline(timeout, () => c.destroy());
      c.conn.startInsert(q);
      sent = true;
      await until(c.flush());
      // Wait for the header block (TableColumns/Log/ProfileEvents may come first).
      let header: ColumnMeta[] | undefined;
      while (!header) {
        const e = await until(c.next());
        if (e.type === 'exception') throw serverError(e.exception);
        if (e.type === 'insertHeader') header = e.block.columns.map((col) => ({ name: col.name, type: col.type }));
        if (e.type === 'endOfStream') throw new ConnectionError('the server ended the INSERT before sending its header');
      }
      c.disarmDeadline();
      try {
        if (req.native) {
          // Chunks may split blocks anywhere: decode as a stream, send each block once it is whole.
          const dec = new NativeStreamDecoder();
          for await (const bytes of untilStopped(req.native, until)) {
            for (const b of dec.push(bytes)) {
              if (stop) throw stop;
              serverSaid(c, progress);
              c.conn.sendBlock(b);
              rows += b.rowCount;
              await until(c.flush());
            }
          }
          dec.end();
        } else {
          for await (const b of untilStopped(req.blocks(header) as AsyncIterable<import('../core/native/block-types.js').Block>, until)) {
            if (stop) throw stop;
            serverSaid(c, progress);
            c.conn.sendBlock(b);
            rows += 'rowCount' in b ? b.rowCount : (b as { columns: { values: ArrayLike<unknown> }[] }).columns[0]?.values.length ?? 0;
            await until(c.flush());
          }
        }
      } catch (e) {
        // The server ended the INSERT with an exception while we sent (a view's throwIf, a
        // constraint): that is the error, not what sending on the ended INSERT then ran into.
        try {
          serverSaid(c, progress);
        } catch (ex) {
          c.destroy();
          throw ex;
        }
        // close() ended it: say so (sending then fails on the broken connection).
        if (c.conn.failure instanceof ClientError) throw c.conn.failure;
        // Conversion failed or the source threw: nothing of this batch was sent; abandon the INSERT.
        if (!stop) {
          try {
            c.conn.cancel();
            await c.flush();
          } catch {
            /* broken anyway */
          }
        }
        c.destroy();
        throw e;
      }
      c.conn.endInsert();
      await until(c.flush());
      c.armDeadline(timeout, () => c.destroy());
      for (;;) {
        const e = await until(c.next());
        if (e.type === 'exception') throw serverError(e.exception);
        if (e.type === 'progress') addProgress(progress, clientProgress(e.progress));
        if (e.type === 'endOfStream') break;
      }
      if (stop) throw stop;
      return { rows, queryId, progress };
    } catch (e) {
      if (stop && !(e instanceof ClickHouseError || e instanceof EncodeError)) throw stop;
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.pool.release(c);
    }
  }

  async ping(): Promise<boolean> {
    try {
      return await this.pingOnce();
    } catch (e) {
      // A stale pooled socket: once more, on a fresh connection (a refused one is not retried).
      if (!(e instanceof ConnectionError) || e.code === 'CHWIRE_CONNECTION_REFUSED') throw e;
      return this.pingOnce();
    }
  }

  private async pingOnce(): Promise<boolean> {
    const c = await this.pool.acquire();
    try {
      c.conn.ping();
      await c.flush();
      const timeout = this.options.request_timeout ?? 30_000;
      c.armDeadline(timeout, () => c.destroy());
      for (;;) {
        const e = await c.next();
        if (e.type === 'pong') return true;
      }
    } finally {
      this.pool.release(c);
    }
  }

  async serverInfo(): Promise<{ name: string; version: string; revision: number; timezone?: string }> {
    const c = await this.pool.acquire();
    try {
      const h = c.conn.serverHello!;
      const out: { name: string; version: string; revision: number; timezone?: string } = {
        name: h.serverName,
        version: `${h.versionMajor}.${h.versionMinor}.${h.versionPatch ?? 0}`,
        revision: c.revision,
      };
      if (h.timezone) out.timezone = h.timezone;
      return out;
    } finally {
      this.pool.release(c);
    }
  }

  async close(): Promise<void> {
    this.pool.close();
  }
}

export async function createTcpTransport(endpoints: Endpoint[], options: ClientOptions): Promise<Transport> {
  const compression = options.compression ?? 'none';
  let codecs: CodecSet | undefined;
  if (compression !== 'none') {
    codecs = await createNodeCodecs();
    const method = compression === 'lz4' ? 0x82 : 0x90;
    if (!codecs.get(method)) throw new ClientError(`compression '${compression}' is not available on this Node.js`, 'CHWIRE_CODEC_UNAVAILABLE');
  }
  return new TcpTransport(endpoints, options, codecs);
}

export { ChwireError };
