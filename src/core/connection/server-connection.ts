// The server side of the native protocol as a sans-IO state machine, the mirror
// of connection.ts: bytes in (receive) → events out; the caller answers with
// send*() calls whose bytes queue for the transport (takeOutput). No timers,
// no sockets, no promises. [src/Server/TCPHandler.cpp]
//
// Lifecycle: 'hello' (waiting for the client's Hello) → event 'hello' → the
// caller checks the credentials and calls acceptHello() or rejectHello() →
// 'addendum' (≥ 54458) → 'idle' → Query → 'external-tables' (Data blocks of
// external tables, ended by an empty block) → event 'query' → 'query' (the
// caller streams the result) or, for an INSERT, startInsert(header) →
// 'insert' (event 'insertBlock' per client block, 'insertEnd' after the empty
// block) → sendEndOfStream()/sendException() → 'idle'.
import { DecodeError, ProtocolError, isNeedMore } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import { StreamBuffer } from '../io/stream-buffer.js';
import { Writer } from '../io/writer.js';
import type { AnyCodec, ValueOptions } from '../columns/column.js';
import { CodecCache } from '../columns/registry.js';
import { BlockDecoder } from '../native/reader.js';
import { writeBlockInfo, type EncodedColumn } from '../native/writer.js';
import type { Block, BlockInfo } from '../native/block-types.js';
import { type CodecSet, CompressionMethod } from '../compression/codec.js';
import { encodeFrames } from '../compression/frame.js';
import { BlockBodyReader } from './block-body.js';
import { OutputQueue } from './output-queue.js';
import {
  CLIENT_REVISION,
  has,
  negotiateRevision,
  decodeClientPacket,
  decodeAddendum,
  negotiateChunked,
  Dechunker,
  dechunkBuffered,
  encodeServerHello,
  encodeException,
  encodeProgress,
  encodeProfileInfo,
  encodePong,
  encodeEndOfStream,
  encodeServerDataHeader,
  encodeTablesStatusResponse,
  encodeTimezoneUpdate,
  type ClientHello,
  type Addendum,
  type Query,
  type ServerHello,
  type ServerException,
  type Progress,
  type ProfileInfo,
  type TableStatus,
  type QualifiedTableName,
  type BlockPacketType,
} from '../protocol/index.js';

export type ServerConnectionState =
  | 'hello'
  | 'authenticating'
  | 'addendum'
  | 'idle'
  | 'external-tables'
  | 'query'
  | 'insert'
  | 'insert-end'
  | 'closed';

export type ServerConnectionEvent =
  /** The client's Hello: check it, then acceptHello() or rejectHello(). */
  | { type: 'hello'; hello: ClientHello }
  /** Handshake complete (after the addendum when the revision has one). */
  | { type: 'ready'; addendum?: Addendum }
  /** A query with its external tables (all read); answer with data + endOfStream, or startInsert(). */
  | { type: 'query'; query: Query; externalTables: { name: string; block: Block }[] }
  /** INSERT: one client block (rows > 0). */
  | { type: 'insertBlock'; block: Block }
  /** INSERT: the client's empty block; answer with sendEndOfStream() or sendException(). */
  | { type: 'insertEnd' }
  | { type: 'cancel' }
  | { type: 'ping' }
  | { type: 'keepAlive' }
  | { type: 'tablesStatus'; tables: QualifiedTableName[] };

export interface ServerConnectionOptions {
  /** The Hello fields except the revision (which is `revision`). */
  hello: Omit<ServerHello, 'revision'>;
  /** Revision this server implements (default CLIENT_REVISION: chwire's newest). */
  revision?: number;
  /** Codecs for compressed queries (LZ4 is required for clients that ask for compression). */
  codecs?: CodecSet;
  /** Value options for decoded client blocks. */
  valueOptions?: ValueOptions;
}

/** A column to send: prepared codec + data; `sparse` asks for sparse serialization (debug). */
export interface OutColumn extends EncodedColumn {
  sparse?: boolean;
}

type Pending = 'external' | 'insert';

