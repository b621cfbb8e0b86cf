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
import { InactivityDeadline, SessionTurns, isInsertStatement, newQueryId, quoteTable, replaceTrailingFormat, settingText, valuesCopiedFor, type RecycleControl } from './common.js';

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
/** Failures to connect: nothing of the request was sent, so any request may go to the next host. */
const CONNECT_FAILURE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
/** How long close() waits for the KILL QUERY requests it started before ending the connections. */
const CLOSE_KILL_WAIT_MS = 2_000;

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
async function nodeAgent(options: ClientOptions, connections: number): Promise<Dispatcher | undefined> {
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
    connections,
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
  /** The host to try first (with `pin`, the only one). */
  endpoint?: Endpoint;
  pin?: boolean;
  /** The request's session: it waits for the session's previous request to end (one at a time, in order). */
  session?: string | undefined;
  /** A streamed body: a failed attempt may be replayed only while nothing of it was read. */
  body?: BodySource;
  /** An internal request (KILL QUERY): no session, no connection slot, allowed while the client closes. */
  internal?: boolean;
}

/**
 * Inactivity deadline + caller's signal, combined into one AbortController; also what the
 * request holds (a connection slot, its session's turn), given back once when it ends or stops.
 */
class RequestControl {
  readonly controller = new AbortController();
  stop: Error | undefined;
  /** Where the request went last (set before each attempt): its KILL QUERY goes there. */
  ep: Endpoint | undefined;
  /** Runs once, when the request stops early (abort, deadline, close). */
  onStop: (() => void) | undefined;
  /** The deadline is paused (see waitTurn). */
  paused = false;
  private readonly deadline: InactivityDeadline;
  private readonly onAbort: () => void;
  /** Given back once, at done() or abort(), whichever comes first. */
  private releases: (() => void)[] = [];
  private slot: (() => void) | undefined;
  private over = false;

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
    this.onStop?.();
    this.release();
  }

  /** Activity: the inactivity deadline (re)starts now and runs until pause(). */
  touch(): void {
    this.paused = false;
    if (!this.stop) this.deadline.touch();
  }

  /** The consumer holds the pace (or the body is produced at the source's): no deadline meanwhile. */
  pause(): void {
    this.paused = true;
    this.deadline.pause();
  }

  /** `fn` runs once the request is over (now if it is). */
  whenOver(fn: () => void): void {
    if (this.over) fn();
    else this.releases.push(fn);
  }

  get hasSlot(): boolean {
    return this.slot !== undefined;
  }

  /** A connection slot, given back by freeSlot() or when the request is over. */
  holdSlot(free: () => void): void {
    if (this.over) return free();
    this.slot = free;
  }

  /** The response was read to its end: the connection is free for others. */
  freeSlot(): void {
    const f = this.slot;
    this.slot = undefined;
    f?.();
  }

  done(): void {
    this.deadline.clear();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.release();
  }

  private release(): void {
    if (this.over) return;
    this.over = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    this.freeSlot();
    for (const f of this.releases.splice(0)) f();
  }

  /** The error to surface: the stop reason when we stopped, else e. */
  wrap(e: unknown): unknown {
    if (this.stop && !(e instanceof ClickHouseError)) return this.stop;
    return e;
  }
}

/**
 * Wait for `turn` on behalf of a request: rejects with the request's stop reason (abort, close)
 * or a TimeoutError after `ms`. Meanwhile the request's inactivity deadline is paused and a
 * ref'ed timer keeps the process alive (no socket of this request does yet); an idle client
 * holds no timer.
 */
