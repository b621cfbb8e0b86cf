// The native protocol as a sans-IO state machine: bytes in (receive), events
// out; outbound bytes queued for the transport (pendingOutput/consumeOutput).
// No timers, no sockets, no promises. [src/Client/Connection.cpp, TCPHandler.cpp]
import { ProtocolError, isNeedMore, NEED_MORE } from '../errors.js';
import { StreamBuffer } from '../io/stream-buffer.js';
import { Writer } from '../io/writer.js';
import type { ValueOptions } from '../columns/column.js';
import { CodecCache } from '../columns/registry.js';
import { BlockDecoder } from '../native/reader.js';
import { prepareBlock, writeBlock, type BlockInput, type EncodedColumn } from '../native/writer.js';
import type { Block } from '../native/block-types.js';
import { type CodecSet, CompressionMethod } from '../compression/codec.js';
import { encodeFrames } from '../compression/frame.js';
import { BlockBodyReader } from './block-body.js';
import { OutputQueue } from './output-queue.js';
import { SlabRecycler } from '../io/slab-recycler.js';
import {
  CLIENT_REVISION,
  CHWIRE_VERSION,
  PARALLEL_REPLICAS_PROTOCOL_VERSION,
  has,
  negotiateRevision,
  encodeClientHello,
  encodeAddendum,
  encodeQuery,
  encodeClientDataHeader,
  encodeCancel,
  encodePing,
  encodeTablesStatusRequest,
  decodeServerPacket,
  decodeTableColumnsBody,
  negotiateChunked,
  Dechunker,
  dechunkBuffered,
  QueryKind,
  QueryStage,
  ClientInterface,
  type ServerHello,
  type ServerException,
  type Progress,
  type ProfileInfo,
  type Setting,
  type TableStatus,
  type QualifiedTableName,
  type ClientInfo,
} from '../protocol/index.js';

export type ConnectionState =
  | 'handshake'
  | 'idle'
  | 'query'
  | 'insert-header'
  | 'insert'
  | 'insert-end'
  | 'cancelling'
  | 'ping'
  | 'tables-status'
  | 'broken';

export type ConnectionEvent =
  | { type: 'hello'; hello: ServerHello; revision: number }
  | { type: 'data'; block: Block }
  | { type: 'totals'; block: Block }
  | { type: 'extremes'; block: Block }
  | { type: 'log'; block: Block }
  | { type: 'profileEvents'; block: Block }
  /** INSERT: the server's header block (0 rows; the insert columns and their types). */
  | { type: 'insertHeader'; block: Block }
  | { type: 'progress'; progress: Progress }
  | { type: 'profileInfo'; info: ProfileInfo }
  | { type: 'tableColumns'; tableName: string; description: string }
  | { type: 'timezoneUpdate'; timezone: string }
  | { type: 'partUUIDs'; uuids: string[] }
  | { type: 'tablesStatus'; tables: TableStatus[] }
  | { type: 'pong' }
  /** A server exception; the request is over and the connection is idle again. */
  | { type: 'exception'; exception: ServerException }
  /** The request is over; the connection is idle again. */
  | { type: 'endOfStream' };

export interface ConnectionOptions {
  user?: string;
  password?: string;
  database?: string;
  /** Hello / ClientInfo client name, e.g. 'myapp/1.0 chwire/0.1.0'. */
  clientName: string;
  /** 'none' (default), 'lz4' or 'zstd'. */
  compression?: 'none' | 'lz4' | 'zstd';
  /** Codecs available (required when compression is not 'none'). */
  codecs?: CodecSet;
  /** Revision to advertise (default CLIENT_REVISION). */
  revision?: number;
  valueOptions?: ValueOptions;
  /** Buffer allocator for inbound data; may return uninitialised memory (Node: Buffer.allocUnsafeSlow). */
  alloc?: (n: number) => Uint8Array;
  /** Smallest inbound buffer to allocate (consecutive blocks share it); default 64 KiB. */
  inputSlab?: number;
  quotaKey?: string;
  osUser?: string;
  hostname?: string;
}

export interface QueryRequest {
  query: string;
  queryId?: string;
  /** Settings as wire text; flags default to 0 (unknown ones are then ignored by the server). */
  settings?: Setting[];
  /** Native parameters (≥ 54459) as produced by encodeQueryParameters. */
  parameters?: Setting[];
}

type BlockKind = 'data' | 'totals' | 'extremes' | 'log' | 'profileEvents' | 'insertHeader' | 'tableColumns';