export class ServerConnection {
  state: ServerConnectionState = 'hello';
  /** Negotiated revision (0 until the client's Hello). */
  revision = 0;
  clientHello: ClientHello | undefined;
  addendum: Addendum | undefined;
  /** The query being served. */
  query: Query | undefined;
  /** Method byte of the client's compressed frames (first seen), for mirroring. */
  get clientCompressionMethod(): number | undefined {
    return this.body.method;
  }
  failure: unknown;

  private readonly opts: ServerConnectionOptions;
  private readonly serverRevision: number;
  private readonly input = new StreamBuffer();
  private readonly out = new OutputQueue();
  private readonly cache = new CodecCache();
  private blocks: BlockDecoder | undefined;
  private pendingBlock: { kind: Pending; tableName: string } | undefined;
  /** Reads the body of the pending Data packet (plain or in compression frames). */
  private readonly body: BlockBodyReader;
  private externalTables: { name: string; block: Block }[] = [];
  private dechunker: Dechunker | undefined;

  constructor(options: ServerConnectionOptions) {
    this.body = new BlockBodyReader(this.input, () => this.opts.codecs);
    this.opts = options;
    this.serverRevision = options.revision ?? CLIENT_REVISION;
  }

  get codecCache(): CodecCache {
    return this.cache;
  }

  /** True when the current query asked for compressed blocks. */
  get compressed(): boolean {
    return this.query?.compression ?? false;
  }

  takeOutput(): Uint8Array[] {
    return this.out.take();
  }
  get pendingOutputBytes(): number {
    return this.out.bytes;
  }



  // ------------------------------------------------------------ handshake

  /** Answer the client's Hello with ours, at min(client, server) revision. */
  acceptHello(): void {
    if (this.state !== 'authenticating') throw new ProtocolError(`acceptHello in state '${this.state}'`);
    const w = new Writer(256);
    encodeServerHello(w, { ...this.opts.hello, revision: this.serverRevision }, this.clientHello!.revision);
    this.out.push(w, false);
    if (has(this.revision, 'DBMS_MIN_PROTOCOL_VERSION_WITH_ADDENDUM')) this.state = 'addendum';
    else this.state = 'idle';
    this.drainSafely();
  }

  /** Refuse the handshake (bad password, unknown database): an Exception, then the caller closes. */
  rejectHello(e: ServerException): void {
    const w = new Writer(256);
    encodeException(w, e);
    this.out.push(w, false);
    this.state = 'closed';
  }

  /** Ready events that became due during acceptHello (the addendum may already be buffered). */
  private deferred: ServerConnectionEvent[] = [];
  private drainSafely(): void {
    try {
      this.drain(this.deferred);
    } catch (e) {
      this.state = 'closed';
      this.failure = e;
    }
  }
  /** Events produced outside receive() (after acceptHello); take them once. */
  takeDeferredEvents(): ServerConnectionEvent[] {
    return this.deferred.splice(0);
  }

  // ------------------------------------------------------------ input

  /** Feed inbound bytes; returns the events they complete. A protocol error closes the connection and throws. */
  receive(bytes: Uint8Array): ServerConnectionEvent[] {
    if (this.state === 'closed') return [];
    const events: ServerConnectionEvent[] = this.deferred.splice(0);
    try {
      if (this.dechunker) for (const part of this.dechunker.push(bytes)) this.input.push(part);
      else this.input.push(bytes);
      this.drain(events);
    } catch (e) {
      this.state = 'closed';
      this.failure = e;
      throw e;
    }
    return events;
  }

  private drain(events: ServerConnectionEvent[]): void {
    const input = this.input;
    for (;;) {
      if (this.state === 'authenticating' || this.state === 'closed') return;
      if (this.pendingBlock) {
        if (!this.readBlock(events)) return;
        continue;
      }
      if (input.available === 0) return;
      const c = input.cursor();
      if (this.state === 'addendum') {
        let a: Addendum | undefined;
        try {
          a = decodeAddendum(c, this.revision);
        } catch (e) {
          if (isNeedMore(e)) return;
          throw e;
        }
        input.consumeTo(c.pos);
        this.onAddendum(a, events);
        continue;
      }
      let p;
      try {
        p = decodeClientPacket(c, this.revision || this.serverRevision);
      } catch (e) {
        if (isNeedMore(e)) return;
        throw e;
      }
      input.consumeTo(c.pos);
      this.onPacket(p, events);
    }
  }

