import type { Block } from '../core/native/block-types.js';
import type { BlockInput } from '../core/native/writer.js';
import type { ValueOptions } from '../core/columns/column.js';
import { AbortError, ClientError } from './errors.js';
import { ResultSet, rowStream } from './result-set.js';
import { batchRows, columnsToBlock, inferColumns } from './insert.js';
import type { ExecParams, ExecResult } from '../transport/http.js';
import type { ClientOptions, ColumnMeta, InsertSummary, QueryEvent, QueryParams, QuerySummary, Settings, Transport } from './types.js';

export interface Endpoint {
  scheme: 'tcp' | 'tcps' | 'http' | 'https' | 'chdb';
  host: string;
  port: number;
  username?: string;
  password?: string;
  database?: string;
  /** chdb: data directory ('' = in-memory). */
  path?: string;
}

const DEFAULT_PORTS: Record<string, number> = { tcp: 9000, tcps: 9440, http: 8123, https: 8443, chdb: 0 };

/** Parse a connection URL. Passwords are kept out of every message. */
export function parseEndpoint(url: string): Endpoint {
  if (/^chdb:/i.test(url)) {
    const path = decodeURIComponent(url.slice(5).replace(/^\/\/(?=\/)/, ''));
    return { scheme: 'chdb', host: '', port: 0, path };
  }
  let u: URL;
  try {
    u = new URL(url.includes('://') ? url : `clickhouse://${url}`);
  } catch {
    throw new ClientError(`invalid url '${url.replace(/:[^:@/]*@/, ':***@')}'`);
  }
  const proto = u.protocol.replace(/:$/, '').toLowerCase();
  const scheme = ({ clickhouse: 'tcp', tcp: 'tcp', native: 'tcp', clickhouses: 'tcps', tcps: 'tcps', http: 'http', https: 'https' } as const)[proto as 'tcp'];
  if (!scheme) throw new ClientError(`unsupported url scheme '${proto}:' (use clickhouse://, clickhouses://, tcp://, http(s)://, or chdb:)`);
  const ep: Endpoint = { scheme, host: u.hostname.replace(/^\[|\]$/g, '') || 'localhost', port: u.port ? Number(u.port) : DEFAULT_PORTS[scheme]! };
  if (u.username) ep.username = decodeURIComponent(u.username);
  if (u.password) ep.password = decodeURIComponent(u.password);
  const db = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (db) ep.database = db;
  return ep;
}

/** The endpoints a client talks to, from url / host / hosts options. */
export function resolveEndpoints(o: ClientOptions): Endpoint[] {
  const list: Endpoint[] = [];
  if (o.hosts?.length) for (const h of o.hosts) list.push(parseEndpoint(h));
  else if (o.url) list.push(parseEndpoint(o.url));
  else if (o.host) list.push(parseEndpoint(`${o.tls ? 'clickhouses' : 'clickhouse'}://${o.host.includes(':') && !o.host.startsWith('[') ? `[${o.host}]` : o.host}:${o.port ?? (o.tls ? 9440 : 9000)}`));
  else list.push({ scheme: 'chdb', host: '', port: 0, path: '' });
  const kinds = new Set(list.map((e) => (e.scheme === 'tcps' ? 'tcp' : e.scheme === 'https' ? 'http' : e.scheme)));
  if (kinds.size > 1) throw new ClientError('all hosts of one client must use the same protocol');
  for (const e of list) {
    e.username ??= o.username;
    e.password ??= o.password;
    e.database ??= o.database;
  }
  return list;
}

export type TransportFactory = (endpoints: Endpoint[], options: ClientOptions) => Promise<Transport>;

async function defaultFactory(endpoints: Endpoint[], options: ClientOptions): Promise<Transport> {
  try {
    return await loadTransport(endpoints, options);
  } catch (e) {
    // In a browser only http(s):// can load: the TCP and embedded transports need Node.js.
    if (e instanceof TypeError && /import|module/i.test(e.message))
      throw new ClientError(`the ${endpoints[0]!.scheme}: transport cannot be loaded here (${e.message}); in a browser use an http(s):// url`, 'CHWIRE_TRANSPORT_UNAVAILABLE');
    throw e;
  }
}

async function loadTransport(endpoints: Endpoint[], options: ClientOptions): Promise<Transport> {
  const scheme = endpoints[0]!.scheme;
  if (scheme === 'chdb') {
    const m = await import('../transport/embedded.js');
    return m.createEmbeddedTransport(endpoints[0]!, options);
  }
  if (scheme === 'http' || scheme === 'https') {
    const m = await import('../transport/http.js');
    return m.createHttpTransport(endpoints, options);
  }
  const m = await import('../transport/tcp.js');
  return m.createTcpTransport(endpoints, options);
}

