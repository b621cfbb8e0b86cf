// `chwire serve`: a native-protocol ClickHouse endpoint over the embedded engine.
// One ServerConnection (sans-IO, src/core/connection/server-connection.ts) per
// socket; each connection is bound to one engine session (lane) whose queue
// keeps its statements in order; lanes run in parallel.
import * as net from 'node:net';
import * as tls from 'node:tls';
import { randomBytes, randomUUID } from 'node:crypto';
import { ServerConnection, type OutColumn, type ServerConnectionEvent } from '../core/connection/server-connection.js';
import { CLIENT_REVISION, PARALLEL_REPLICAS_PROTOCOL_VERSION, SettingFlags, unquoteFieldDump, type ChunkedMode, type Query, type ServerException, type TableStatus } from '../core/protocol/index.js';
import { CompressionMethod, type CodecSet } from '../core/compression/codec.js';
import { NativeStreamDecoder } from '../core/native/reader.js';
import { encodeNative } from '../core/native/writer.js';
import type { Block } from '../core/native/block-types.js';
import { DecodedColumn } from '../core/columns/column.js';
import { createNodeCodecs } from '../transport/compression.js';
import { Engine, EngineError, type EngineLane, sqlIdent, sqlString, toEngineError } from './engine.js';
import { classify, stripFormat, type StatementKind } from './sql.js';

export interface ServerUser {
  name: string;
  password: string;
}

export interface ServerOptions {
  /** Port to listen on (default 9000; 0 picks a free one). */
  port?: number;
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Persistent engine data directory (default: a temporary one). */
  dataDir?: string;
  /** Users and passwords (default: `default` without a password). */
  users?: ServerUser[];
  /** TLS: PEM certificate and key (and optionally a CA to require client certificates). */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer };
  /** Concurrent connections beyond this are refused with an Exception (default 256). */
  maxConnections?: number;
  /** Chunked framing preference per direction (default 'notchunked_optional': chunked when the client asks). */
  chunkedSend?: ChunkedMode;
  chunkedRecv?: ChunkedMode;
  /** Debug: columns with these names are sent in sparse serialization when the revision allows. */
  sparseColumns?: string[];
  /** Display name in Hello (default 'chwire'). */
  displayName?: string;
  /** Revision to serve (default CLIENT_REVISION, chwire's newest). */
  revision?: number;
  /** Idle engine sessions kept ready (default 4); each client connection gets one of its own, opened when none is free. */
  engineSessions?: number;
  /** Called for every query received (a query log: id, user, client, peer address). */
  onQuery?: (info: QueryLogEntry) => void;
  /** Settings applied to the engine at start. */
  engineSettings?: Record<string, string>;
  /** Send ProfileEvents packets at the end of each query (default true). */
  profileEvents?: boolean;
  /** Compression codecs (default: the Node set, LZ4 and ZSTD). */
  codecs?: CodecSet;
  /** Log lines (default: none). */
  log?: (line: string) => void;
}

export interface QueryLogEntry {
  queryId: string;
  query: string;
  user: string;
  database: string;
  remoteAddress: string;
  remotePort: number;
  clientName: string;
  /** ClientInfo interface: 1 TCP. */
  interface: number;
  osUser: string;
}

export interface ChwireServer {
  /** Start listening; resolves with the bound address. */
  listen(): Promise<{ host: string; port: number }>;
  /** Stop accepting, let running requests finish (up to `graceMs`), close connections and the engine. */
  close(graceMs?: number): Promise<void>;
  /** The bound port (after listen()). */
  readonly port: number;
  /** Open client connections. */
  readonly connections: number;
  /** The engine's version (after listen()). */
  readonly engineVersion: string;
}

/** ClickHouse error codes used by the server itself [src/Common/ErrorCodes.cpp]. */
const Err = {
  UNKNOWN_SETTING: 115,
  UNKNOWN_DATABASE: 81,
  NO_FREE_CONNECTION: 203,
  UNKNOWN_PACKET_FROM_CLIENT: 100,
  UNEXPECTED_PACKET_FROM_CLIENT: 101,
  QUERY_WAS_CANCELLED: 394,
  AUTHENTICATION_FAILED: 516,
  NOT_IMPLEMENTED: 48,
  LOGICAL_ERROR: 49,
} as const;

