// ClickHouse over HTTP(S) on `fetch`: results as FORMAT Native decoded block by
// block while the body streams, inserts as streamed Native request bodies,
// ClickHouse compression frames both ways (compress=1 / decompress=1), gzip.
//
// No node:* imports: this module runs unbundled in browsers, Deno, Bun and
// workers. Node-only pieces (a keep-alive Agent with TLS options, the native
// compression codecs) are loaded only when running on Node.
import type { Endpoint } from '../client/client.js';
import { AbortError, ClickHouseError, ClientError, ConnectionError, TimeoutError } from '../client/errors.js';
import {
  type ClientOptions,
  type ColumnMeta,
  type InsertRequest,
  type InsertSummary,
  type Progress,
  type QueryEvent,
  type QueryParams,
  type QueryHandle,
  type QuerySummary,
  type Settings,
  type Transport,
  addProgress,
  emptyProgress,
} from '../client/types.js';
import type { ValueOptions } from '../core/columns/column.js';
import { codecSet, noneCodec, pureLz4Codec, type CodecSet } from '../core/compression/codec.js';
import { FrameDecoder } from '../core/compression/decoder.js';
import { encodeFrames } from '../core/compression/frame.js';
import { concatBytes } from '../core/io/writer.js';
import type { Block } from '../core/native/block-types.js';
import { NativeStreamDecoder, decodeNative } from '../core/native/reader.js';
import { encodeNative, type BlockInput } from '../core/native/writer.js';
import { formatClientName } from '../core/protocol/client-name.js';
import { bindQueryParams, extractParamTypes, formatParamText, formatSqlLiteral, quoteIdentifier, type ParamValue } from '../core/protocol/params.js';
import { InactivityDeadline, isInsertStatement, newQueryId, quoteTable, replaceTrailingFormat, settingText, valuesCopiedFor, type RecycleControl } from './common.js';

/** HTTP-only client options (read from the client's options object). */
export interface HttpOptions {
  /** Extra request headers sent with every request. */
  http_headers?: Record<string, string>;
  /**
   * How credentials travel: 'basic' (default: Authorization: Basic), 'headers'
   * (X-ClickHouse-User / X-ClickHouse-Key), or 'query' (user= / password= URL
   * parameters: no CORS preflight in browsers, but the password is in the URL).
   */
  http_auth?: 'basic' | 'headers' | 'query';
  /**
   * Response compression: 'frames' (compress=1: ClickHouse's LZ4 frames, the
   * default when `compression` is lz4/zstd, on servers ≥ 19.1 — 18.x sends
   * empty compress=1 bodies), 'gzip' (enable_http_compression=1; fetch
   * decodes), or 'none'.
   */
  http_response_compression?: 'frames' | 'gzip' | 'none';
  /** A fetch implementation (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

export type HttpClientOptions = ClientOptions & HttpOptions;

/** Body accepted by exec(): text, bytes, or a stream of bytes (any input FORMAT). */
export type ExecBody = string | Uint8Array | ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

export interface ExecParams {
  query: string;
  body?: ExecBody;
  query_params?: Record<string, unknown>;
  clickhouse_settings?: Settings;
  query_id?: string;
  session_id?: string;
  abort_signal?: AbortSignal;
}

/** The raw response of exec(): the body in whatever FORMAT the query asked for. */
export interface ExecResult extends AsyncIterable<Uint8Array> {
  queryId: string;
  headers: Headers;
  /** The (decompressed) response body. Read it once: stream, bytes() or text(). */
  stream: ReadableStream<Uint8Array>;
  bytes(): Promise<Uint8Array>;
  text(): Promise<string>;
  summary?: Progress;
}

const BROWSER_LIKE = !isServerRuntime();
/** Raw bytes kept behind the decoder to recover an exception text written after HTTP 200. */
const TAIL_WINDOW = 64 * 1024;
/** How much of a trailing exception is read after a decode failure. */
const MAX_EXCEPTION_BYTES = 1 << 20;
const HOST_COOLDOWN_MS = 10_000;
const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED']);

function isServerRuntime(): boolean {
  const g = globalThis as { process?: { versions?: Record<string, string | undefined> }; Deno?: unknown; Bun?: unknown };
  return !!(g.process?.versions?.node || g.Deno || g.Bun);
}

function runtimeTag(): string | undefined {
  const g = globalThis as {
    process?: { versions?: Record<string, string | undefined>; platform?: string; arch?: string };
    Deno?: { version?: { deno?: string }; build?: { os?: string; arch?: string } };
    Bun?: { version?: string };
  };
  if (g.Deno) return `lv:deno/${g.Deno.version?.deno ?? '?'}; os:${g.Deno.build?.os ?? '?'}; arch:${g.Deno.build?.arch ?? '?'}`;
  const p = g.process;
  if (!p?.versions?.node) return undefined;
  const lv = g.Bun ? `bun/${g.Bun.version ?? '?'}` : `node/${p.versions.node}`;
  return `lv:${lv}; os:${p.platform ?? '?'}; arch:${p.arch ?? '?'}`;
}

/** `<application>/<version> chwire/<version> (lv:node/<version>; os:<platform>; arch:<arch>)`. */
export function httpUserAgent(application?: string): string {
  let app: { name: string; version?: string } | undefined;
  if (application) {
    const i = application.lastIndexOf('/');
    app = i > 0 ? { name: application.slice(0, i), version: application.slice(i + 1) } : { name: application };
  }
  const tag = runtimeTag();
  return tag ? `${formatClientName(app)} (${tag})` : formatClientName(app);
}

function base64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}


// ---------------------------------------------------------------- server errors