const METHOD = { lz4: CompressionMethod.LZ4, zstd: CompressionMethod.ZSTD } as const;
/** Largest single socket read into a block body whose size is known (bytes). */
const MAX_READ_BYTES = 4 * 1024 * 1024;

export class Connection {
  state: ConnectionState = 'handshake';
  /** Negotiated revision (min of both); 0 until the server's Hello. */
  revision = 0;
  serverHello: ServerHello | undefined;
  /** The error that broke the connection. */
  failure: unknown;
  /**
   * False once the server answered a request with an Exception before any Data packet: it may
   * not have read the empty external-tables block that follows our Query (servers that parse
   * before reading it, e.g. 18.16 on a syntax error, read that block as a new packet, answer
   * with a second Exception and close). Such a connection must not be reused; the stray
   * Exception, if it comes while idle, is swallowed.
   */
  reusable = true;
  /** Exceptions the server sent while idle after `reusable` turned false. */
  readonly strayExceptions: ServerException[] = [];
  /** Whether the running request has seen a Data packet (the server got past parsing). */
  private sawData = false;

  private readonly opts: ConnectionOptions;
  private readonly clientRevision: number;
  private readonly input: StreamBuffer;
  private readonly out = new OutputQueue();
  private readonly cache = new CodecCache();
  private blocks: BlockDecoder | undefined;
  /** The block packet being read, when one is incomplete. */
  private pendingBlock: BlockKind | undefined;
  /** Reads the body of the pending block packet (plain or in compression frames). */
  private readonly body: BlockBodyReader;
  private readonly recycler: SlabRecycler;
  /**
   * Opt-in, per request: data blocks are valid only until releaseBlock(); their
   * inbound buffers are then reused (flat memory, no garbage for streaming consumers).
   */
  recycleBlocks = false;
  private compressed = false;
  private dechunker: Dechunker | undefined;
  private serverTimezone: string | undefined;

  constructor(options: ConnectionOptions) {
    this.opts = options;
    this.recycler = new SlabRecycler(options.alloc ?? ((n) => new Uint8Array(n)), options.inputSlab ?? 64 * 1024);
    this.input = new StreamBuffer(this.recycler.take, options.inputSlab);
    this.input.onRetire = this.recycler.retire;
    this.body = new BlockBodyReader(this.input, () => this.opts.codecs);
    this.clientRevision = options.revision ?? CLIENT_REVISION;
    if (options.compression && options.compression !== 'none') {
      const m = METHOD[options.compression];
      if (!options.codecs?.get(m)) throw new ProtocolError(`no codec for compression '${options.compression}'`, 'CHWIRE_NO_CODEC');
    }
    const w = new Writer(256);
    encodeClientHello(w, {
      clientName: options.clientName,
      versionMajor: CHWIRE_VERSION.major,
      versionMinor: CHWIRE_VERSION.minor,
      revision: this.clientRevision,
      database: options.database ?? '',
      user: options.user ?? 'default',
      password: options.password ?? '',
    });
    this.out.push(w, false);
  }

  /** Bytes waiting to be written to the transport. */
  pendingOutput(): Uint8Array[] {
    return this.out.pending();
  }
  get pendingOutputBytes(): number {
    return this.out.bytes;
  }
  /** Take all pending output (the transport writes it). */
  takeOutput(): Uint8Array[] {
    return this.out.take();
  }
  /** Mark n bytes of pendingOutput() as written. */
  consumeOutput(n: number): void {
    this.out.consume(n);
  }

  get timezone(): string | undefined {
    return this.serverTimezone;
  }



  private expect(...states: ConnectionState[]): void {
    if (this.state === 'broken') throw new ProtocolError('the connection is broken and cannot be reused', 'CHWIRE_CONNECTION_BROKEN');
    if (!states.includes(this.state))
      throw new ProtocolError(`cannot do that while the connection is in state '${this.state}'`, 'CHWIRE_CONNECTION_BUSY');
  }

  private clientInfo(queryId: string): ClientInfo {
    return {
      queryKind: QueryKind.InitialQuery,
      initialUser: '',
      initialQueryId: queryId,
      initialAddress: '0.0.0.0:0',
      initialQueryStartTimeMicros: BigInt(Date.now()) * 1000n,
      interface: ClientInterface.TCP,
      osUser: this.opts.osUser ?? '',
      clientHostname: this.opts.hostname ?? '',
      clientName: this.opts.clientName,
      clientVersionMajor: CHWIRE_VERSION.major,
      clientVersionMinor: CHWIRE_VERSION.minor,
      clientRevision: this.clientRevision,
      quotaKey: this.opts.quotaKey ?? '',
      distributedDepth: 0,
      clientVersionPatch: CHWIRE_VERSION.patch,
    };
  }