function exception(code: number, name: string, message: string): ServerException {
  return { code, name: 'DB::Exception', message: `DB::Exception: ${message} (${name})`, stackTrace: '' };
}

function engineException(e: unknown): ServerException {
  const err = toEngineError(e);
  return { code: err.code, name: err.exceptionName, message: err.message, stackTrace: '' };
}

export function createServer(options: ServerOptions = {}): ChwireServer {
  return new Server(options);
}

class Server implements ChwireServer {
  engine: Engine | undefined;
  codecs: CodecSet | undefined;
  private srv: net.Server | undefined;
  private readonly live = new Set<ClientSession>();
  /** Every accepted socket (also refused ones), destroyed at close. */
  private readonly sockets = new Set<net.Socket>();
  private boundPort = 0;
  private closing = false;
  readonly users: Map<string, string>;

  constructor(readonly options: ServerOptions) {
    this.users = new Map((options.users ?? [{ name: 'default', password: '' }]).map((u) => [u.name, u.password]));
  }

  get port(): number {
    return this.boundPort;
  }
  get connections(): number {
    return this.live.size;
  }
  get engineVersion(): string {
    return this.engine?.version ?? '';
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  async listen(): Promise<{ host: string; port: number }> {
    if (this.srv) throw new Error('already listening');
    this.codecs = this.options.codecs ?? (await createNodeCodecs());
    this.engine = await Engine.open({
      ...(this.options.dataDir ? { dataDir: this.options.dataDir } : {}),
      ...(this.options.engineSettings ? { settings: this.options.engineSettings } : {}),
      ...(this.options.engineSessions ? { sessions: this.options.engineSessions } : {}),
    });
    const onSocket = (socket: net.Socket): void => this.accept(socket);
    const t = this.options.tls;
    this.srv = t
      ? tls.createServer({ cert: t.cert, key: t.key, ...(t.ca ? { ca: t.ca, requestCert: true, rejectUnauthorized: true } : {}) }, onSocket)
      : net.createServer(onSocket);
    const host = this.options.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => {
      this.srv!.once('error', reject);
      this.srv!.listen(this.options.port ?? 9000, host, () => {
        this.srv!.off('error', reject);
        resolve();
      });
    });
    this.boundPort = (this.srv.address() as net.AddressInfo).port;
    this.log(`chwire serve: listening on ${host}:${this.boundPort} (engine ${this.engine.version})`);
    return { host, port: this.boundPort };
  }

  private accept(socket: net.Socket): void {
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.closing) {
      socket.destroy();
      return;
    }
    const limit = this.options.maxConnections ?? 256;
    if (this.live.size >= limit) {
      // Answer the Hello-to-be with an Exception (ClickHouse clients read one in place of Hello).
      const conn = new ServerConnection({ hello: this.hello() });
      conn.rejectHello(exception(Err.NO_FREE_CONNECTION, 'NO_FREE_CONNECTION', `Too many simultaneous connections (limit ${limit})`));
      socket.on('error', () => {});
      socket.end(Buffer.concat(conn.takeOutput()));
      // A client that keeps its side open is dropped shortly after.
      setTimeout(() => socket.destroy(), 1000).unref();
      return;
    }
    const s = new ClientSession(this, socket);
    this.live.add(s);
    socket.once('close', () => {
      this.live.delete(s);
      s.closed();
    });
  }

  hello(): ConstructorParameters<typeof ServerConnection>[0]['hello'] {
    const [major, minor, patch] = (this.engine?.version ?? '0.0.0').split('.').map((x) => Number(x) || 0);
    return {
      serverName: 'ClickHouse',
      versionMajor: major ?? 0,
      versionMinor: minor ?? 0,
      versionPatch: patch ?? 0,
      parallelReplicasVersion: PARALLEL_REPLICAS_PROTOCOL_VERSION,
      timezone: this.engine?.timezone ?? 'UTC',
      displayName: this.options.displayName ?? 'chwire',
      chunkedSend: this.options.chunkedSend ?? 'notchunked_optional',
      chunkedRecv: this.options.chunkedRecv ?? 'notchunked_optional',
      passwordComplexityRules: [],
      nonce: randomBytes(8).readBigUInt64LE(0),
      settings: [],
      queryPlanSerializationVersion: 0,
      clusterFunctionProtocolVersion: 0,
    };
  }

  async close(graceMs = 5000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const stopped = new Promise<void>((r) => (this.srv ? this.srv.close(() => r()) : r()));
    for (const s of this.live) s.shutdown();
    const deadline = Date.now() + graceMs;
    while (this.live.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const s of this.live) s.destroy();
    for (const sock of this.sockets) sock.destroy();
    await stopped;
    await this.engine?.close();
    this.log('chwire serve: stopped');
  }
}