/**
 * A ClickHouseError from an HTTP error text. 18.x: `Code: 60, e.displayText() =
 * DB::Exception: msg, e.what() = DB::Exception`; newer: `Code: 60. DB::Exception:
 * msg. (UNKNOWN_TABLE) (version 24.3.1)`; both possibly wrapped in the
 * `__exception__` markers of servers ≥ 24.11. Undefined when it is none of these.
 */
export function parseExceptionText(text: string, headerCode?: string | null): ClickHouseError | undefined {
  let t = text;
  if (t.includes('__exception__')) {
    // __exception__\r\n<tag>\r\n<message>\n<size> <tag>\r\n__exception__\r\n
    const m = /__exception__\r?\n[^\r\n]*\r?\n([\s\S]*?)\n\d+ [^\r\n]*\r?\n__exception__/.exec(t);
    if (m) t = m[1]!;
  }
  const i = t.indexOf('Code: ');
  const m = /^Code: (\d+)[.,] ?([\s\S]*)$/.exec(i >= 0 ? t.slice(i) : '');
  const code = m ? Number(m[1]) : headerCode ? Number(headerCode) : NaN;
  if (!Number.isFinite(code)) return undefined;
  let rest = (m ? m[2]! : t).trim();
  let type = 'DB::Exception';
  const old = /^e\.displayText\(\) = ([\s\S]*?)(?:, e\.what\(\) = ([\w:]+))?$/.exec(rest);
  if (old) {
    rest = old[1]!;
    if (old[2]) type = old[2];
  } else {
    rest = rest.replace(/ \(version [^)]*\)\s*$/, '');
    const tm = /^([A-Za-z_][\w]*(?:::[\w]+)+):/.exec(rest);
    if (tm) type = tm[1]!;
  }
  let stackTrace: string | undefined;
  const st = rest.indexOf('\nStack trace');
  if (st > 0) {
    stackTrace = rest.slice(st + 1);
    rest = rest.slice(0, st).trim();
  }
  return new ClickHouseError({ code, name: type, message: rest, ...(stackTrace ? { stackTrace } : {}) });
}

function errorFromResponse(status: number, statusText: string, body: Uint8Array, headers: Headers, codecs: CodecSet | undefined): Error {
  let bytes = body;
  // An error body under compress=1 may itself be framed.
  if (codecs && bytes.length > 25 && (bytes[16] === 0x82 || bytes[16] === 0x90 || bytes[16] === 0x02)) {
    try {
      const d = new FrameDecoder(codecs);
      const parts = d.push(bytes);
      d.end();
      bytes = concatBytes(parts);
    } catch {
      /* not frames */
    }
  }
  const text = new TextDecoder().decode(bytes);
  const e = parseExceptionText(text, headers.get('x-clickhouse-exception-code'));
  if (e) return e;
  return new ConnectionError(`HTTP ${status}${statusText ? ` ${statusText}` : ''}: ${text.slice(0, 500).trim()}`, undefined, 'CHWIRE_HTTP_STATUS');
}

// ---------------------------------------------------------------- progress headers

interface HeaderProgress {
  read_rows?: string;
  read_bytes?: string;
  written_rows?: string;
  written_bytes?: string;
  total_rows_to_read?: string;
  total_bytes_to_read?: string;
  elapsed_ns?: string;
}

function toProgress(h: HeaderProgress): Progress {
  const n = (v: string | undefined) => (v === undefined ? 0 : Number(v));
  return {
    rows: n(h.read_rows),
    bytes: n(h.read_bytes),
    totalRows: n(h.total_rows_to_read),
    totalBytes: n(h.total_bytes_to_read),
    writtenRows: n(h.written_rows),
    writtenBytes: n(h.written_bytes),
    elapsedNs: n(h.elapsed_ns),
  };
}

/** Every X-ClickHouse-Progress header (cumulative), in order; fetch joins repeated headers with ", ". */
export function parseProgressHeaders(value: string | null): Progress[] {
  if (!value) return [];
  try {
    const list = JSON.parse(`[${value}]`) as HeaderProgress[];
    return list.map(toProgress);
  } catch {
    return [];
  }
}

/** Delta between two cumulative progress values (the client adds deltas up, as over TCP). */
function delta(now: Progress, before: Progress): Progress {
  return {
    rows: Math.max(0, now.rows - before.rows),
    bytes: Math.max(0, now.bytes - before.bytes),
    totalRows: Math.max(0, now.totalRows - before.totalRows),
    totalBytes: Math.max(0, now.totalBytes - before.totalBytes),
    writtenRows: Math.max(0, now.writtenRows - before.writtenRows),
    writtenBytes: Math.max(0, now.writtenBytes - before.writtenBytes),
    elapsedNs: now.elapsedNs,
  };
}

function isZero(p: Progress): boolean {
  return !p.rows && !p.bytes && !p.totalRows && !p.totalBytes && !p.writtenRows && !p.writtenBytes;
}

// ---------------------------------------------------------------- Native body decoding

/** Response bodies are gathered in buffers of at least this size (bytes). */
const BODY_SLAB_BYTES = 1024 * 1024;

