import type { Block } from '../core/native/block-types.js';
import type { BlockInput } from '../core/native/writer.js';
import type { ValueOptions } from '../core/columns/column.js';

export type Settings = Record<string, string | number | boolean | bigint | undefined>;

export interface TlsOptions {
  ca_cert?: string | Uint8Array;
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  servername?: string;
  /** Default true: the server's certificate is verified. */
  reject_unauthorized?: boolean;
}

export interface ClientOptions extends ValueOptions {
  /** clickhouse://user:pass@host:9000/db, clickhouses:// (TLS), tcp:// (alias), chdb:[path], http(s)://… */
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  database?: string;
  /** Several `host:port` (or URLs) for failover, tried in order. */
  hosts?: string[];
  /** 'in_order' (default) or 'round_robin'. */
  host_selection?: 'in_order' | 'round_robin';
  compression?: 'lz4' | 'zstd' | 'none';
  tls?: TlsOptions;
  clickhouse_settings?: Settings;
  request_timeout?: number;
  connect_timeout?: number;
  max_open_connections?: number;
  idle_socket_ttl?: number;
  application?: string;
  /** Rows from json()/stream(): objects keyed by column name (default) or arrays. */
  rows?: 'object' | 'array';
  /** Rows per block for row inserts from arrays/iterables (default 100 000). */
  insert_batch_rows?: number;
  /** Bytes per block (estimated) for row inserts (default 64 MiB). */
  insert_batch_bytes?: number;
  /** Flush a partial batch from a slow AsyncIterable after this many ms (default 1000). */
  insert_batch_ms?: number;
  /** HTTP: extra request headers. */
  http_headers?: Record<string, string>;
  /** HTTP: credentials as basic auth (default), X-ClickHouse-User/Key headers, or URL parameters (browsers). */
  http_auth?: 'basic' | 'headers' | 'query';
  /** HTTP: response compression: ClickHouse frames (compress=1), gzip, or none. Defaults follow `compression`. */
  http_response_compression?: 'frames' | 'gzip' | 'none';
  /** HTTP: the fetch implementation (default: globalThis.fetch). */
  fetch?: typeof fetch;
}

export interface QueryParams {
  query: string;
  query_params?: Record<string, unknown>;
  clickhouse_settings?: Settings;
  query_id?: string;
  abort_signal?: AbortSignal;
  on_progress?: (p: Progress) => void;
  /** Server log entries (with `send_logs_level`): one object per row of the server's Log block. */
  on_log?: (entry: Record<string, unknown>) => void;
  session_id?: string;
  /**
   * Native TCP, for block-by-block consumers: each block's columns (and any
   * `toArray()` view or byte view from them) are valid only until the next block
   * is requested or the iteration ends; their memory is then reused, so memory
   * stays flat and the garbage collector idle on long streams. Copy what you keep.
   * Row helpers (json/rows/stream/columns) copy values out, except byte views
   * (`strings: 'bytes'`, `arrays: 'typed'`), and recycle buffers without this option.
   */
  reuse_buffers?: boolean;
}

export interface Progress {
  rows: number;
  bytes: number;
  totalRows: number;
  totalBytes: number;
  writtenRows: number;
  writtenBytes: number;
  elapsedNs: number;
}

/** The server's ProfileInfo packet, as decoded (fields above the negotiated revision are absent). */
export type { ProfileInfo } from '../core/protocol/server-packets.js';
import type { ProfileInfo } from '../core/protocol/server-packets.js';

export interface ColumnMeta {
  name: string;
  type: string;
}

/** What a transport yields while a query runs. Ends after EndOfStream; a server exception throws. */
export type QueryEvent =
  | { type: 'data'; block: Block }
  | { type: 'totals'; block: Block }
  | { type: 'extremes'; block: Block }
  | { type: 'progress'; progress: Progress }
  | { type: 'profileInfo'; info: ProfileInfo }
  | { type: 'log'; block: Block }
  | { type: 'profileEvents'; block: Block };

export interface QuerySummary {
  /** Accumulated Progress packets. */
  progress: Progress;
  profileInfo?: ProfileInfo;
  elapsedMs: number;
  queryId: string;
}

export interface InsertRequest {
  table: string;
  /** Column names to insert (default: all the table's insertable columns). */
  columns?: string[];
  /**
   * Produces the blocks to send once the server's header (insert columns and
   * types) is known. Conversion happens there, before any byte of a block is
   * sent, so a batch that fails conversion sends nothing.
   */
  blocks: (header: ColumnMeta[]) => AsyncIterable<Block | BlockInput> | Iterable<Block | BlockInput>;
  /** Already-encoded Native bytes (FORMAT Native layout), sent as they are. */
  native?: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
  clickhouse_settings?: Settings;
  query_id?: string;
  abort_signal?: AbortSignal;
  /** Run in this session (its temporary tables, SETs). */
  session_id?: string;
}

export interface InsertSummary {
  rows: number;
  queryId: string;
  progress: Progress;
}

/** What a transport returns with a query's events. */
export interface QueryHandle {
  queryId: string;
  /**
   * The consumer copies every value out of each data block before asking for the
   * next one (row helpers without byte views): from now on the transport may
   * reuse those blocks' buffers. Optional; a no-op where buffers are not pooled.
   */
  valuesCopied?(): void;
}

/**
 * A connection to ClickHouse, whatever carries it (native TCP, HTTP, the
 * embedded engine). The client layer (createClient) builds on this.
 */
export interface Transport {
  readonly kind: 'tcp' | 'http' | 'embedded';
  query(params: QueryParams, options: ValueOptions): AsyncIterable<QueryEvent> & QueryHandle;
  insert(req: InsertRequest): Promise<InsertSummary>;
  command(params: QueryParams): Promise<QuerySummary>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
  /** Server identity, once known. */
  serverInfo?(): Promise<{ name: string; version: string; revision: number; timezone?: string }>;
}

export function emptyProgress(): Progress {
  return { rows: 0, bytes: 0, totalRows: 0, totalBytes: 0, writtenRows: 0, writtenBytes: 0, elapsedNs: 0 };
}

export function addProgress(acc: Progress, p: Progress): void {
  acc.rows += p.rows;
  acc.bytes += p.bytes;
  acc.totalRows += p.totalRows;
  acc.totalBytes += p.totalBytes;
  acc.writtenRows += p.writtenRows;
  acc.writtenBytes += p.writtenBytes;
  acc.elapsedNs = Math.max(acc.elapsedNs, p.elapsedNs);
}