/** Per-connection state: the protocol machine, the session settings, the running request. */
class ClientSession {
  readonly conn: ServerConnection;
  private readonly work: (ServerConnectionEvent | { type: 'insertCancel' })[] = [];
  private pumping = false;
  private abort: AbortController | undefined;
  /** Settings changed with SET on this connection (a ClickHouse session's settings). */
  private readonly sessionSettings = new Map<string, string>();
  private database = 'default';
  private user = '';
  private ending = false;
  private isClosed = false;
  /** The INSERT being received. */
  private insert: { kind: Extract<StatementKind, { kind: 'insert' }>; settings: Map<string, string>; rows: number; bytes: number; failed: boolean } | undefined;
  private drainWaiters: (() => void)[] = [];
  /** The engine session this connection's statements run on (its queue keeps them in order). */
  readonly lane: EngineLane;
  private clientName = '';

  constructor(
    private readonly server: Server,
    private readonly socket: net.Socket,
  ) {
    this.lane = server.engine!.acquireLane();
    this.conn = new ServerConnection({
      hello: server.hello(),
      revision: server.options.revision ?? CLIENT_REVISION,
      codecs: server.codecs!,
    });
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', () => {});
    socket.on('drain', () => {
      for (const w of this.drainWaiters.splice(0)) w();
    });
  }