/** DateTime without a zone argument (not DateTime64, not DateTime('…')). */
const ZONELESS_DATETIME = /\bDateTime\b(?!\s*\()/;
/** DateTime64(precision) without a zone argument. */
const ZONELESS_DATETIME64 = /\bDateTime64\s*\(\s*(\d+)\s*\)/g;
/** Types whose values carry their own types (a DateTime may be among them). */
const SELF_TYPED = /\b(Dynamic|JSON|Object)\b/;

/**
 * Whether values of these column types, under these options, depend on the server's zone: a
 * zone-less DateTime or DateTime64 read as text (`dates: 'string'`, or DateTime64 finer than
 * milliseconds by default), or written from text (`insert`). Over TCP the server names its zone
 * in its hello; over HTTP it must be asked (see HttpTransport.serverZone).
 */
export function needsServerZone(types: string[], o: ValueOptions, insert = false): boolean {
  if (!insert && o.serverTimezone) return false;
  const text = insert || o.dates === 'string';
  const byDefault = o.dates === undefined || o.dates === 'default';
  if (!text && !byDefault) return false;
  return types.some((t) => {
    if (text && ZONELESS_DATETIME.test(t)) return true;
    for (const m of t.matchAll(ZONELESS_DATETIME64)) if (text || +m[1]! > 3) return true;
    return !insert && SELF_TYPED.test(t);
  });
}

/**
 * FORMAT Native decoding of a response body, block by block, that also keeps
 * the last bytes seen so that an exception the server appended after HTTP 200
 * (it writes it after the last complete block) can be recovered.
 */
class NativeBodyDecoder extends NativeStreamDecoder {
  private window: Uint8Array[] = [];
  private windowBytes = 0;
  private windowStart = 0;

  constructor(options: ValueOptions) {
    super(options, undefined, BODY_SLAB_BYTES);
  }

  remember(chunk: Uint8Array): void {
    this.window.push(chunk);
    this.windowBytes += chunk.length;
    while (this.window.length > 1 && this.windowBytes - this.window[0]!.length >= TAIL_WINDOW) {
      const d = this.window.shift()!;
      this.windowBytes -= d.length;
      this.windowStart += d.length;
    }
  }

  override push(chunk: Uint8Array): Block[] {
    this.remember(chunk);
    return super.push(chunk);
  }

  /** The bytes after the last complete block (when still in the window). */
  trailing(): Uint8Array | undefined {
    if (this.boundary < this.windowStart) return undefined;
    return concatBytes(this.window).subarray(this.boundary - this.windowStart);
  }
}

// ---------------------------------------------------------------- Node bits, loaded on demand

interface Dispatcher {
  close(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A keep-alive undici Agent for Node's fetch: the `undici` package when
 * installed, else the Agent class of the undici bundled in Node (reached
 * through its global dispatcher). Undefined outside Node.
 */
async function nodeAgent(options: ClientOptions): Promise<Dispatcher | undefined> {
  const g = globalThis as Record<symbol, unknown> & { process?: { versions?: { node?: string } } };
  if (!g.process?.versions?.node || (globalThis as { Bun?: unknown }).Bun) return undefined;
  type AgentCtor = new (o: object) => Dispatcher;
  let Agent: AgentCtor | undefined;
  try {
    const spec = 'undici';
    const m = (await import(/* @vite-ignore */ spec)) as { Agent?: AgentCtor };
    Agent = m.Agent;
  } catch {
    /* not installed */
  }
  if (!Agent) {
    const key = Symbol.for('undici.globalDispatcher.1');
    if (!g[key]) await fetch('data:,').catch(() => undefined); // loads Node's bundled undici
    const d = g[key] as { constructor?: AgentCtor & { name?: string } } | undefined;
    if (d?.constructor?.name === 'Agent') Agent = d.constructor;
  }
  if (!Agent) return undefined;
  const t = options.tls ?? {};
  const connect: Record<string, unknown> = { rejectUnauthorized: t.reject_unauthorized ?? true };
  const pem = (v: string | Uint8Array) => (typeof v === 'string' ? v : new TextDecoder().decode(v));
  if (t.ca_cert) connect.ca = pem(t.ca_cert);
  if (t.cert) connect.cert = pem(t.cert);
  if (t.key) connect.key = pem(t.key);
  if (t.servername) connect.servername = t.servername;
  if (options.connect_timeout) connect.timeout = options.connect_timeout;
  return new Agent({
    connect,
    // ClickHouse closes idle keep-alive sockets after 3 s (keep_alive_timeout): stay below it.
    keepAliveTimeout: options.idle_socket_ttl ?? 2_500,
    keepAliveTimeoutThreshold: 500,
    connections: Math.max(1, options.max_open_connections ?? 10),
    // Many X-ClickHouse-Progress headers on long queries.
    maxHeaderSize: 1 << 20,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

async function loadCodecs(): Promise<CodecSet> {
  if (isServerRuntime()) {
    try {
      const spec = './compression.js';
      const m = (await import(/* @vite-ignore */ spec)) as typeof import('./compression.js');
      return await m.createNodeCodecs();
    } catch {
      /* fall through to the pure codecs */
    }
  }
  return codecSet(noneCodec(), pureLz4Codec());
}

// ---------------------------------------------------------------- the transport

interface Prepared {
  url: string;
  init: RequestInit & { duplex?: 'half'; dispatcher?: unknown };
}

interface SendOptions {
  /** Replayable and side-effect free: may be retried on a stale socket and failed over. */
  retryable: boolean;
  endpoint?: Endpoint;
}

/** Inactivity deadline + caller's signal, combined into one AbortController. */
class RequestControl {
  readonly controller = new AbortController();
  stop: Error | undefined;
  private readonly deadline: InactivityDeadline;
  private readonly onAbort: () => void;

  constructor(
    private readonly signal: AbortSignal | undefined,
    timeoutMs: number,
  ) {
    this.deadline = new InactivityDeadline(timeoutMs, () => this.abort(new TimeoutError(`no data from the server for ${timeoutMs} ms (request_timeout)`)));
    this.onAbort = () => this.abort(new AbortError(undefined, { cause: signal?.reason }));
    if (signal?.aborted) this.onAbort();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
    this.touch();
  }

  abort(e: Error): void {
    if (this.stop) return;
    this.stop = e;
    this.deadline.clear();
    this.controller.abort(e);
  }

  /** Activity: the inactivity deadline (re)starts now and runs until pause(). */
  touch(): void {
    if (!this.stop) this.deadline.touch();
  }

  /** The consumer holds the pace (or the body is produced at the source's): no deadline meanwhile. */
  pause(): void {
    this.deadline.pause();
  }

  done(): void {
    this.deadline.clear();
    this.signal?.removeEventListener('abort', this.onAbort);
  }

  /** The error to surface: the stop reason when we stopped, else e. */
  wrap(e: unknown): unknown {
    if (this.stop && !(e instanceof ClickHouseError)) return this.stop;
    return e;
  }
}

export class HttpTransport implements Transport {
  readonly kind = 'http' as const;
  private readonly options: HttpClientOptions;
  private readonly fetchFn: typeof fetch;
  private agent: Promise<Dispatcher | undefined> | undefined;
  private codecs: Promise<CodecSet> | undefined;
  private info: Promise<{ name: string; version: string; revision: number; timezone?: string }> | undefined;
  private readonly failedUntil = new Map<string, number>();
  private next = 0;
  private closed = false;
  private readonly userAgent: string;

  constructor(
    private readonly endpoints: Endpoint[],
    options: ClientOptions,
  ) {
    this.options = options as HttpClientOptions;
    const f = this.options.fetch ?? (globalThis as { fetch?: typeof fetch }).fetch;
    if (!f) throw new ClientError('the HTTP transport needs a global fetch (Node ≥ 18, browsers, Deno, Bun)', 'CHWIRE_NO_FETCH');
    this.fetchFn = f.bind(globalThis);
    this.userAgent = httpUserAgent(options.application);
    if (options.tls && !isServerRuntime()) {
      const t = options.tls;
      if (t.ca_cert || t.cert || t.key || t.reject_unauthorized === false)
        throw new ClientError('custom TLS options (CA, client certificates) need Node.js; browsers use their own trust store', 'CHWIRE_TLS_UNAVAILABLE');
    }
  }

  private get compression(): 'lz4' | 'zstd' | 'none' {
    return this.options.compression ?? 'none';
  }

  private getAgent(): Promise<Dispatcher | undefined> {
    this.agent ??= nodeAgent(this.options).then((a) => {
      const t = this.options.tls;
      if (!a && t && (t.ca_cert || t.cert || t.key || t.reject_unauthorized === false))
        throw new ClientError('custom TLS options need an undici Agent (install the `undici` package)', 'CHWIRE_TLS_UNAVAILABLE');
      return a;
    });
    return this.agent;
  }

  private getCodecs(): Promise<CodecSet> {
    this.codecs ??= loadCodecs();
    return this.codecs;
  }

  /** Endpoints in the order to try (recently failed ones last). */
  private order(): Endpoint[] {
    const now = Date.now();
    let list = this.endpoints;
    if (this.options.host_selection === 'round_robin' && list.length > 1) {
      const k = this.next++ % list.length;
      list = [...list.slice(k), ...list.slice(0, k)];
    }
    const key = (e: Endpoint) => `${e.host}:${e.port}`;
    return [...list.filter((e) => (this.failedUntil.get(key(e)) ?? 0) <= now), ...list.filter((e) => (this.failedUntil.get(key(e)) ?? 0) > now)];
  }

  private baseUrl(ep: Endpoint): string {
    const host = ep.host.includes(':') ? `[${ep.host}]` : ep.host;
    return `${ep.scheme}://${host}:${ep.port}/`;
  }

  /** Server-side `param_<name>` needs ClickHouse ≥ 19.11; older servers get client-side binding. */
  private async serverSupportsParams(): Promise<boolean> {
    const v = (await this.serverInfo()).version.split('.').map(Number);
    return v[0]! > 19 || (v[0] === 19 && v[1]! >= 11);
  }

  /** compress=1 responses are broken on 18.x (empty bodies). */
  private async responseMode(): Promise<'frames' | 'gzip' | 'none'> {
    const explicit = this.options.http_response_compression;
    if (explicit) return explicit;
    if (this.compression === 'none') return 'none';
    const major = Number((await this.serverInfo()).version.split('.')[0]);
    return major >= 19 ? 'frames' : 'gzip';
  }

  /** The URL search parameters and headers common to every request. */
  private build(
    ep: Endpoint,
    q: { settings?: Settings | undefined; queryId?: string | undefined; sessionId?: string | undefined; extra?: Record<string, string>; params?: Record<string, string> },
  ): { url: string; headers: Record<string, string> } {
    const sp = new URLSearchParams();
    const headers: Record<string, string> = {};
    if (ep.database) sp.set('database', ep.database);
    if (q.queryId) sp.set('query_id', q.queryId);
    if (q.sessionId) sp.set('session_id', q.sessionId);
    // Client-wide settings also go with internal requests (DESCRIBE, version probe, KILL): e.g. add_http_cors_header.
    for (const [k, v] of Object.entries({ ...this.options.clickhouse_settings, ...q.settings })) if (v !== undefined) sp.set(k, settingText(v));
    for (const [k, v] of Object.entries(q.extra ?? {})) sp.set(k, v);
    for (const [k, v] of Object.entries(q.params ?? {})) sp.set(`param_${k}`, v);
    const user = ep.username;
    const password = ep.password ?? '';
    if (user !== undefined || password) {
      const mode = this.options.http_auth ?? 'basic';
      if (mode === 'query') {
        sp.set('user', user ?? 'default');
        if (password) sp.set('password', password);
      } else if (mode === 'headers') {
        headers['X-ClickHouse-User'] = user ?? 'default';
        if (password) headers['X-ClickHouse-Key'] = password;
      } else headers['Authorization'] = `Basic ${base64(`${user ?? 'default'}:${password}`)}`;
    }
    if (!BROWSER_LIKE) headers['User-Agent'] = this.userAgent;
    Object.assign(headers, this.options.http_headers ?? {});
    const s = sp.toString();
    return { url: s ? `${this.baseUrl(ep)}?${s}` : this.baseUrl(ep), headers };
  }

  /**
   * Send a request, failing over between hosts; a request that failed before
   * any response byte (e.g. on a keep-alive socket the server had closed) is
   * retried once on a fresh connection when `retryable`.
   */
  private async send(make: (ep: Endpoint) => Prepared, ctl: RequestControl, o: SendOptions): Promise<{ res: Response; ep: Endpoint }> {
    if (this.closed) throw new ClientError('the client is closed', 'CHWIRE_CLIENT_CLOSED');
    const dispatcher = await this.getAgent();
    const eps = o.endpoint ? [o.endpoint] : this.order();
    let last: unknown;
    for (const ep of eps) {
      for (let attempt = 0; attempt < 2; attempt++) {
        if (ctl.stop) throw ctl.stop;
        const p = make(ep);
        const init: Prepared['init'] = { ...p.init, signal: ctl.controller.signal };
        if (dispatcher) init.dispatcher = dispatcher;
        try {
          const res = await this.fetchFn(p.url, init as RequestInit);
          this.failedUntil.delete(`${ep.host}:${ep.port}`);
          return { res, ep };
        } catch (e) {
          if (ctl.stop) throw ctl.stop;
          last = e;
          const code = causeCode(e);
          if (o.retryable && attempt === 0 && code !== undefined && STALE_SOCKET_CODES.has(code)) continue;
          break;
        }
      }
      if (!o.retryable) break;
      this.failedUntil.set(`${ep.host}:${ep.port}`, Date.now() + HOST_COOLDOWN_MS);
    }
    const ep = eps[0]!;
    const code = causeCode(last);
    const msg = last instanceof Error ? ((last as { cause?: Error }).cause?.message ?? last.message) : String(last);
    throw new ConnectionError(
      `HTTP request to ${ep.host}:${ep.port} failed: ${msg}`,
      { cause: last },
      code === 'ECONNREFUSED' ? 'CHWIRE_CONNECTION_REFUSED' : 'CHWIRE_CONNECTION',
    );
  }

  /** Query text and param_ parameters (server-side when supported, else bound client-side). */
  private async bind(sql: string, params?: Record<string, unknown>): Promise<{ sql: string; params?: Record<string, string> }> {
    if (!params || !Object.keys(params).length) {
      // A placeholder without a value: named here where the server would give a syntax error.
      if (sql.includes('{') && Object.keys(extractParamTypes(sql)).length && !(await this.serverSupportsParams())) bindQueryParams(sql, {});
      return { sql };
    }
    if (await this.serverSupportsParams()) {
      const types = extractParamTypes(sql);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(params)) out[k] = formatParamText(v as ParamValue, types[k]);
      return { sql, params: out };
    }
    return { sql: bindQueryParams(sql, params as Record<string, ParamValue>) };
  }

  private timeout(): number {
    return this.options.request_timeout ?? 30_000;
  }

  /** Best effort server-side cancel of a query the caller abandoned (HTTP has no Cancel packet). */
  private killQuery(queryId: string): void {
    if (this.closed) return;
    const ctl = new RequestControl(undefined, 5_000);
    const sql = `KILL QUERY WHERE query_id = ${formatSqlLiteral(queryId)} ASYNC`;
    this.send((ep) => {
      const { url, headers } = this.build(ep, {});
      return { url, init: { method: 'POST', headers, body: sql } };
    }, ctl, { retryable: true })
      .then((r) => r.res.body?.cancel())
      .catch(() => undefined)
      .finally(() => ctl.done());
  }

  query(p: QueryParams, options: ValueOptions): AsyncIterable<QueryEvent> & QueryHandle {
    const queryId = p.query_id ?? newQueryId();
    const rc: RecycleControl = { recycle: false };
    return Object.assign(this.run(p, queryId, options, rc), { queryId, valuesCopied: valuesCopiedFor(rc) });
  }

  private async *run(p: QueryParams, queryId: string, valueOptions: ValueOptions, rc: RecycleControl): AsyncGenerator<QueryEvent> {
    const ctl = new RequestControl(p.abort_signal, this.timeout());
    let finished = false;
    let sent = false;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    try {
      if (ctl.stop) throw ctl.stop;
      const bound = await this.bind(p.query, p.query_params);
      const params = bound.params;
      const insertLike = isInsertStatement(bound.sql);
      // The result is read as Native whatever FORMAT the text names (as over TCP, where the
      // server ignores it); raw formats go through exec().
      const sql = insertLike ? bound.sql : replaceTrailingFormat(bound.sql, 'Native');
      const mode = await this.responseMode();
      const codecs = mode === 'frames' ? await this.getCodecs() : undefined;
      const extra: Record<string, string> = { default_format: 'Native' };
      if (mode === 'frames') extra.compress = '1';
      if (mode === 'gzip') extra.enable_http_compression = '1';
      if (p.on_progress) extra.send_progress_in_http_headers = '1';
      sent = true;
      const { res } = await this.send(
        (ep) => {
          const { url, headers } = this.build(ep, { settings: p.clickhouse_settings, queryId, sessionId: p.session_id, extra, ...(params ? { params } : {}) });
          return { url, init: { method: 'POST', headers, body: sql } };
        },
        ctl,
        { retryable: !insertLike },
      );
      ctl.touch();
      if (res.status !== 200) {
        const body = new Uint8Array(await res.arrayBuffer());
        finished = true;
        throw errorFromResponse(res.status, res.statusText, body, res.headers, codecs);
      }
      let seen = emptyProgress();
      for (const prog of parseProgressHeaders(res.headers.get('x-clickhouse-progress'))) {
        const d = delta(prog, seen);
        seen = prog;
        if (!isZero(d)) yield { type: 'progress', progress: d };
      }
      // Values are made after a block is handed over, with these options: the server's zone can
      // still be put in when the first block shows a column that needs it.
      const opts: ValueOptions = { ...valueOptions };
      let zoneChecked = false;
      const decoder = new NativeBodyDecoder(opts);
      decoder.recycleBlocks = rc.recycle;
      rc.reader = decoder;
      const frames = codecs ? new FrameDecoder(codecs) : undefined;
      const blocks: Block[] = [];
      if (res.body) {
        reader = res.body.getReader();
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          ctl.touch();
          try {
            if (frames) for (const payload of frames.push(r.value)) blocks.push(...decoder.push(payload));
            else blocks.push(...decoder.push(r.value));
          } catch (e) {
            throw await this.trailingException(e, decoder, reader, frames);
          }
          // The consumer pulls at its pace: no deadline while a block waits to be taken.
          ctl.pause();
          if (!zoneChecked && blocks.length) {
            zoneChecked = true;
            if (needsServerZone(blocks[0]!.columns.map((c) => c.type), opts)) opts.serverTimezone = await this.serverZone();
          }
          for (const b of blocks) {
            yield { type: 'data', block: b };
            // The consumer asked for more: a tracked block's buffers may be reused now.
            decoder.release(b);
          }
          blocks.length = 0;
          ctl.touch();
        }
      }
      if (frames && !frames.idle) throw (await this.trailingException(undefined, decoder, undefined, frames)) ?? new ConnectionError('the response ended inside a compressed frame');
      if (decoder.incomplete) throw await this.trailingException(undefined, decoder, undefined, frames);
      const summary = parseProgressHeaders(res.headers.get('x-clickhouse-summary'))[0];
      if (summary) {
        const d = delta(summary, seen);
        if (!isZero(d)) yield { type: 'progress', progress: d };
      }
      finished = true;
    } catch (e) {
      finished = true;
      throw ctl.wrap(e);
    } finally {
      ctl.done();
      if (!finished) {
        // The consumer stopped early (or we were aborted): drop the response and cancel on the server.
        ctl.abort(new AbortError('the result was not read to its end'));
      }
      if (reader) void reader.cancel().catch(() => undefined);
      if (sent && ctl.stop && !(ctl.stop instanceof ClickHouseError)) this.killQuery(queryId);
    }
  }

  /** After a decode failure (or a truncated body): the server's exception written after HTTP 200, else the decode error. */
  private async trailingException(
    cause: unknown,
    decoder: NativeBodyDecoder,
    reader: ReadableStreamDefaultReader<Uint8Array> | undefined,
    frames: FrameDecoder | undefined,
  ): Promise<unknown> {
    // Read the rest (the exception text is short).
    if (reader) {
      let got = 0;
      try {
        for (;;) {
          const r = await reader.read();
          if (r.done) break;
          got += r.value.length;
          if (frames) {
            try {
              for (const payload of frames.push(r.value)) decoder.remember(payload);
            } catch {
              decoder.remember(r.value);
            }
          } else decoder.remember(r.value);
          if (got > MAX_EXCEPTION_BYTES) break;
        }
      } catch {
        /* keep what we have */
      }
    }
    const tail = decoder.trailing();
    if (tail && tail.length) {
      const e = parseExceptionText(new TextDecoder().decode(tail.subarray(0, MAX_EXCEPTION_BYTES)));
      if (e && /^\s*(Code: |__exception__)/.test(new TextDecoder().decode(tail.subarray(0, 64)))) return e;
    }
    if (cause) return cause;
    return new ConnectionError('the response ended inside a Native block', undefined, 'CHWIRE_TRUNCATED');
  }

  async command(p: QueryParams): Promise<QuerySummary> {
    const started = Date.now();
    const queryId = p.query_id ?? newQueryId();
    const progress = emptyProgress();
    const summary: QuerySummary = { progress, elapsedMs: 0, queryId };
    for await (const e of this.run(p, queryId, {}, { recycle: true })) {
      if (e.type === 'progress') {
        addProgress(progress, e.progress);
        p.on_progress?.(e.progress);
      }
    }
    summary.elapsedMs = Date.now() - started;
    return summary;
  }

  /** The insert header: the table's insertable columns (or the named ones) with their types. */
  private async insertHeader(table: string, columns: string[] | undefined, ctl: RequestControl): Promise<{ header: ColumnMeta[]; ep: Endpoint }> {
    const { res, ep } = await this.send(
      (e) => {
        const { url, headers } = this.build(e, { extra: { default_format: 'Native' } });
        return { url, init: { method: 'POST', headers, body: `DESCRIBE TABLE ${quoteTable(table)}` } };
      },
      ctl,
      { retryable: true },
    );
    const body = new Uint8Array(await res.arrayBuffer());
    if (res.status !== 200) throw errorFromResponse(res.status, res.statusText, body, res.headers, undefined);
    const all: { name: string; type: string; kind: string }[] = [];
    for (const b of decodeNative(body)) {
      const [names, types, kinds] = [0, 1, 2].map((i) => b.columns[i]?.toArray() as unknown[] | undefined);
      for (let i = 0; i < b.rowCount; i++) all.push({ name: String(names![i]), type: String(types![i]), kind: String(kinds?.[i] ?? '') });
    }
    if (!columns?.length) return { header: all.filter((c) => c.kind !== 'MATERIALIZED' && c.kind !== 'ALIAS').map(({ name, type }) => ({ name, type })), ep };
    const byName = new Map(all.map((c) => [c.name, c]));
    return {
      header: columns.map((n) => {
        const c = byName.get(n);
        if (!c) throw new ClientError(`table ${table} has no column ${JSON.stringify(n)}`, 'CHWIRE_UNKNOWN_COLUMN');
        return { name: c.name, type: c.type };
      }),
      ep,
    };
  }

  async insert(req: InsertRequest): Promise<InsertSummary> {
    const queryId = req.query_id ?? newQueryId();
    const ctl = new RequestControl(req.abort_signal, this.timeout());
    let sourceError: unknown;
    let rows = 0;
    try {
      if (ctl.stop) throw ctl.stop;
      const cols = req.columns?.length ? ` (${req.columns.map(quoteIdentifier).join(', ')})` : '';
      const sql = `INSERT INTO ${quoteTable(req.table)}${cols} FORMAT Native`;
      let chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
      let endpoint: Endpoint | undefined;
      if (req.native) chunks = req.native;
      else {
        const { header, ep } = await this.insertHeader(req.table, req.columns, ctl);
        endpoint = ep;
        // DateTime text without a zone is read in the server's zone, as the server reads it.
        const serverTimezone = needsServerZone(header.map((c) => c.type), {}, true) ? await this.serverZone() : undefined;
        const source = req.blocks(header);
        chunks = (async function* () {
          for await (const b of source as AsyncIterable<Block | BlockInput>) {
            const n = 'rowCount' in b ? b.rowCount : ((b as { columns: { values?: ArrayLike<unknown> }[] }).columns[0]?.values?.length ?? 0);
            const bytes = encodeNative(b, { serverTimezone });
            rows += n;
            yield bytes;
          }
        })();
      }
      const method = this.compression === 'lz4' ? 0x82 : this.compression === 'zstd' ? 0x90 : 0;
      const codecs = method ? await this.getCodecs() : undefined;
      if (codecs && !codecs.get(method)) throw new ClientError(`compression '${this.compression}' is not available here`, 'CHWIRE_CODEC_UNAVAILABLE');
      const framed = codecs ? frameChunks(chunks, method, codecs) : chunks;
      const body = await requestBody(framed, ctl, (e) => (sourceError = e));
      const extra: Record<string, string> = { query: sql };
      if (codecs) extra.decompress = '1';
      const settings = req.clickhouse_settings;
      ctl.pause(); // the body is produced at the source's pace
      let res: Response;
      try {
        ({ res } = await this.send(
          (ep) => {
            const { url, headers } = this.build(ep, { settings, queryId, extra });
            return { url, init: { method: 'POST', headers, body: body as BodyInit, ...(isStream(body) ? { duplex: 'half' as const } : {}) } };
          },
          ctl,
          { retryable: false, ...(endpoint ? { endpoint } : {}) },
        ));
      } catch (e) {
        if (sourceError) throw sourceError;
        throw e;
      }
      if (sourceError) throw sourceError;
      ctl.touch();
      const text = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 200) throw errorFromResponse(res.status, res.statusText, text, res.headers, undefined);
      const progress = emptyProgress();
      const summary = parseProgressHeaders(res.headers.get('x-clickhouse-summary'))[0];
      if (summary) addProgress(progress, summary);
      if (req.native) rows = summary?.writtenRows ?? 0;
      return { rows, queryId, progress };
    } catch (e) {
      throw ctl.wrap(sourceError ?? e);
    } finally {
      ctl.done();
    }
  }

  /**
   * Raw formats in and out: the response body as bytes/stream for any FORMAT;
   * `body` is sent as the data of an INSERT … FORMAT X (query in the URL).
   */
  async exec(p: ExecParams): Promise<ExecResult> {
    const queryId = p.query_id ?? newQueryId();
    const ctl = new RequestControl(p.abort_signal, this.timeout());
    try {
      if (ctl.stop) throw ctl.stop;
      const { sql, params } = await this.bind(p.query, p.query_params);
      const mode = await this.responseMode();
      const codecs = mode === 'frames' || this.compression !== 'none' ? await this.getCodecs() : undefined;
      const extra: Record<string, string> = {};
      if (mode === 'frames') extra.compress = '1';
      if (mode === 'gzip') extra.enable_http_compression = '1';
      let body: BodyInit;
      let retryable = !isInsertStatement(sql);
      if (p.body !== undefined) {
        extra.query = sql;
        retryable = false;
        const method = this.compression === 'lz4' ? 0x82 : this.compression === 'zstd' ? 0x90 : 0;
        if (typeof p.body === 'string' && !method) body = p.body;
        else {
          let src: AsyncIterable<Uint8Array> | Iterable<Uint8Array> =
            typeof p.body === 'string' ? [new TextEncoder().encode(p.body)] : p.body instanceof Uint8Array ? [p.body] : isStream(p.body) ? streamIterable(p.body) : p.body;
          if (method) {
            extra.decompress = '1';
            src = frameChunks(src, method, codecs!);
          }
          body = (await requestBody(src, ctl, () => undefined)) as BodyInit;
        }
      } else body = sql;
      const { res } = await this.send(
        (ep) => {
          const { url, headers } = this.build(ep, { settings: p.clickhouse_settings, queryId, sessionId: p.session_id, extra, ...(params ? { params } : {}) });
          return { url, init: { method: 'POST', headers, body, ...(isStream(body) ? { duplex: 'half' as const } : {}) } };
        },
        ctl,
        { retryable },
      );
      ctl.touch();
      if (res.status !== 200) {
        const b = new Uint8Array(await res.arrayBuffer());
        throw errorFromResponse(res.status, res.statusText, b, res.headers, codecs);
      }
      const frames = mode === 'frames' && codecs ? new FrameDecoder(codecs) : undefined;
      const raw = res.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() });
      const stream = raw.pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, out) {
            ctl.touch();
            if (frames) for (const x of frames.push(chunk)) out.enqueue(x);
            else out.enqueue(chunk);
          },
          flush() {
            ctl.done();
            frames?.end();
          },
        }),
      );
      const summary = parseProgressHeaders(res.headers.get('x-clickhouse-summary'))[0];
      const result: ExecResult = {
        queryId,
        headers: res.headers,
        stream,
        async bytes() {
          const parts: Uint8Array[] = [];
          for await (const c of streamIterable(stream)) parts.push(c);
          return parts.length ? concatBytes(parts) : new Uint8Array(0);
        },
        async text() {
          return new TextDecoder().decode(await result.bytes());
        },
        [Symbol.asyncIterator]: () => streamIterable(stream)[Symbol.asyncIterator](),
        ...(summary ? { summary } : {}),
      };
      return result;
    } catch (e) {
      ctl.done();
      throw ctl.wrap(e);
    }
  }

  async ping(): Promise<boolean> {
    const ctl = new RequestControl(undefined, this.timeout());
    try {
      const { res } = await this.send(
        (ep) => {
          if (BROWSER_LIKE) {
            // /ping carries no CORS headers: ask a trivial query instead.
            const { url, headers } = this.build(ep, {});
            return { url, init: { method: 'POST', headers, body: 'SELECT 1' } };
          }
          const { headers } = this.build(ep, {});
          return { url: `${this.baseUrl(ep)}ping`, init: { method: 'GET', headers } };
        },
        ctl,
        { retryable: true },
      );
      const text = await res.text();
      return res.status === 200 && (BROWSER_LIKE ? text.trim() === '1' : text.startsWith('Ok.'));
    } finally {
      ctl.done();
    }
  }

  /** The server's zone (asked once per client, with its version; see needsServerZone). */
  private async serverZone(): Promise<string> {
    const { timezone } = await this.serverInfo();
    if (!timezone) throw new ClientError('the server did not name its timezone (SELECT timezone())', 'CHWIRE_UNKNOWN_TIMEZONE');
    return timezone;
  }

  serverInfo(): Promise<{ name: string; version: string; revision: number; timezone?: string }> {
    this.info ??= (async () => {
      const ctl = new RequestControl(undefined, this.timeout());
      try {
        const { res } = await this.send(
          (ep) => {
            const { url, headers } = this.build(ep, { extra: { default_format: 'TabSeparated' } });
            return { url, init: { method: 'POST', headers, body: 'SELECT version(), timezone()' } };
          },
          ctl,
          { retryable: true },
        );
        const body = new Uint8Array(await res.arrayBuffer());
        if (res.status !== 200) throw errorFromResponse(res.status, res.statusText, body, res.headers, undefined);
        const [version = '0.0.0', timezone] = new TextDecoder().decode(body).trim().split('\t');
        return { name: 'ClickHouse', version, revision: 0, ...(timezone ? { timezone } : {}) };
      } finally {
        ctl.done();
      }
    })();
    this.info.catch(() => (this.info = undefined));
    return this.info;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const a = await this.agent?.catch(() => undefined);
    if (a) {
      // Let finished keep-alive sockets go; anything still running after 1 s is cut.
      let t: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([a.close(), new Promise<void>((r) => (t = setTimeout(r, 1000)))]);
      clearTimeout(t);
      await a.destroy().catch(() => undefined);
    }
  }
}