  private writeQuery(q: QueryRequest): void {
    const queryId = q.queryId ?? '';
    const w = new Writer(256 + q.query.length * 3);
    const rev = this.revision;
    encodeQuery(
      w,
      {
        queryId,
        clientInfo: this.clientInfo(queryId),
        settings: has(rev, 'DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS') ? q.settings ?? [] : [],
        stage: QueryStage.Complete,
        compression: this.compressed,
        query: q.query,
        ...(q.parameters ? { parameters: q.parameters } : {}),
      },
      rev,
    );
    this.out.push(w);
  }

  /** Send a query (SELECT or any statement); events follow until endOfStream/exception. */
  query(q: QueryRequest): void {
    this.expect('idle');
    this.writeQuery(q);
    this.writeBlock([], 0); // end of external tables
    this.state = 'query';
    this.sawData = false;
  }

  /** Start an INSERT (query text without data); an insertHeader event follows. */
  startInsert(q: QueryRequest): void {
    this.expect('idle');
    this.writeQuery(q);
    this.writeBlock([], 0); // end of external tables
    this.state = 'insert-header';
    this.sawData = false;
  }

  /** Encode and send one block of an INSERT (after insertHeader). Conversion errors throw before anything is queued. */
  sendBlock(block: Block | BlockInput): void {
    this.expect('insert');
    const { columns, rows } = prepareBlock(block, this.cache, this.serverTimezone);
    if (rows > 0) this.writeBlock(columns, rows);
  }

  /** Send prepared columns (no conversion). */
  sendColumns(columns: EncodedColumn[], rows: number): void {
    this.expect('insert');
    if (rows > 0) this.writeBlock(columns, rows);
  }

  /** Finish the INSERT: the empty block; endOfStream (or exception) follows. */
  endInsert(): void {
    this.expect('insert');
    this.writeBlock([], 0);
    this.state = 'insert-end';
  }

  /** Ask the server to stop the running query; keep feeding bytes until endOfStream/exception. */
  cancel(): void {
    if (this.state === 'cancelling' || this.state === 'idle') return;
    this.expect('query', 'insert-header', 'insert', 'insert-end');
    const w = new Writer(8);
    encodeCancel(w);
    this.out.push(w);
    this.state = 'cancelling';
  }

  ping(): void {
    this.expect('idle');
    const w = new Writer(8);
    encodePing(w);
    this.out.push(w);
    this.state = 'ping';
  }

  tablesStatus(tables: QualifiedTableName[]): void {
    this.expect('idle');
    const w = new Writer(256);
    encodeTablesStatusRequest(w, tables, this.revision);
    this.out.push(w);
    this.state = 'tables-status';
  }

  private writeBlock(columns: EncodedColumn[], rows: number): void {
    const w = new Writer(columns.length ? 64 * 1024 : 64);
    encodeClientDataHeader(w, '', this.revision);
    if (!this.compressed) {
      writeBlock(w, columns, rows, { revision: this.revision });
      this.out.push(w);
      return;
    }
    const body = new Writer(64 * 1024);
    writeBlock(body, columns, rows, { revision: this.revision });
    const method = METHOD[this.opts.compression as 'lz4' | 'zstd'];
    for (const f of encodeFrames(body.toBytes(), method, this.opts.codecs!)) w.raw(f, false);
    this.out.push(w);
  }

  /**
   * Feed inbound bytes; returns the events they complete. A protocol error
   * breaks the connection and throws. `transient`: the caller reuses the
   * memory of `bytes` after the call, so they are copied, never kept.
   */
  receive(bytes: Uint8Array, transient = false): ConnectionEvent[] {
    return this.guarded(() => {
      if (this.dechunker) for (const part of this.dechunker.push(bytes)) this.input.push(part, !transient);
      else this.input.push(bytes, !transient);
    });
  }

  /** Take new input (fill), then decode what it completes; any error breaks the connection. */
  private guarded(fill: () => void): ConnectionEvent[] {
    if (this.state === 'broken') throw this.failure;
    const events: ConnectionEvent[] = [];
    try {
      fill();
      this.drain(events);
    } catch (e) {
      this.state = 'broken';
      this.failure = e;
      throw e;
    }
    return events;
  }