  private onAddendum(a: Addendum | undefined, events: ServerConnectionEvent[]): void {
    this.addendum = a;
    if (a && has(this.revision, 'DBMS_MIN_PROTOCOL_VERSION_WITH_CHUNKED_PACKETS')) {
      // The client states its final choice per direction; it must agree with ours.
      const h = this.opts.hello;
      const recv = negotiateChunked(h.chunkedRecv ?? 'notchunked', a.chunkedSend ?? 'notchunked', 'client → server');
      const send = negotiateChunked(h.chunkedSend ?? 'notchunked', a.chunkedRecv ?? 'notchunked', 'server → client');
      if (recv !== (a.chunkedSend === 'chunked') || send !== (a.chunkedRecv === 'chunked')) {
        throw new ProtocolError(`chunked framing: client chose send=${a.chunkedSend} recv=${a.chunkedRecv}, incompatible with this server`, 'CHWIRE_CHUNKED_MISMATCH');
      }
      this.out.chunked = send;
      if (recv) {
        // Everything after the addendum is chunked (also what is already buffered).
        this.dechunker = dechunkBuffered(this.input);
      }
    }
    this.state = 'idle';
    events.push(a ? { type: 'ready', addendum: a } : { type: 'ready' });
  }

  private onPacket(p: ReturnType<typeof decodeClientPacket>, events: ServerConnectionEvent[]): void {
    switch (p.type) {
      case 'Hello': {
        if (this.state !== 'hello') throw new ProtocolError('unexpected Hello from the client', 'CHWIRE_UNEXPECTED_PACKET');
        this.clientHello = p.hello;
        this.revision = negotiateRevision(p.hello.revision, this.serverRevision);
        this.state = 'authenticating';
        events.push({ type: 'hello', hello: p.hello });
        return;
      }
      case 'Query': {
        if (this.discarding && !this.pendingBlock) this.finishRequest();
        if (this.state !== 'idle') throw new ProtocolError(`unexpected Query in state '${this.state}'`, 'CHWIRE_UNEXPECTED_PACKET');
        this.query = p.query;
        this.externalTables = [];
        this.blocks = undefined;
        this.state = 'external-tables';
        return;
      }
      case 'Data':
      case 'Scalar': {
        if (this.state !== 'external-tables' && this.state !== 'insert')
          throw new ProtocolError(`unexpected ${p.type} packet in state '${this.state}'`, 'CHWIRE_UNEXPECTED_PACKET');
        this.pendingBlock = { kind: this.state === 'insert' ? 'insert' : 'external', tableName: p.type === 'Scalar' ? `\0scalar:${p.tableName}` : p.tableName };
        this.body.start(this.compressed);
        this.blocks ??= new BlockDecoder(this.revision, this.opts.valueOptions ?? {}, this.cache);
        return;
      }
      case 'Cancel':
        events.push({ type: 'cancel' });
        return;
      case 'Ping':
        // Pong only between requests: a client reading a result would not expect it.
        if (this.state === 'idle') {
          const w = new Writer(8);
          encodePong(w);
          this.out.push(w);
        }
        events.push({ type: 'ping' });
        return;
      case 'KeepAlive':
        events.push({ type: 'keepAlive' });
        return;
      case 'TablesStatusRequest':
        if (this.state !== 'idle') throw new ProtocolError(`unexpected TablesStatusRequest in state '${this.state}'`, 'CHWIRE_UNEXPECTED_PACKET');
        events.push({ type: 'tablesStatus', tables: p.tables });
        return;
    }
  }

  /** Continue the pending Data packet; true when its block completed. */
  private readBlock(events: ServerConnectionEvent[]): boolean {
    const blocks = this.blocks!;
    const block = this.body.next((c, base) => blocks.tryRead(c, base), blocks);
    if (!block) return false;
    const { kind, tableName } = this.pendingBlock!;
    this.pendingBlock = undefined;
    const empty = block.rowCount === 0 && block.columns.length === 0;
    if (kind === 'external') {
      if (empty) {
        this.state = 'query';
        events.push({ type: 'query', query: this.query!, externalTables: this.externalTables });
        this.externalTables = [];
      } else if (block.rowCount > 0 || block.columns.length > 0) {
        this.externalTables.push({ name: tableName, block });
      }
    } else if (this.discarding) {
      if (block.rowCount === 0) this.finishRequest();
    } else if (block.rowCount === 0) {
      // The INSERT ends with an empty block (ClickHouse's client sends no columns; tolerate a header).
      this.state = 'insert-end';
      events.push({ type: 'insertEnd' });
    } else {
      events.push({ type: 'insertBlock', block });
    }
    return true;
  }