function causeCode(e: unknown): string | undefined {
  let c: unknown = e;
  for (let i = 0; i < 4 && c; i++) {
    const code = (c as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    c = (c as { cause?: unknown }).cause;
  }
  return undefined;
}

function isStream(b: unknown): b is ReadableStream<Uint8Array> {
  return typeof ReadableStream !== 'undefined' && b instanceof ReadableStream;
}

async function* streamIterable(s: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const r = s.getReader();
  try {
    for (;;) {
      const x = await r.read();
      if (x.done) return;
      yield x.value;
    }
  } finally {
    r.releaseLock();
  }
}

async function* frameChunks(src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, method: number, codecs: CodecSet): AsyncGenerator<Uint8Array> {
  for await (const chunk of src) for (const f of encodeFrames(chunk, method, codecs)) yield f;
}

/**
 * A request body from chunks: a streamed ReadableStream on server runtimes;
 * browsers (which stream uploads only over HTTP/2) get the chunks collected
 * into a Blob. A source error is reported through onError and errors the stream.
 */
async function requestBody(
  src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  ctl: RequestControl,
  onError: (e: unknown) => void,
): Promise<ReadableStream<Uint8Array> | Blob> {
  if (BROWSER_LIKE) {
    const parts: Uint8Array[] = [];
    try {
      for await (const c of src) parts.push(c);
    } catch (e) {
      onError(e);
      throw e;
    }
    return new Blob(parts as BlobPart[]);
  }
  const it = (src as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]?.() ?? toAsync((src as Iterable<Uint8Array>)[Symbol.iterator]());
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        if (ctl.stop) throw ctl.stop;
        const r = await it.next();
        if (r.done) c.close();
        else c.enqueue(r.value);
      } catch (e) {
        onError(e);
        c.error(e);
        ctl.abort(e instanceof Error ? e : new ClientError(String(e)));
      }
    },
    async cancel() {
      await it.return?.();
    },
  });
}

function toAsync<T>(it: Iterator<T>): AsyncIterator<T> {
  return {
    next: async () => it.next(),
    return: async (v?: unknown) => (it.return?.(v) ?? { done: true as const, value: v }) as IteratorResult<T>,
  };
}

export async function createHttpTransport(endpoints: Endpoint[], options: ClientOptions): Promise<Transport> {
  return new HttpTransport(endpoints, options);
}