function waitTurn(turn: Promise<void>, ctl: RequestControl, ms: number, what: string): Promise<void> {
  if (ctl.stop) return Promise.reject(ctl.stop);
  const running = !ctl.paused;
  ctl.pause();
  return new Promise<void>((resolve, reject) => {
    const signal = ctl.controller.signal;
    let settled = false;
    const finish = (e?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onStop);
      if (e !== undefined) return reject(e);
      if (running) ctl.touch();
      resolve();
    };
    const onStop = (): void => finish(ctl.stop ?? signal.reason);
    signal.addEventListener('abort', onStop, { once: true });
    const timer = ms > 0 ? setTimeout(() => finish(new TimeoutError(what)), ms) : setInterval(() => undefined, 1 << 30);
    turn.then(() => finish(), finish);
  });
}

/** How much of a streamed request body is kept to replay it to the next host after a failed connect. */
const BODY_REPLAY_BYTES = 8 << 20;

/**
 * A request body made from chunks. Server runtimes stream it: each attempt gets a fresh stream
 * over the one source (highWaterMark 0: read only when fetch asks). fetch reads a first chunk
 * before it connects, so the chunks read so far are kept (up to BODY_REPLAY_BYTES, beyond the
 * first) and a later attempt gets them again first: after a failed connect nothing was sent, and
 * the next host receives the body whole. Browsers (which stream uploads only over HTTP/2) get the
 * chunks collected into a Blob. A source error is reported through onError, errors the stream
 * and stops the request.
 */
class BodySource {
  /** Every chunk read so far is in `replay` (false once over the limit or once a response came). */
  replayable = true;
  private replay: Uint8Array[] = [];
  private replayBytes = 0;

  private constructor(
    private readonly it: AsyncIterator<Uint8Array> | undefined,
    private readonly blob: Blob | undefined,
    private readonly ctl: RequestControl,
    private readonly onError: (e: unknown) => void,
  ) {}

  static async create(src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, ctl: RequestControl, onError: (e: unknown) => void): Promise<BodySource> {
    if (BROWSER_LIKE) {
      const parts: Uint8Array[] = [];
      try {
        for await (const c of src) parts.push(c);
      } catch (e) {
        onError(e);
        throw e;
      }
      return new BodySource(undefined, new Blob(parts as BlobPart[]), ctl, onError);
    }
    const it = (src as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]?.() ?? toAsync((src as Iterable<Uint8Array>)[Symbol.iterator]());
    return new BodySource(it, undefined, ctl, onError);
  }

  /** The body for one attempt: the chunks kept, then the rest of the source. */
  body(): ReadableStream<Uint8Array> | Blob {
    if (this.blob) return this.blob;
    if (!this.replayable && this.replay.length) throw new ClientError('a request body cannot be sent twice', 'CHWIRE_INTERNAL');
    const it = this.it!;
    const ctl = this.ctl;
    let i = 0;
    // A cancelled attempt (fetch gave up on it) does not end the source: close() does, once.
    return new ReadableStream<Uint8Array>(
      {
        pull: async (c) => {
          try {
            if (ctl.stop) throw ctl.stop;
            if (i < this.replay.length) return c.enqueue(this.replay[i++]!);
            const r = await it.next();
            if (r.done) return c.close();
            this.keep(r.value);
            i++;
            c.enqueue(r.value);
          } catch (e) {
            this.onError(e);
            c.error(e);
            ctl.abort(e instanceof Error ? e : new ClientError(String(e)));
          }
        },
      },
      { highWaterMark: 0 },
    );
  }

  private keep(chunk: Uint8Array): void {
    if (!this.replayable) return;
    if (this.replay.length && this.replayBytes + chunk.length > BODY_REPLAY_BYTES) return this.sent();
    this.replay.push(chunk);
    this.replayBytes += chunk.length;
  }

  /** A response came (or too much was read): the body is never replayed; drop what was kept. */
  sent(): void {
    this.replayable = false;
    this.replay = [];
    this.replayBytes = 0;
  }

  /** The request failed or stopped: end the source (in the background: it may be mid-chunk). */
  close(): void {
    void this.it?.return?.()?.catch(() => undefined);
  }
}