export interface InsertParams {
  table: string;
  /** Rows: objects keyed by column name, or arrays in column order; or an (async) iterable of them. */
  values?: unknown[] | AsyncIterable<unknown> | Iterable<unknown>;
  /** Columnar input: { name: values } (TypedArrays welcome). */
  columns?: Record<string, ArrayLike<unknown>> | string[];
  /** Pre-made blocks. */
  blocks?: (Block | BlockInput)[] | AsyncIterable<Block | BlockInput>;
  /** Raw Native bytes (FORMAT Native layout) to send as they are. */
  native?: Uint8Array | AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  clickhouse_settings?: Settings;
  query_id?: string;
  abort_signal?: AbortSignal;
  /** Insert within this session (e.g. into its temporary table). */
  session_id?: string;
}

/** Capture the caller's stack before the first await, and attach it to errors. */
function withCallerStack<T>(p: Promise<T>): Promise<T> {
  const here = new Error();
  return p.catch((e: unknown) => {
    if (e instanceof Error && here.stack) {
      const caller = here.stack.split('\n').slice(2).join('\n');
      // One error may reach several callers (a shared connect or server-info step): each gets
      // its own copy with its own caller, rather than one stack collecting every caller's.
      const own = annotated.has(e) ? copyError(e) : e;
      const base = annotated.get(e) ?? e.stack ?? `${e.name}: ${e.message}`;
      annotated.set(own, base);
      own.stack = `${base}\n    --- caller ---\n${caller}`;
      throw own;
    }
    throw e;
  });
}

/** Errors already given a caller, with their stack from before. */
const annotated = new WeakMap<Error, string>();

/** The same error (class, code, fields, cause) as a new object. */
function copyError(e: Error): Error {
  const c = Object.create(Object.getPrototypeOf(e) as object) as Error;
  Object.assign(c, e);
  Object.defineProperty(c, 'message', { value: e.message, writable: true, configurable: true });
  if ('cause' in e) Object.defineProperty(c, 'cause', { value: e.cause, writable: true, configurable: true });
  return c;
}

export class ClickHouseClient {
  private transport: Promise<Transport> | undefined;
  private closed = false;
  readonly endpoints: Endpoint[];
  private readonly valueOptions: ValueOptions;

  constructor(
    readonly options: ClientOptions = {},
    private readonly factory: TransportFactory = defaultFactory,
  ) {
    this.endpoints = resolveEndpoints(options);
    const { int64, decimal, dates, strings, maps, arrays } = options;
    this.valueOptions = Object.fromEntries(
      Object.entries({ int64, decimal, dates, strings, maps, arrays }).filter(([, v]) => v !== undefined),
    ) as ValueOptions;
  }

  /** The transport kind in use: 'tcp', 'http' or 'embedded'. */
  get kind(): string {
    const s = this.endpoints[0]!.scheme;
    return s === 'chdb' ? 'embedded' : s.startsWith('http') ? 'http' : 'tcp';
  }

  private getTransport(): Promise<Transport> {
    if (this.closed) return Promise.reject(new ClientError('the client is closed', 'CHWIRE_CLIENT_CLOSED'));
    this.transport ??= this.factory(this.endpoints, this.options);
    return this.transport;
  }

  private mergeSettings(s?: Settings): Settings | undefined {
    if (!this.options.clickhouse_settings && !s) return undefined;
    return { ...this.options.clickhouse_settings, ...s };
  }

  /** Run a query; resolves once the server accepted it (its first packet arrived). */
  query(params: QueryParams): Promise<ResultSet & { stream(): unknown }> {
    return withCallerStack(
      (async () => {
        const started = Date.now();
        const t = await this.getTransport();
        // The transport's signal: the caller's, or ours when a reader leaves while a block is awaited.
        const own = new AbortController();
        const user = params.abort_signal;
        const forward = () => own.abort(user!.reason);
        if (user?.aborted) forward();
        else user?.addEventListener('abort', forward, { once: true });
        const unlink = () => user?.removeEventListener('abort', forward);
        const p = { ...params, abort_signal: own.signal, clickhouse_settings: this.mergeSettings(params.clickhouse_settings) };
        const events = t.query(p, this.valueOptions);
        const it = events[Symbol.asyncIterator]();
        let first: IteratorResult<QueryEvent>;
        try {
          first = await it.next();
        } catch (e) {
          unlink();
          throw e;
        }
        // Row helpers copy values out, unless these options make byte views.
        const o = this.valueOptions;
        const copied = o.strings !== 'bytes' && o.arrays !== 'typed' ? events.valuesCopied?.bind(events) : undefined;
        const abandon = () => own.abort(new AbortError('the result was closed before its end'));
        let rs: ResultSet & { stream(): unknown };
        try {
          rs = new ResultSet(it, first, events.queryId, this.options.rows ?? 'object', params.on_progress, unlink, params.on_log, copied, abandon, started) as ResultSet & { stream(): unknown };
        } catch (e) {
          // An on_progress/on_log callback threw on the first event: end the query before rethrowing.
          unlink();
          await it.return?.().catch(() => undefined);
          throw e;
        }
        rs.stream = () => rowStream(rs);
        return rs;
      })(),
    );
  }