  /**
   * `size` bytes of room to read inbound bytes into directly (no copy), or undefined when they
   * must go through receive() (chunked framing is being undone).
   */
  readTarget(size: number): Uint8Array | undefined {
    if (this.dechunker || this.state === 'broken') return undefined;
    // `size` bytes, so a large block's body is still missing when its header is
    // parsed and reserve() can align it — but while a block waits for a known
    // number of bytes (its body, already placed), read all of them in one go.
    const want = this.pendingBlock && !this.body.compressed && this.blocks?.inProgress ? Math.max(this.blocks.wantAbs, this.blocks.expectAbs) - this.input.absEnd : 0;
    const n = want > size ? Math.min(want, MAX_READ_BYTES) : size;
    return this.input.writable(n).subarray(0, n);
  }

  /** n bytes were written into the last readTarget(): process them like receive(). */
  received(n: number): ConnectionEvent[] {
    return this.guarded(() => this.input.commit(n));
  }

  /** With recycleBlocks: the consumer is done with this data block (its buffers may be reused). */
  releaseBlock(block: Block): void {
    this.recycler.release(block);
  }

  /** With recycleBlocks: the request is over; every data block of it is released. */
  releaseAllBlocks(): void {
    this.recycler.releaseAll();
  }

  /** Mark the connection unusable (e.g. the socket closed). */
  fail(reason: unknown): void {
    this.state = 'broken';
    this.failure = reason;
  }

  private drain(events: ConnectionEvent[]): void {
    const input = this.input;
    for (;;) {
      if (this.pendingBlock) {
        if (!this.readBlock(events)) return;
        continue;
      }
      if (input.available === 0) return;
      const c = input.cursor();
      let p;
      try {
        p = decodeServerPacket(c, this.revision || this.clientRevision, { clientRevision: this.clientRevision, compressedTableColumns: this.compressed && has(this.revision, 'DBMS_MIN_REVISION_WITH_COMPRESSED_LOGS_PROFILE_EVENTS_COLUMNS') });
      } catch (e) {
        if (isNeedMore(e)) return;
        throw e;
      }
      input.consumeTo(c.pos);
      this.onPacket(p, events);
    }
  }