export class HttpTransport implements Transport {
  readonly kind = 'http' as const;
  private readonly options: HttpClientOptions;
  private readonly fetchFn: typeof fetch;
  private agent: Promise<Dispatcher | undefined> | undefined;
  private internalAgent: Promise<Dispatcher | undefined> | undefined;
  private codecs: Promise<CodecSet> | undefined;
  private info: Promise<{ name: string; version: string; revision: number; timezone?: string }> | undefined;
  private readonly failedUntil = new Map<string, number>();
  private next = 0;
  private closed = false;
  /** The agent is gone (close() ended): not even a KILL QUERY goes out. */
  private destroyed = false;
  private readonly userAgent: string;
  /** Requests not over yet (close() stops them). */
  private readonly active = new Set<RequestControl>();
  /** KILL QUERY requests under way (close() lets them end before the connections go). */
  private readonly kills = new Set<Promise<void>>();
  /** Connection slots (max_open_connections). Invariant: slotsInUse counts slots held; a freed slot goes to the first waiter still waiting. */
  private slotsInUse = 0;
  private slotWaiters: (() => boolean)[] = [];
  /** Per session_id: settles when the session's last queued request is over (requests run one at a time, in order). */
  /** The session turn each request holds (see sessionTurn). */
  private readonly sessionTurns = new WeakMap<RequestControl, string>();
  private readonly turns = new SessionTurns();

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

  /**
   * The transport's own short requests (KILL QUERY, the server's zone asked mid-result) use a
   * connection of their own: they must not wait behind the very request they serve.
   */
  private getInternalAgent(): Promise<Dispatcher | undefined> {
    this.internalAgent ??= this.getAgent().then((a) => (a ? nodeAgent(this.options, 1) : undefined));
    return this.internalAgent;
  }