  private onData(bytes: Buffer): void {
    let events: ServerConnectionEvent[];
    try {
      events = this.conn.receive(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length));
    } catch (e) {
      this.server.log(`protocol error from ${this.socket.remoteAddress}: ${(e as Error).message}`);
      this.conn.sendException(exception(Err.UNEXPECTED_PACKET_FROM_CLIENT, 'UNEXPECTED_PACKET_FROM_CLIENT', (e as Error).message));
      this.flush();
      this.socket.end();
      return;
    }
    this.enqueue(events);
  }

  private enqueue(events: ServerConnectionEvent[]): void {
    for (const ev of events) {
      if (ev.type === 'cancel') {
        this.abort?.abort();
        // Cancel while sending INSERT data ends the data (as ClickHouse does): after the blocks already queued.
        if (this.conn.state === 'insert' && !this.conn.discarding) this.work.push({ type: 'insertCancel' });
        // A send waiting for the socket to drain gives up (the client may not read until it has our EndOfStream).
        for (const w of this.drainWaiters.splice(0)) w();
      }
      else if (ev.type === 'ping' || ev.type === 'keepAlive') continue;
      else this.work.push(ev);
    }
    this.flush();
    void this.pump();
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.work.length && !this.isClosed) {
        const ev = this.work.shift()!;
        try {
          await this.handle(ev);
        } catch (e) {
          this.server.log(`error: ${(e as Error).stack ?? e}`);
          if (this.conn.state !== 'closed' && this.conn.state !== 'idle') this.conn.sendException(engineException(e));
        }
        this.flush();
        if (this.ending && this.conn.state === 'idle') this.destroy();
      }
    } finally {
      this.pumping = false;
    }
  }

  flush(): void {
    const out = this.conn.takeOutput();
    if (!out.length || this.socket.destroyed) return;
    this.socket.cork();
    for (const p of out) this.socket.write(p);
    this.socket.uncork();
  }

  /** Flush and wait while the socket's buffer is full (backpressure for large results). */
  private async flushAndWait(): Promise<void> {
    this.flush();
    if (this.socket.writableNeedDrain && !this.socket.destroyed) await new Promise<void>((r) => this.drainWaiters.push(r));
  }

  private async handle(ev: ServerConnectionEvent | { type: 'insertCancel' }): Promise<void> {
    switch (ev.type) {
      case 'insertCancel':
        return this.onInsertCancel();
      case 'hello':
        return this.onHello(ev.hello);
      case 'ready':
        return;
      case 'query':
        return this.onQuery(ev.query, ev.externalTables);
      case 'insertBlock':
        return this.onInsertBlock(ev.block);
      case 'insertEnd':
        return this.onInsertEnd();
      case 'tablesStatus':
        return this.onTablesStatus(ev.tables);
      default:
        return;
    }
  }

  private async onHello(h: { user: string; password: string; database: string; clientName?: string }): Promise<void> {
    const user = h.user || 'default';
    this.clientName = h.clientName ?? '';
    const want = this.server.users.get(user);
    if (want === undefined || want !== h.password) {
      this.conn.rejectHello(exception(Err.AUTHENTICATION_FAILED, 'AUTHENTICATION_FAILED', `${user}: Authentication failed: password is incorrect, or there is no user with such name`));
      this.flush();
      this.endSoon();
      return;
    }
    if (h.database && h.database !== 'default') {
      const exists = (await this.lane.run(() => this.lane.execText(`EXISTS DATABASE ${sqlIdent(h.database)}`))).trim();
      if (exists !== '1') {
        this.conn.rejectHello(exception(Err.UNKNOWN_DATABASE, 'UNKNOWN_DATABASE', `Database ${h.database} does not exist`));
        this.flush();
        this.endSoon();
        return;
      }
      this.database = h.database;
    }
    this.user = user;
    this.conn.acceptHello();
    this.enqueue(this.conn.takeDeferredEvents());
  }

  /** The settings a statement runs with: session SETs, then the query's own (unknown ones ignored unless important). */
  private settingsFor(q: Query): Map<string, string> {
    const engine = this.server.engine!;
    const out = new Map(this.sessionSettings);
    for (const s of q.settings) {
      const flags = s.flags ?? 0;
      if (!engine.baseline.has(s.name) && !(flags & SettingFlags.CUSTOM) && !s.name.startsWith('custom_')) {
        if (flags & SettingFlags.IMPORTANT) throw new EngineError(Err.UNKNOWN_SETTING, 'DB::Exception', `DB::Exception: Unknown setting '${s.name}' (UNKNOWN_SETTING)`);
        continue;
      }
      out.set(s.name, s.value);
    }
    return out;
  }

  /** Network compression method for this query's blocks: the setting, else what the client used, else LZ4. */
  private compressionMethod(settings: Map<string, string>): number {
    const codecs = this.server.codecs!;
    const m = settings.get('network_compression_method')?.toLowerCase();
    if (m === 'zstd' && codecs.get(CompressionMethod.ZSTD)) return CompressionMethod.ZSTD;
    if (m === 'none') return CompressionMethod.None;
    if (m === undefined && this.conn.clientCompressionMethod !== undefined && codecs.get(this.conn.clientCompressionMethod)) {
      return this.conn.clientCompressionMethod;
    }
    return CompressionMethod.LZ4;
  }

  private params(q: Query): Record<string, string> | undefined {
    if (!q.parameters?.length) return undefined;
    const out: Record<string, string> = {};
    for (const p of q.parameters) out[p.name] = unquoteFieldDump(p.value);
    return out;
  }

  /** Run fn inside the engine queue with this connection's database and settings in effect. */
  private async inEngine<T>(settings: Map<string, string>, fn: () => Promise<T>): Promise<T> {
    const engine = this.lane;
    return engine.run(async () => {
      if (this.database !== 'default') await engine.exec(`USE ${sqlIdent(this.database)}`);
      let restore = '';
      try {
        restore = await engine.applySettings(settings);
        return await fn();
      } finally {
        await engine.restoreSettings(restore);
        if (this.database !== 'default') await engine.exec('USE default').catch(() => {});
      }
    });
  }

  private async onQuery(q: Query, external: { name: string; block: Block }[]): Promise<void> {
    const started = process.hrtime.bigint();
    this.abort = new AbortController();
    const ci = q.clientInfo;
    this.server.options.onQuery?.({
      queryId: q.queryId,
      query: q.query,
      user: this.user,
      database: this.database,
      remoteAddress: this.socket.remoteAddress ?? '',
      remotePort: this.socket.remotePort ?? 0,
      clientName: ci?.clientName ?? this.clientName,
      interface: ci?.interface ?? 1,
      osUser: ci?.osUser ?? '',
    });
    try {
      if (external.some((t) => !t.name.startsWith('\0scalar:'))) {
        throw new EngineError(Err.NOT_IMPLEMENTED, 'DB::Exception', 'DB::Exception: external tables are not supported by chwire serve (NOT_IMPLEMENTED)');
      }
      const settings = this.settingsFor(q);
      const st = classify(q.query);
      if (st.kind === 'set') {
        // Checked by the engine, kept for this connection only.
        const next = new Map(settings);
        for (const [k, v] of st.settings) next.set(k, v);
        await this.inEngine(next, async () => undefined);
        for (const [k, v] of st.settings) this.sessionSettings.set(k, v);
        this.conn.sendEndOfStream();
        return;
      }
      if (st.kind === 'use') {
        const ok = (await this.lane.run(() => this.lane.execText(`EXISTS DATABASE ${sqlIdent(st.database)}`))).trim();
        if (ok !== '1') throw new EngineError(Err.UNKNOWN_DATABASE, 'DB::Exception', `DB::Exception: Database ${st.database} does not exist (UNKNOWN_DATABASE)`);
        this.database = st.database;
        this.conn.sendEndOfStream();
        return;
      }
      if (st.kind === 'insert') return await this.startInsert(st, settings);
      await this.runSelect(q, st, settings, started);
    } catch (e) {
      if (this.conn.state === 'query') this.conn.sendException(engineException(e));
    } finally {
      this.abort = undefined;
    }
  }

  private async runSelect(q: Query, st: StatementKind, settings: Map<string, string>, started: bigint): Promise<void> {
    const lane = this.lane;
    const method = this.compressionMethod(settings);
    const params = this.params(q);
    const sparse = new Set(this.server.options.sparseColumns ?? []);
    const signal = this.abort!.signal;
    const elapsed = (): number => Number(process.hrtime.bigint() - started);
    let headerSent = false;
    let rows = 0;
    let blocks = 0;
    let bytes = 0;
    const outColumns = (block: Block): OutColumn[] =>
      block.columns.map((c) => {
        const d = c as DecodedColumn;
        return { name: d.name, codec: d.codec, data: d.data, sparse: sparse.has(d.name) };
      });
    // The header (an empty block) goes first, before any Progress, as ClickHouse sends it.
    const sendHeader = (block: Block): void => {
      if (headerSent) return;
      this.conn.sendBlock('Data', outColumns(block).map((c) => ({ name: c.name, codec: c.codec, data: c.codec.fromValues([]) })), 0, method);
      headerSent = true;
    };
    const send = async (block: Block): Promise<void> => {
      if (signal.aborted) return;
      const cols = outColumns(block);
      sendHeader(block);
      if (block.rowCount === 0) return;
      this.conn.sendBlock('Data', cols, block.rowCount, method);
      rows += block.rowCount;
      blocks++;
      await this.flushAndWait();
    };
    // A marker comment lets a cancel or a disconnect KILL the statement in the engine.
    const tag = `chwire-${randomUUID()}`;
    const work = this.inEngine(settings, async () => {
      const decoder = new NativeStreamDecoder({ revision: 0 });
      const sql = stripFormat(q.query);
      await lane.stream(
        `/* ${tag} */ ${sql}`,
        params,
        async (chunk) => {
          if (signal.aborted) return;
          bytes += chunk.length;
          const decoded = decoder.push(chunk);
          // Progress as the engine produces blocks: chDB reports no read progress mid-query,
          // so each chunk's own rows and bytes (sent before its Data, as ClickHouse does).
          const chunkRows = decoded.reduce((n, b) => n + b.rowCount, 0);
          if (decoded.length) sendHeader(decoded[0]!);
          if (chunkRows) this.conn.sendProgress({ rows: chunkRows, bytes: chunk.length, totalRows: 0, totalBytes: 0, writtenRows: 0, writtenBytes: 0, elapsedNs: elapsed() });
          for (const b of decoded) {
            if (signal.aborted) return;
            await send(b);
          }
        },
        signal,
        st.kind === 'select',
      );
      decoder.end();
      if (!headerSent && st.kind === 'select' && !signal.aborted) {
        // No rows: the header comes from the statement's structure.
        try {
          const headerDecoder = new NativeStreamDecoder({ revision: 0 });
          let described: Block[] = [];
          await lane.stream(
            `DESCRIBE TABLE (${sql.replace(/[\s;]+$/, '')})`,
            params,
            (c) => {
              described = described.concat(headerDecoder.push(c));
            },
            undefined,
            false,
          );
          const names: string[] = [];
          const types: string[] = [];
          for (const b of described) {
            const n = b.columns.find((c) => c.name === 'name')!;
            const t = b.columns.find((c) => c.name === 'type')!;
            for (let i = 0; i < b.rowCount; i++) {
              names.push(String(n.get(i)));
              types.push(String(t.get(i)));
            }
          }
          const cache = this.conn.codecCache;
          if (!signal.aborted) this.conn.sendBlock('Data', names.map((name, i) => { const codec = cache.get(types[i]!); return { name, codec, data: codec.fromValues([]) }; }), 0, method);
        } catch {
          // Not describable (e.g. a statement with no result): no header.
        }
      }
    });
    // Cancel: answer at once (EndOfStream, as ClickHouse does after a Cancel) and KILL the
    // statement in the engine; this connection's lane stays busy until it has stopped.
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<'aborted'>((resolve) => {
      onAbort = () => resolve('aborted');
      if (signal.aborted) resolve('aborted');
      else signal.addEventListener('abort', onAbort, { once: true });
    });
    const outcome = await Promise.race([work.then(() => 'done' as const), aborted]);
    signal.removeEventListener('abort', onAbort!);
    if (outcome === 'aborted') {
      work.catch(() => {});
      void this.server.engine!.kill(tag, work);
      if (this.conn.state === 'query') this.conn.sendEndOfStream();
      return;
    }
    const elapsedNs = elapsed();
    this.conn.sendProgress({ rows: 0, bytes: 0, totalRows: 0, totalBytes: 0, writtenRows: 0, writtenBytes: 0, elapsedNs });
    this.conn.sendProfileInfo({ rows, blocks, bytes, appliedLimit: false, rowsBeforeLimit: 0, calculatedRowsBeforeLimit: true, appliedAggregation: false, rowsBeforeAggregation: 0 });
    if (this.server.options.profileEvents !== false) this.sendProfileEvents(method, [['SelectedRows', rows], ['SelectedBytes', bytes], ['RealTimeMicroseconds', Math.round(elapsedNs / 1000)]]);
    this.conn.sendEndOfStream();
  }

  /** A ProfileEvents block (≥ 54451): host_name, current_time, thread_id, type, name, value. */
  private sendProfileEvents(method: number, counters: [string, number][]): void {
    if (this.conn.revision < 54451) return;
    const cache = this.conn.codecCache;
    const now = Math.floor(Date.now() / 1000);
    const n = counters.length;
    const col = (name: string, type: string, values: unknown[]): OutColumn => {
      const codec = cache.get(type);
      return { name, codec, data: codec.fromValues(values) };
    };
    this.conn.sendBlock(
      'ProfileEvents',
      [
        col('host_name', 'String', Array(n).fill('chwire')),
        col('current_time', 'DateTime', Array(n).fill(now)),
        col('thread_id', 'UInt64', Array(n).fill(0n)),
        col('type', "Enum8('increment' = 1, 'gauge' = 2)", Array(n).fill('increment')),
        col('name', 'String', counters.map((c) => c[0])),
        col('value', 'Int64', counters.map((c) => BigInt(c[1]))),
      ],
      n,
      method,
    );
  }

  // ------------------------------------------------------------ INSERT

  private async startInsert(st: Extract<StatementKind, { kind: 'insert' }>, settings: Map<string, string>): Promise<void> {
    const engine = this.lane;
    const method = this.compressionMethod(settings);
    const text = await this.inEngine(settings, () => engine.execText(`DESCRIBE TABLE ${st.target}`, 'JSONCompactEachRow'));
    const all: { name: string; type: string; kind: string }[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      const r = JSON.parse(line) as string[];
      all.push({ name: r[0]!, type: r[1]!, kind: r[2] ?? '' });
    }
    let cols: { name: string; type: string }[];
    if (st.columns) {
      cols = st.columns.map((c) => {
        const f = all.find((a) => a.name === c);
        if (!f) throw new EngineError(16, 'DB::Exception', `DB::Exception: No such column ${c} in table ${st.target} (NO_SUCH_COLUMN_IN_TABLE)`);
        return f;
      });
    } else cols = all.filter((a) => a.kind !== 'MATERIALIZED' && a.kind !== 'ALIAS');
    if (this.abort?.signal.aborted) {
      // Cancelled before the header: the client waits for EndOfStream, not for a header.
      this.conn.sendEndOfStream();
      return;
    }
    const cache = this.conn.codecCache;
    this.insert = { kind: st, settings, rows: 0, bytes: 0, failed: false };
    this.conn.startInsert(
      cols.map((c) => {
        const codec = cache.get(c.type);
        return { name: c.name, codec, data: codec.fromValues([]) };
      }),
      method,
    );
  }

  private async onInsertBlock(block: Block): Promise<void> {
    const ins = this.insert;
    if (!ins || ins.failed || this.conn.discarding) return;
    const engine = this.lane;
    try {
      // The client's columns, re-encoded as FORMAT Native (revision 0), loaded without a text round trip.
      const bytes = encodeNative(block, { revision: 0 });
      const structure = block.columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ');
      const file = await engine.tempFile(bytes);
      try {
        await this.inEngine(ins.settings, () => engine.exec(`${ins.kind.prefix} SELECT * FROM file(${sqlString(file.path)}, 'Native', ${sqlString(structure)})`));
      } finally {
        await file.remove();
      }
      ins.rows += block.rowCount;
      ins.bytes += bytes.length;
    } catch (e) {
      ins.failed = true;
      this.conn.sendException(engineException(e));
    }
  }

  /** Cancel during INSERT data: what was received stays inserted; EndOfStream. */
  private async onInsertCancel(): Promise<void> {
    const ins = this.insert;
    this.insert = undefined;
    if (!ins || ins.failed || this.conn.state !== 'insert' || this.conn.discarding) return;
    this.conn.sendEndOfStream();
  }

  private async onInsertEnd(): Promise<void> {
    const ins = this.insert;
    this.insert = undefined;
    if (!ins || ins.failed || this.conn.state !== 'insert-end') return;
    // Clients before written_rows (54420) accept only Exception/EndOfStream/Log here (18.16 does).
    if (this.conn.revision >= 54420) {
      this.conn.sendProgress({ rows: 0, bytes: 0, totalRows: 0, totalBytes: 0, writtenRows: ins.rows, writtenBytes: ins.bytes, elapsedNs: 0 });
    }
    this.conn.sendEndOfStream();
  }

  // ------------------------------------------------------------ TablesStatus

  private async onTablesStatus(tables: { database: string; table: string }[]): Promise<void> {
    const engine = this.lane;
    const out: TableStatus[] = [];
    await engine.run(async () => {
      for (const t of tables) {
        const ok = (await engine.execText(`EXISTS TABLE ${sqlIdent(t.database || this.database)}.${sqlIdent(t.table)}`).catch(() => '0')).trim();
        if (ok === '1') out.push({ database: t.database, table: t.table, isReplicated: false });
      }
    });
    this.conn.sendTablesStatus(out);
  }

  // ------------------------------------------------------------ lifecycle

  /** Server shutdown: idle connections close now, busy ones after their request. */
  shutdown(): void {
    this.ending = true;
    if (!this.pumping && (this.conn.state === 'idle' || this.conn.state === 'hello' || this.conn.state === 'addendum')) this.destroy();
  }

  /** Close after a refused handshake: our side now, the socket at the latest a second later. */
  private endSoon(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.abort?.abort();
    this.socket.end();
    this.socket.destroy();
  }

  closed(): void {
    if (!this.isClosed) this.server.engine?.releaseLane(this.lane);
    this.isClosed = true;
    this.abort?.abort();
    this.conn.close();
    for (const w of this.drainWaiters.splice(0)) w();
  }
}