  // ------------------------------------------------------------ output

  private expectRequest(what: string): void {
    if (this.state !== 'query' && this.state !== 'insert' && this.state !== 'insert-end')
      throw new ProtocolError(`cannot send ${what} in state '${this.state}'`, 'CHWIRE_CONNECTION_BUSY');
  }

  /**
   * A block packet (Data, Totals, Extremes, ProfileEvents, Log). Compressed with
   * `method` when the query asked for compression (Log/ProfileEvents only at ≥ 54481).
   */
  sendBlock(type: BlockPacketType, columns: OutColumn[], rows: number, method: number = CompressionMethod.LZ4, info?: BlockInfo): void {
    this.expectRequest(type);
    const w = new Writer(rows ? 64 * 1024 : 256);
    encodeServerDataHeader(w, type, '', this.revision);
    const compress =
      this.compressed && (type === 'Data' || type === 'Totals' || type === 'Extremes' || has(this.revision, 'DBMS_MIN_REVISION_WITH_COMPRESSED_LOGS_PROFILE_EVENTS_COLUMNS'));
    if (!compress) {
      writeServerBlock(w, columns, rows, this.revision, info, this.cache);
    } else {
      const body = new Writer(rows ? 64 * 1024 : 256);
      writeServerBlock(body, columns, rows, this.revision, info, this.cache);
      const codecs = this.opts.codecs;
      if (!codecs?.get(method)) throw new ProtocolError(`no codec for compression method 0x${method.toString(16)}`, 'CHWIRE_NO_CODEC');
      for (const f of encodeFrames(body.toBytes(), method, codecs)) w.raw(f, false);
    }
    this.out.push(w);
  }

  sendProgress(p: Progress): void {
    this.expectRequest('Progress');
    const w = new Writer(64);
    encodeProgress(w, p, this.revision);
    this.out.push(w);
  }

  sendProfileInfo(p: ProfileInfo): void {
    this.expectRequest('ProfileInfo');
    const w = new Writer(64);
    encodeProfileInfo(w, p, this.revision);
    this.out.push(w);
  }

  sendTimezoneUpdate(tz: string): void {
    if (!has(this.revision, 'DBMS_MIN_PROTOCOL_VERSION_WITH_TIMEZONE_UPDATES')) return;
    const w = new Writer(64);
    encodeTimezoneUpdate(w, tz);
    this.out.push(w);
  }

  /** INSERT: send the header block (0 rows, the insert columns); client blocks follow. */
  startInsert(header: OutColumn[], method?: number): void {
    if (this.state !== 'query') throw new ProtocolError(`startInsert in state '${this.state}'`, 'CHWIRE_CONNECTION_BUSY');
    this.sendBlock('Data', header, 0, method);
    this.state = 'insert';
    this.blocks = undefined;
  }

  /** End the request. */
  sendEndOfStream(): void {
    this.expectRequest('EndOfStream');
    const w = new Writer(8);
    encodeEndOfStream(w);
    this.out.push(w);
    this.finishRequest();
  }

  /**
   * End the request with an exception. Mid-INSERT (the client may still be
   * sending), the rest of the client's blocks are then discarded until its
   * empty block or its next Query, so the connection stays usable.
   */
  sendException(e: ServerException): void {
    const w = new Writer(256);
    encodeException(w, e);
    this.out.push(w);
    if (this.state === 'insert') {
      this.discarding = true;
      return;
    }
    if (this.state === 'query' || this.state === 'insert-end' || this.state === 'external-tables') this.finishRequest();
  }

  /** True while the client's remaining INSERT blocks are discarded after an exception. */
  discarding = false;

  private finishRequest(): void {
    this.discarding = false;
    this.state = 'idle';
    this.query = undefined;
    this.blocks = undefined;
  }

  sendTablesStatus(tables: TableStatus[]): void {
    const w = new Writer(256);
    encodeTablesStatusResponse(w, tables, this.revision);
    this.out.push(w);
  }