  private getAgent(): Promise<Dispatcher | undefined> {
    this.agent ??= nodeAgent(this.options, Math.max(1, this.options.max_open_connections ?? 10)).then((a) => {
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
    if (explicit && explicit !== 'frames') return explicit;
    if (!explicit && this.compression === 'none') return 'none';
    const major = Number((await this.serverInfo()).version.split('.')[0]);
    // ClickHouse 18.x answers compress=1 with an empty body (a Poco assertion in the server): every
    // result would look empty. Asked for explicitly, that is an error, not an empty result.
    if (explicit && major < 19)
      throw new ClientError(`http_response_compression 'frames' needs ClickHouse 19 or later (this server: ${(await this.serverInfo()).version}, whose compress=1 responses are empty): use 'gzip' or 'none'`, 'CHWIRE_BAD_OPTION');
    return explicit ?? (major >= 19 ? 'frames' : 'gzip');
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
    // Header names are case-insensitive: a user header replaces a built-in one of any case.
    for (const [k, v] of Object.entries(this.options.http_headers ?? {})) {
      const lower = k.toLowerCase();
      for (const h of Object.keys(headers)) if (h.toLowerCase() === lower) delete headers[h];
      headers[k] = v;
    }
    const s = sp.toString();
    return { url: s ? `${this.baseUrl(ep)}?${s}` : this.baseUrl(ep), headers };
  }

  /**
   * Send a request, failing over between hosts. A request that failed before any response byte
   * (e.g. on a keep-alive socket the server had closed) is retried once on a fresh connection and
   * failed over when `retryable`. Any request moves on to the next host when the connection could
   * not be made (nothing was sent); once bytes may have reached a server, a non-retryable request
   * is never sent again.
   */
  private async send(make: (ep: Endpoint) => Prepared, ctl: RequestControl, o: SendOptions): Promise<{ res: Response; ep: Endpoint }> {
    if (!o.internal) {
      if (this.closed) throw closedError();
      if (o.session !== undefined) await this.sessionTurn(o.session, ctl);
      await this.takeSlot(ctl);
    }
    const dispatcher = await (o.internal ? this.getInternalAgent() : this.getAgent());
    const eps = o.endpoint ? (o.pin ? [o.endpoint] : [o.endpoint, ...this.order().filter((e) => e !== o.endpoint)]) : this.order();
    const failures: { ep: Endpoint; error: unknown }[] = [];
    for (const ep of eps) {
      let error: unknown;
      for (let attempt = 0; attempt < 2; attempt++) {
        if (ctl.stop) throw ctl.stop;
        const p = make(ep);
        const init: Prepared['init'] = { ...p.init, signal: ctl.controller.signal };
        if (dispatcher) init.dispatcher = dispatcher;
        ctl.ep = ep;
        try {
          const res = await this.fetchFn(p.url, init as RequestInit);
          o.body?.sent();
          this.failedUntil.delete(`${ep.host}:${ep.port}`);
          return { res, ep };
        } catch (e) {
          if (ctl.stop) throw ctl.stop;
          error = e;
          const code = causeCode(e);
          if (o.retryable && attempt === 0 && code !== undefined && STALE_SOCKET_CODES.has(code)) continue;
          break;
        }
      }
      failures.push({ ep, error });
      // Not connected: nothing of the request (nor of its body) reached this host.
      const unreached = CONNECT_FAILURE_CODES.has(causeCode(error) ?? '') && (o.body?.replayable ?? true);
      if (o.retryable || unreached) this.failedUntil.set(`${ep.host}:${ep.port}`, Date.now() + HOST_COOLDOWN_MS);
      if (!o.retryable && !unreached) break;
    }
    throw hostsFailed(failures);
  }

  /** The session's turn: once its previous request is over (bounded by request_timeout and abort). */
  private async sessionTurn(id: string, ctl: RequestControl): Promise<void> {
    // A request of several HTTP requests (an insert's DESCRIBE, then its data) takes its turn once.
    if (this.sessionTurns.get(ctl) === id) return;
    this.sessionTurns.set(ctl, id);
    const { before, leave } = this.turns.join(id);
    ctl.whenOver(leave);
    const ms = this.timeout();
    await waitTurn(before, ctl, ms, `session '${id}' stayed busy for ${ms} ms`);
  }

  private get maxSlots(): number {
    return Math.max(1, this.options.max_open_connections ?? 10);
  }

  /** A connection slot for the request, held until it is over or frees it (the agent has as many connections). */
  private async takeSlot(ctl: RequestControl): Promise<void> {
    if (ctl.hasSlot) return;
    if (this.slotsInUse < this.maxSlots) this.slotsInUse++;
    else {
      let granted = false;
      let gaveUp = false;
      let grant!: () => boolean;
      const turn = new Promise<void>(
        (r) =>
          (grant = () => {
            if (gaveUp) return false;
            granted = true;
            r();
            return true;
          }),
      );
      this.slotWaiters.push(grant);
      const ms = this.timeout();
      try {
        await waitTurn(turn, ctl, ms, `no connection became free within ${ms} ms (max_open_connections = ${this.maxSlots})`);
      } catch (e) {
        gaveUp = true;
        this.slotWaiters = this.slotWaiters.filter((w) => w !== grant);
        if (granted) this.freeSlot();
        throw e;
      }
    }
    ctl.holdSlot(() => this.freeSlot());
  }

  private freeSlot(): void {
    for (let w = this.slotWaiters.shift(); w; w = this.slotWaiters.shift()) if (w()) return;
    this.slotsInUse--;
  }

  /** A control for a request; with a query id, stopping it early cancels that query on the server. */
  private control(signal: AbortSignal | undefined, queryId?: string): RequestControl {
    const ctl = new RequestControl(signal, this.timeout());
    if (this.closed) {
      ctl.abort(closedError());
      return ctl;
    }
    this.active.add(ctl);
    ctl.whenOver(() => this.active.delete(ctl));
    if (queryId !== undefined)
      ctl.onStop = () => {
        if (ctl.ep && !(ctl.stop instanceof ClickHouseError)) this.killQuery(queryId, ctl.ep);
      };
    return ctl;
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

  /**
   * Best effort server-side cancel of a query the caller abandoned (HTTP has no Cancel packet),
   * sent to the host that ran it; close() waits for it (briefly) before ending the connections.
   */
  private killQuery(queryId: string, ep: Endpoint): void {
    if (this.destroyed) return;
    const ctl = new RequestControl(undefined, 5_000);
    const sql = `KILL QUERY WHERE query_id = ${formatSqlLiteral(queryId)} ASYNC`;
    const k: Promise<void> = this.send(
      (e) => {
        const { url, headers } = this.build(e, {});
        return { url, init: { method: 'POST', headers, body: sql } };
      },
      ctl,
      { retryable: true, endpoint: ep, pin: true, internal: true },
    )
      .then((r) => r.res.body?.cancel())
      .catch(() => undefined)
      .finally(() => {
        ctl.done();
        this.kills.delete(k);
      });
    this.kills.add(k);
  }

  query(p: QueryParams, options: ValueOptions): AsyncIterable<QueryEvent> & QueryHandle {
    const queryId = p.query_id ?? newQueryId();
    const rc: RecycleControl = { recycle: false };
    return Object.assign(this.run(p, queryId, options, rc), { queryId, valuesCopied: valuesCopiedFor(rc) });
  }

  private async *run(p: QueryParams, queryId: string, valueOptions: ValueOptions, rc: RecycleControl): AsyncGenerator<QueryEvent> {
    const ctl = this.control(p.abort_signal, queryId);
    let finished = false;
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
      const { res, ep } = await this.send(
        (ep) => {
          const { url, headers } = this.build(ep, { settings: p.clickhouse_settings, queryId, sessionId: p.session_id, extra, ...(params ? { params } : {}) });
          return { url, init: { method: 'POST', headers, body: sql } };
        },
        ctl,
        { retryable: !insertLike, session: p.session_id },
      );
      ctl.touch();
      if (res.status !== 200) {
        const body = await readAll(res, ep, ctl);
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
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await reader.read();
          } catch (e) {
            // A connection lost mid-body (or our stop): a ConnectionError, unless the server wrote its exception first.
            throw ctl.stop ?? (await this.trailingException(connectionLost(ep, e), decoder, undefined, frames));
          }
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
            // Stopped (abort, close) while the consumer held a block: nothing more is handed out.
            if (ctl.stop) throw ctl.stop;
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
      // The consumer stopped early: drop the response; stopping cancels the query on the server (ctl.onStop).
      if (!finished) ctl.abort(new AbortError('the result was not read to its end'));
      if (reader) void reader.cancel().catch(() => undefined);
      ctl.done();
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
  private async insertHeader(table: string, columns: string[] | undefined, ctl: RequestControl, session?: string): Promise<{ header: ColumnMeta[]; ep: Endpoint }> {
    const { res, ep } = await this.send(
      (e) => {
        // In the insert's session: its temporary tables are only there.
        const { url, headers } = this.build(e, { extra: { default_format: 'Native' }, sessionId: session });
        return { url, init: { method: 'POST', headers, body: `DESCRIBE TABLE ${quoteTable(table)}` } };
      },
      ctl,
      { retryable: true, ...(session !== undefined ? { session } : {}) },
    );
    const body = await readAll(res, ep, ctl);
    // Read to its end: the connection is free (serverZone() may need it under max_open_connections = 1).
    ctl.freeSlot();
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
    const ctl = this.control(req.abort_signal, queryId);
    let sourceError: unknown;
    let source: BodySource | undefined;
    let ok = false;
    let rows = 0;
    try {
      if (ctl.stop) throw ctl.stop;
      const cols = req.columns?.length ? ` (${req.columns.map(quoteIdentifier).join(', ')})` : '';
      const sql = `INSERT INTO ${quoteTable(req.table)}${cols} FORMAT Native`;
      let chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
      let endpoint: Endpoint | undefined;
      if (req.native) {
        // Decoded on the way (as over TCP): its rows are counted (18.16 sends no summary) and a
        // malformed or cut stream fails here rather than as whatever the server makes of it.
        const native = req.native;
        chunks = (async function* () {
          const dec = new NativeStreamDecoder();
          for await (const bytes of native as AsyncIterable<Uint8Array>) {
            for (const b of dec.push(bytes)) rows += b.rowCount;
            yield bytes;
          }
          dec.end();
        })();
      } else {
        const { header, ep } = await this.insertHeader(req.table, req.columns, ctl, req.session_id);
        endpoint = ep;
        // DateTime text without a zone is read in the server's zone, as the server reads it.
        const serverTimezone = needsServerZone(header.map((c) => c.type), {}, true) ? await this.serverZone() : undefined;
        const blocks = req.blocks(header);
        chunks = (async function* () {
          for await (const b of blocks as AsyncIterable<Block | BlockInput>) {
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
      const body = (source = await BodySource.create(framed, ctl, (e) => (sourceError = e)));
      const extra: Record<string, string> = { query: sql };
      if (codecs) extra.decompress = '1';
      const settings = req.clickhouse_settings;
      ctl.pause(); // the body is produced at the source's pace
      let res: Response;
      let ep: Endpoint;
      try {
        ({ res, ep } = await this.send(
          (e) => {
            const { url, headers } = this.build(e, { settings, queryId, extra, sessionId: req.session_id });
            const b = body.body();
            return { url, init: { method: 'POST', headers, body: b as BodyInit, ...(isStream(b) ? { duplex: 'half' as const } : {}) } };
          },
          ctl,
          { retryable: false, body, ...(endpoint ? { endpoint } : {}), ...(req.session_id !== undefined ? { session: req.session_id } : {}) },
        ));
      } catch (e) {
        if (sourceError) throw sourceError;
        throw e;
      }
      if (sourceError) throw sourceError;
      ctl.touch();
      const text = await readAll(res, ep, ctl);
      if (res.status !== 200) throw errorFromResponse(res.status, res.statusText, text, res.headers, undefined);
      const progress = emptyProgress();
      const summary = parseProgressHeaders(res.headers.get('x-clickhouse-summary'))[0];
      if (summary) addProgress(progress, summary);
      ok = true;
      return { rows, queryId, progress };
    } catch (e) {
      throw ctl.wrap(sourceError ?? e);
    } finally {
      ctl.done();
      if (!ok) source?.close();
    }
  }

  /**
   * Raw formats in and out: the response body as bytes/stream for any FORMAT;
   * `body` is sent as the data of an INSERT … FORMAT X (query in the URL).
   */
  async exec(p: ExecParams): Promise<ExecResult> {
    const queryId = p.query_id ?? newQueryId();
    const ctl = this.control(p.abort_signal, queryId);
    let source: BodySource | undefined;
    try {
      if (ctl.stop) throw ctl.stop;
      const { sql, params } = await this.bind(p.query, p.query_params);
      const mode = await this.responseMode();
      const codecs = mode === 'frames' || this.compression !== 'none' ? await this.getCodecs() : undefined;
      const extra: Record<string, string> = {};
      if (mode === 'frames') extra.compress = '1';
      if (mode === 'gzip') extra.enable_http_compression = '1';
      let body: string | BodySource;
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
          body = source = await BodySource.create(src, ctl, () => undefined);
        }
      } else body = sql;
      const { res, ep } = await this.send(
        (e) => {
          const { url, headers } = this.build(e, { settings: p.clickhouse_settings, queryId, sessionId: p.session_id, extra, ...(params ? { params } : {}) });
          const b = typeof body === 'string' ? body : body.body();
          return { url, init: { method: 'POST', headers, body: b as BodyInit, ...(isStream(b) ? { duplex: 'half' as const } : {}) } };
        },
        ctl,
        { retryable, session: p.session_id, ...(source ? { body: source } : {}) },
      );
      ctl.touch();
      if (res.status !== 200) {
        const b = await readAll(res, ep, ctl);
        throw errorFromResponse(res.status, res.statusText, b, res.headers, codecs);
      }
      const frames = mode === 'frames' && codecs ? new FrameDecoder(codecs) : undefined;
      const stream = execStream(res, ep, ctl, frames);
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
      const err = ctl.wrap(e);
      ctl.done();
      source?.close();
      throw err;
    }
  }

  async ping(): Promise<boolean> {
    const ctl = this.control(undefined);
    try {
      if (ctl.stop) throw ctl.stop;
      const { res, ep } = await this.send(
        (e) => {
          if (BROWSER_LIKE) {
            // /ping carries no CORS headers: ask a trivial query instead.
            const { url, headers } = this.build(e, {});
            return { url, init: { method: 'POST', headers, body: 'SELECT 1' } };
          }
          const { headers } = this.build(e, {});
          return { url: `${this.baseUrl(e)}ping`, init: { method: 'GET', headers } };
        },
        ctl,
        { retryable: true },
      );
      const text = new TextDecoder().decode(await readAll(res, ep, ctl));
      return res.status === 200 && (BROWSER_LIKE ? text.trim() === '1' : text.startsWith('Ok.'));
    } catch (e) {
      throw ctl.wrap(e);
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
      const ctl = this.control(undefined);
      try {
        if (ctl.stop) throw ctl.stop;
        const { res, ep } = await this.send(
          (e) => {
            const { url, headers } = this.build(e, { extra: { default_format: 'TabSeparated' } });
            return { url, init: { method: 'POST', headers, body: 'SELECT version(), timezone()' } };
          },
          ctl,
          // Internal: no slot (it may be asked while the request that needs it holds the last one).
          { retryable: true, internal: true },
        );
        const body = await readAll(res, ep, ctl);
        if (res.status !== 200) throw errorFromResponse(res.status, res.statusText, body, res.headers, undefined);
        const [version = '0.0.0', timezone] = new TextDecoder().decode(body).trim().split('\t');
        return { name: 'ClickHouse', version, revision: 0, ...(timezone ? { timezone } : {}) };
      } catch (e) {
        throw ctl.wrap(e);
      } finally {
        ctl.done();
      }
    })();
    this.info.catch(() => (this.info = undefined));
    return this.info;
  }

  /**
   * Ends every request still running or queued (they reject with CHWIRE_CLIENT_CLOSED; a running
   * query gets KILL QUERY on its host), waits briefly for those KILLs, then drops the connections.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const ctl of [...this.active]) ctl.abort(new ClientError('the client was closed while this request ran', 'CHWIRE_CLIENT_CLOSED'));
    if (this.kills.size) {
      let t: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.allSettled([...this.kills]), new Promise<void>((r) => (t = setTimeout(r, CLOSE_KILL_WAIT_MS)))]);
      clearTimeout(t);
    }
    this.destroyed = true;
    for (const agent of [this.agent, this.internalAgent]) {
      const a = await agent?.catch(() => undefined);
      await a?.destroy().catch(() => undefined);
    }
  }
}

/**
 * exec()'s response body, pulled only when the consumer reads: the inactivity deadline runs only
 * while a read waits for the server. A body that breaks off is a ConnectionError; an error, abort
 * or cancel() stops the request, which cancels the query on the server.
 */
function execStream(res: Response, ep: Endpoint, ctl: RequestControl, frames: FrameDecoder | undefined): ReadableStream<Uint8Array> {
  const reader = res.body?.getReader();
  let over = false;
  const stop = (e: Error): void => {
    if (over) return;
    over = true;
    ctl.abort(e);
    if (reader) void reader.cancel().catch(() => undefined);
    ctl.done();
  };
  ctl.pause(); // nobody reads yet
  return new ReadableStream<Uint8Array>(
    {
      async pull(c) {
        try {
          for (;;) {
            if (ctl.stop) throw ctl.stop;
            if (!reader) {
              over = true;
              ctl.done();
              return c.close();
            }
            ctl.touch();
            let r: ReadableStreamReadResult<Uint8Array>;
            try {
              r = await reader.read();
            } catch (e) {
              throw ctl.stop ?? connectionLost(ep, e);
            }
            ctl.pause();
            if (r.done) {
              frames?.end();
              over = true;
              ctl.done();
              return c.close();
            }
            if (!frames) return c.enqueue(r.value);
            const out = frames.push(r.value);
            for (const x of out) c.enqueue(x);
            // A pull that enqueues nothing is not called again: read on until a payload is complete.
            if (out.length) return;
          }
        } catch (e) {
          const err = ctl.wrap(e);
          stop(err instanceof Error ? err : new ClientError(String(err)));
          throw err;
        }
      },
      cancel(reason) {
        stop(new AbortError('the response stream was cancelled', { cause: reason }));
      },
    },
    { highWaterMark: 0 },
  );
}

function closedError(): ClientError {
  return new ClientError('the client is closed', 'CHWIRE_CLIENT_CLOSED');
}

/** The innermost useful message of a fetch failure (undici's TypeError says only "fetch failed"); no URL, so no password. */
function causeMessage(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message ? cause.message : e.message;
}

/** Every host tried, each with its own failure. */
function hostsFailed(failures: { ep: Endpoint; error: unknown }[]): ConnectionError {
  const last = failures[failures.length - 1]!;
  const name = (ep: Endpoint) => `${ep.host}:${ep.port}`;
  const message =
    failures.length === 1
      ? `HTTP request to ${name(last.ep)} failed: ${causeMessage(last.error)}`
      : `HTTP request failed on ${failures.length} hosts: ${failures.map((f) => `${name(f.ep)}: ${causeMessage(f.error)}`).join('; ')}`;
  const refused = failures.every((f) => causeCode(f.error) === 'ECONNREFUSED');
  return new ConnectionError(message, { cause: last.error }, refused ? 'CHWIRE_CONNECTION_REFUSED' : 'CHWIRE_CONNECTION');
}

/** A response body that broke off (undici's `TypeError: terminated`), as TCP names a closed connection. */
function connectionLost(ep: Endpoint | undefined, e: unknown): ConnectionError {
  const where = ep ? `${ep.host}:${ep.port}` : 'the server';
  return new ConnectionError(`the connection to ${where} was lost while reading the response: ${causeMessage(e)}`, { cause: e }, 'CHWIRE_CONNECTION_CLOSED');
}

/** The whole response body; a broken connection is a ConnectionError (or the request's stop reason). */
async function readAll(res: Response, ep: Endpoint, ctl: RequestControl): Promise<Uint8Array> {
  try {
    return new Uint8Array(await res.arrayBuffer());
  } catch (e) {
    throw ctl.stop ?? connectionLost(ep, e);
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

/** A stream's chunks; leaving early cancels the stream (for exec(): the query on the server). */
async function* streamIterable(s: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const r = s.getReader();
  let ended = false;
  try {
    for (;;) {
      const x = await r.read();
      if (x.done) {
        ended = true;
        return;
      }
      yield x.value;
    }
  } catch (e) {
    ended = true;
    throw e;
  } finally {
    if (!ended) await r.cancel().catch(() => undefined);
    r.releaseLock();
  }
}

async function* frameChunks(src: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, method: number, codecs: CodecSet): AsyncGenerator<Uint8Array> {
  for await (const chunk of src) for (const f of encodeFrames(chunk, method, codecs)) yield f;
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