  /** Run a statement that returns no rows (DDL, SET, INSERT … SELECT). */
  command(params: QueryParams): Promise<QuerySummary> {
    return withCallerStack(
      (async () => {
        const t = await this.getTransport();
        return t.command({ ...params, clickhouse_settings: this.mergeSettings(params.clickhouse_settings) });
      })(),
    );
  }

  /** Insert rows, columns, blocks or raw Native bytes into a table. */
  insert(params: InsertParams): Promise<InsertSummary> {
    return withCallerStack(
      (async () => {
        const t = await this.getTransport();
        const o = this.options;
        const batch = { rows: o.insert_batch_rows ?? 100_000, bytes: o.insert_batch_bytes ?? 64 << 20, ms: o.insert_batch_ms ?? 1000 };
        let names: string[] | undefined;
        let blocks: (header: ColumnMeta[]) => AsyncIterable<Block | BlockInput> | Iterable<Block | BlockInput>;
        let native: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | undefined;
        if (params.native) {
          native = params.native instanceof Uint8Array ? [params.native] : params.native;
          names = Array.isArray(params.columns) ? params.columns : undefined;
          blocks = () => [];
        } else if (params.columns && !Array.isArray(params.columns)) {
          const cols = params.columns;
          names = Object.keys(cols);
          blocks = (header) => [columnsToBlock(cols, header)];
        } else if (params.blocks) {
          const bl = params.blocks;
          blocks = () => bl;
          const first = Array.isArray(bl) ? bl[0] : undefined;
          names = first ? first.columns.map((c) => c.name) : undefined;
        } else if (params.values) {
          const values = params.values;
          names = Array.isArray(params.columns) ? params.columns : inferColumns(values);
          blocks = (header) => batchRows(values as AsyncIterable<unknown>, header, batch);
        } else throw new ClientError('insert needs values, columns, blocks or native');
        const req = {
          table: params.table,
          blocks,
          clickhouse_settings: this.mergeSettings(params.clickhouse_settings),
          ...(names ? { columns: names } : {}),
          ...(native ? { native } : {}),
          ...(params.query_id ? { query_id: params.query_id } : {}),
          ...(params.abort_signal ? { abort_signal: params.abort_signal } : {}),
          ...(params.session_id !== undefined ? { session_id: params.session_id } : {}),
        };
        return t.insert(req);
      })(),
    );
  }

  /** Raw formats (HTTP only): the response body of any FORMAT; `body` is sent as the data of an INSERT … FORMAT X. */
  exec(params: ExecParams): Promise<ExecResult> {
    return withCallerStack(
      (async () => {
        const t = (await this.getTransport()) as Transport & { exec?: (p: ExecParams) => Promise<ExecResult> };
        if (!t.exec) throw new ClientError(`exec() is not available over ${t.kind}`, 'CHWIRE_NOT_SUPPORTED');
        return t.exec({ ...params, clickhouse_settings: this.mergeSettings(params.clickhouse_settings) });
      })(),
    );
  }

  /** The server's name, version, negotiated protocol revision and timezone (from its Hello). */
  serverInfo(): Promise<{ name: string; version: string; revision: number; timezone?: string }> {
    return withCallerStack(
      this.getTransport().then((t) => {
        if (!t.serverInfo) throw new ClientError(`serverInfo() is not available on the ${t.kind} transport`, 'CHWIRE_NOT_IMPLEMENTED');
        return t.serverInfo();
      }),
    );
  }

  /** True when the server answers. */
  ping(): Promise<boolean> {
    return withCallerStack(this.getTransport().then((t) => t.ping()));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const t = this.transport;
    this.transport = undefined;
    if (t) await (await t.catch(() => undefined))?.close();
  }
}

/** Create a client. With no url/host, the embedded engine (chdb:) is used. */
export function createClient(options: ClientOptions = {}): ClickHouseClient {
  return new ClickHouseClient(options);
}