  close(): void {
    this.state = 'closed';
  }
}

// ---------------------------------------------------------------- block writing with custom serializations

/**
 * Write a protocol block. Columns marked `sparse` are written in sparse
 * serialization when the revision allows it (≥ 54465; Nullable ≥ 54483) and
 * the type supports it; otherwise as usual. [SerializationSparse.cpp,
 * SerializationInfo.cpp: has_custom byte 1, kind stack code 1 = SPARSE]
 */
export function writeServerBlock(w: Writer, columns: OutColumn[], rows: number, revision: number, info: BlockInfo | undefined, cache: CodecCache): void {
  if (has(revision, 'DBMS_MIN_REVISION_WITH_BLOCK_INFO')) writeBlockInfo(w, info, revision);
  w.varuint(columns.length);
  w.varuint(rows);
  const ctx = { revision };
  for (const col of columns) {
    w.string(col.name);
    w.string(col.codec.typeName);
    const sparse = col.sparse && rows > 0 ? sparsePlan(col, rows, revision, cache) : undefined;
    if (has(revision, 'DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION')) {
      if (sparse) {
        w.u8(1);
        w.u8(1); // kind stack: SPARSE
      } else w.u8(0);
    }
    if (rows === 0) continue;
    if (sparse) {
      sparse.codec.writePrefix(w, sparse.data, ctx);
      // Offsets stream: per non-default row the count of default rows before it, then the trailing
      // count | END_OF_GRANULE (1 << 62).
      let prev = 0;
      for (const r of sparse.rows) {
        w.varuint(r - prev);
        prev = r + 1;
      }
      writeVarUInt62(w, rows - prev);
      sparse.codec.encode(w, sparse.data, ctx);
    } else {
      col.codec.writePrefix(w, col.data, ctx);
      col.codec.encode(w, col.data, ctx);
    }
  }
}

/** varuint of (n | 1 << 62), beyond Number precision: written by hand. */
function writeVarUInt62(w: Writer, n: number): void {
  // n < 2^53; the value is n + 2^62: 9 groups of 7 bits.
  let lo = n;
  for (let i = 0; i < 8; i++) {
    const low7 = lo % 128;
    lo = Math.floor(lo / 128);
    w.u8(low7 | 0x80);
  }
  // Bits 56..62: the remaining bits of n (n < 2^53 → 0) plus bit 62 = bit 6 of this group.
  w.u8((lo & 0x3f) | 0x40);
}

const NOT_SPARSE = /^(Array|Map|Tuple|LowCardinality|Variant|Dynamic|JSON|Object|Nested|AggregateFunction|SimpleAggregateFunction|QBit|Nothing)\b/;

interface SparsePlan {
  codec: AnyCodec;
  data: unknown;
  rows: number[];
}

/** Find the non-default rows of a column and build the nested column of their values. */
function sparsePlan(col: OutColumn, rows: number, revision: number, cache: CodecCache): SparsePlan | undefined {
  if (!has(revision, 'DBMS_MIN_REVISION_WITH_SPARSE_SERIALIZATION')) return undefined;
  let type = col.codec.typeName;
  const nullable = type.startsWith('Nullable(');
  if (nullable) {
    if (!has(revision, 'DBMS_MIN_REVISION_WITH_NULLABLE_SPARSE_SERIALIZATION')) return undefined;
    type = type.slice('Nullable('.length, -1);
  }
  if (NOT_SPARSE.test(type)) return undefined;
  const inner = cache.get(type);
  const values = col.codec.toArray(col.data, {});
  const ctx = { revision };
  const bytesOf = (v: unknown): string => {
    const w = new Writer(64);
    const d = inner.fromValues([v]);
    inner.encode(w, d, ctx);
    const b = w.toBytes();
    let s = '';
    for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]!);
    return s;
  };
  const def = bytesOf(inner.defaultValue());
  const keep: number[] = [];
  const vals: unknown[] = [];
  for (let i = 0; i < rows; i++) {
    const v = values[i];
    if (nullable ? v === null : bytesOf(v) === def) continue;
    keep.push(i);
    vals.push(v);
  }
  return { codec: inner, data: inner.fromValues(vals), rows: keep };
}