  private onPacket(p: ReturnType<typeof decodeServerPacket>, events: ConnectionEvent[]): void {
    switch (p.type) {
      case 'Hello': {
        if (this.state !== 'handshake') throw new ProtocolError('unexpected Hello from the server');
        this.serverHello = p.hello;
        this.revision = negotiateRevision(this.clientRevision, p.hello.revision);
        this.serverTimezone = p.hello.timezone;
        this.compressed = (this.opts.compression ?? 'none') !== 'none';
        if (has(this.revision, 'DBMS_MIN_PROTOCOL_VERSION_WITH_ADDENDUM')) {
          let send = 'notchunked';
          let recv = 'notchunked';
          if (has(this.revision, 'DBMS_MIN_PROTOCOL_VERSION_WITH_CHUNKED_PACKETS')) {
            // We prefer plain framing but follow a server that insists on chunks.
            send = negotiateChunked('notchunked_optional', p.hello.chunkedRecv ?? 'notchunked', 'send') ? 'chunked' : 'notchunked';
            recv = negotiateChunked('notchunked_optional', p.hello.chunkedSend ?? 'notchunked', 'receive') ? 'chunked' : 'notchunked';
          }
          const w = new Writer(64);
          encodeAddendum(w, { quotaKey: this.opts.quotaKey ?? '', chunkedSend: send, chunkedRecv: recv, parallelReplicasVersion: PARALLEL_REPLICAS_PROTOCOL_VERSION }, this.revision);
          this.out.push(w, false);
          this.out.chunked = send === 'chunked';
          if (recv === 'chunked') {
            // Bytes after the Hello are chunked (also those already buffered).
            this.dechunker = dechunkBuffered(this.input);
          }
        }
        this.state = 'idle';
        events.push({ type: 'hello', hello: p.hello, revision: this.revision });
        return;
      }
      case 'Data':
      case 'Totals':
      case 'Extremes':
      case 'Log':
      case 'ProfileEvents': {
        if (p.type === 'Data') this.sawData = true;
        const kind: BlockKind =
          p.type === 'Data' ? (this.state === 'insert-header' ? 'insertHeader' : 'data') : p.type === 'Totals' ? 'totals' : p.type === 'Extremes' ? 'extremes' : p.type === 'Log' ? 'log' : 'profileEvents';
        this.pendingBlock = kind;
        this.recycler.blockStart(this.input.buf);
        // Log/ProfileEvents blocks travel uncompressed below 54481.
        const compressed = this.compressed && (kind === 'data' || kind === 'totals' || kind === 'extremes' || kind === 'insertHeader' || has(this.revision, 'DBMS_MIN_REVISION_WITH_COMPRESSED_LOGS_PROFILE_EVENTS_COLUMNS'));
        this.body.start(compressed);
        this.blocks ??= new BlockDecoder(this.revision, { ...this.opts.valueOptions, serverTimezone: this.opts.valueOptions?.serverTimezone ?? this.serverTimezone }, this.cache);
        return;
      }
      case 'Exception':
        if (this.state === 'idle' && !this.reusable) {
          this.strayExceptions.push(p.exception);
          return;
        }
        this.requireRequest('Exception');
        if (this.state === 'handshake') {
          // The server refused the handshake (bad password, unknown database) and closes.
          this.reusable = false;
          this.state = 'broken';
          this.failure = new ProtocolError(`the server refused the connection: ${p.exception.message}`, 'CHWIRE_HANDSHAKE_REFUSED');
          events.push({ type: 'exception', exception: p.exception });
          return;
        }
        if (!this.sawData && this.state !== 'ping' && this.state !== 'tables-status') this.reusable = false;
        this.state = 'idle';
        events.push({ type: 'exception', exception: p.exception });
        return;
      case 'EndOfStream':
        this.requireRequest('EndOfStream');
        if (this.state === 'insert-header') throw new ProtocolError('EndOfStream before the INSERT header block');
        this.state = 'idle';
        events.push({ type: 'endOfStream' });
        return;
      case 'Pong':
        if (this.state !== 'ping') throw new ProtocolError(`unexpected Pong in state '${this.state}'`);
        this.state = 'idle';
        events.push({ type: 'pong' });
        return;
      case 'Progress':
        events.push({ type: 'progress', progress: p.progress });
        return;
      case 'ProfileInfo':
        events.push({ type: 'profileInfo', info: p.profileInfo });
        return;
      case 'TableColumns':
        events.push({ type: 'tableColumns', tableName: p.tableColumns.tableName, description: p.tableColumns.columns });
        return;
      case 'TableColumnsCompressed':
        this.readCompressedTableColumns(events);
        return;
      case 'TimezoneUpdate':
        this.serverTimezone = p.timezone;
        this.blocks = undefined;
        events.push({ type: 'timezoneUpdate', timezone: p.timezone });
        return;
      case 'PartUUIDs':
        events.push({ type: 'partUUIDs', uuids: p.uuids });
        return;
      case 'TablesStatusResponse':
        if (this.state !== 'tables-status') throw new ProtocolError('unexpected TablesStatusResponse');
        this.state = 'idle';
        events.push({ type: 'tablesStatus', tables: p.tables });
        return;
      default:
        throw new ProtocolError(`unexpected server packet ${p.type} in state '${this.state}'`, 'CHWIRE_UNEXPECTED_PACKET');
    }
  }

  private requireRequest(what: string): void {
    if (this.state === 'idle' || this.state === 'handshake' && what !== 'Exception')
      throw new ProtocolError(`unexpected ${what} in state '${this.state}'`, 'CHWIRE_UNEXPECTED_PACKET');
  }

  /** At ≥ 54481 with compression the TableColumns strings come inside frames. */
  private readCompressedTableColumns(_events: ConnectionEvent[]): void {
    this.pendingBlock = 'tableColumns';
    this.body.start(true);
  }

  /** Continue the pending block packet; true when it completed. */
  private readBlock(events: ConnectionEvent[]): boolean {
    const kind = this.pendingBlock!;
    if (kind === 'tableColumns') {
      const t = this.body.next(decodeTableColumnsBody);
      if (!t) return false;
      this.pendingBlock = undefined;
      events.push({ type: 'tableColumns', tableName: t.tableName, description: t.columns });
      return true;
    }
    const blocks = this.blocks!;
    const block = this.body.next((c, base) => blocks.tryRead(c, base), blocks);
    if (!block) return false;
    this.pendingBlock = undefined;
    this.recycler.blockEnd(block, this.input.buf, this.recycleBlocks && kind === 'data');
    if (kind === 'insertHeader') this.state = 'insert';
    events.push({ type: kind, block } as ConnectionEvent);
    return true;
  }
}

export { NEED_MORE };
