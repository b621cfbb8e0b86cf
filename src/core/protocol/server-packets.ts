// Server → client packets: decode (client side) and encode (server side).
// Layouts from src/Server/TCPHandler.cpp (send*), src/Client/Connection.cpp
// (receive*), src/IO/Progress.cpp, src/QueryPipeline/ProfileInfo.cpp,
// src/Interpreters/TablesStatus.cpp and the native protocol spec. Every
// decoder is a pure function of the cursor: on NEED_MORE the cursor is left
// where it was and nothing else has changed.

import { Cursor } from '../io/cursor.js';
import { Writer } from '../io/writer.js';
import { LimitError, ProtocolError } from '../errors.js';
import { has, negotiateRevision } from './revision.js';
import { ServerCode, serverCodeName } from './codes.js';
import {
  atomically,
  boundedString,
  bytesToHex,
  hexToBytes,
  listLength,
  MAX_EXCEPTION_DEPTH,
  MAX_HELLO_STRING_BYTES,
  MAX_LIST_ITEMS,
  MAX_PASSWORD_RULES,
  readSettings,
  swap64,
  writeSettings,
  type Setting,
} from './common.js';
import type { QualifiedTableName } from './client-packets.js';

// ---------------------------------------------------------------- Hello

export interface PasswordComplexityRule {
  pattern: string;
  message: string;
}

/**
 * Server Hello. Optional fields are present iff min(client revision, server
 * revision) reaches their revision; they are listed in wire order.
 */
export interface ServerHello {
  serverName: string;
  versionMajor: number;
  versionMinor: number;
  /** The server's protocol revision. */
  revision: number;
  /** [≥54471] placed right after the revision. */
  parallelReplicasVersion?: number;
  /** [≥54058] */
  timezone?: string;
  /** [≥54372] */
  displayName?: string;
  /** [≥54401] (ClickHouse uses the revision as patch below it). */
  versionPatch?: number;
  /** [≥54470] the server's send preference ("chunked", "notchunked", "…_optional"). */
  chunkedSend?: string;
  /** [≥54470] the server's receive preference. */
  chunkedRecv?: string;
  /** [≥54461] */
  passwordComplexityRules?: PasswordComplexityRule[];
  /** [≥54462] interserver nonce. */
  nonce?: bigint;
  /** [≥54474] the server's changed settings. */
  settings?: Setting[];
  /** [≥54477] */
  queryPlanSerializationVersion?: number;
  /** [≥54479] */
  clusterFunctionProtocolVersion?: number;
}

/** The revision both sides gate on after this Hello. */
export function helloRevision(hello: ServerHello, clientRevision: number): number {
  return negotiateRevision(clientRevision, hello.revision);
}

export function encodeServerHello(w: Writer, h: ServerHello, clientRevision: number): void {
  const rev = negotiateRevision(clientRevision, h.revision);
  w.varuint(ServerCode.Hello);
  w.string(h.serverName);
  w.varuint(h.versionMajor);
  w.varuint(h.versionMinor);
  w.varuint(h.revision);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_VERSIONED_PARALLEL_REPLICAS_PROTOCOL')) w.varuint(h.parallelReplicasVersion ?? 0);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_SERVER_TIMEZONE')) w.string(h.timezone ?? '');
  if (has(rev, 'DBMS_MIN_REVISION_WITH_SERVER_DISPLAY_NAME')) w.string(h.displayName ?? '');
  if (has(rev, 'DBMS_MIN_REVISION_WITH_VERSION_PATCH')) w.varuint(h.versionPatch ?? 0);
  // Chunked capabilities precede the password rules although their revision is higher.
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_CHUNKED_PACKETS')) {
    w.string(h.chunkedSend ?? 'notchunked');
    w.string(h.chunkedRecv ?? 'notchunked');
  }
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_PASSWORD_COMPLEXITY_RULES')) {
    const rules = h.passwordComplexityRules ?? [];
    w.varuint(rules.length);
    for (const r of rules) {
      w.string(r.pattern);
      w.string(r.message);
    }
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_INTERSERVER_SECRET_V2')) w.u64(h.nonce ?? 0n);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_SERVER_SETTINGS')) writeSettings(w, h.settings ?? [], rev);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_QUERY_PLAN_SERIALIZATION')) w.varuint(h.queryPlanSerializationVersion ?? 0);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_VERSIONED_CLUSTER_FUNCTION_PROTOCOL')) {
    w.varuint(h.clusterFunctionProtocolVersion ?? 0);
  }
}

function helloString(c: Cursor, what: string): string {
  return boundedString(c, MAX_HELLO_STRING_BYTES, what);
}

/** Server Hello body (after the code), gated on min(clientRevision, server revision). */
export function decodeServerHelloBody(c: Cursor, clientRevision: number): ServerHello {
  return atomically(c, () => {
    const h: ServerHello = {
      serverName: helloString(c, 'server name'),
      versionMajor: c.varuint('version major'),
      versionMinor: c.varuint('version minor'),
      revision: c.varuint('revision'),
    };
    const rev = negotiateRevision(clientRevision, h.revision);
    if (has(rev, 'DBMS_MIN_REVISION_WITH_VERSIONED_PARALLEL_REPLICAS_PROTOCOL')) h.parallelReplicasVersion = c.varuint();
    if (has(rev, 'DBMS_MIN_REVISION_WITH_SERVER_TIMEZONE')) h.timezone = helloString(c, 'timezone');
    if (has(rev, 'DBMS_MIN_REVISION_WITH_SERVER_DISPLAY_NAME')) h.displayName = helloString(c, 'display name');
    if (has(rev, 'DBMS_MIN_REVISION_WITH_VERSION_PATCH')) h.versionPatch = c.varuint('version patch');
    if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_CHUNKED_PACKETS')) {
      h.chunkedSend = helloString(c, 'chunked send');
      h.chunkedRecv = helloString(c, 'chunked recv');
    }
    if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_PASSWORD_COMPLEXITY_RULES')) {
      const n = listLength(c, MAX_PASSWORD_RULES, 'password complexity rules');
      const rules: PasswordComplexityRule[] = [];
      for (let i = 0; i < n; i++) {
        rules.push({ pattern: helloString(c, 'rule pattern'), message: helloString(c, 'rule message') });
      }
      h.passwordComplexityRules = rules;
    }
    if (has(rev, 'DBMS_MIN_REVISION_WITH_INTERSERVER_SECRET_V2')) h.nonce = c.u64();
    if (has(rev, 'DBMS_MIN_REVISION_WITH_SERVER_SETTINGS')) h.settings = readSettings(c, rev, 'server settings');
    if (has(rev, 'DBMS_MIN_REVISION_WITH_QUERY_PLAN_SERIALIZATION')) h.queryPlanSerializationVersion = c.varuint();
    if (has(rev, 'DBMS_MIN_REVISION_WITH_VERSIONED_CLUSTER_FUNCTION_PROTOCOL')) {
      h.clusterFunctionProtocolVersion = c.varuint();
    }
    return h;
  });
}

// ---------------------------------------------------------------- Exception

/** A server exception; `nested` continues the chain (older servers send causes this way). */
export interface ServerException {
  code: number;
  name: string;
  message: string;
  stackTrace: string;
  nested?: ServerException;
}

/** Exception packet: code + body; nested exceptions follow directly, without a code. */
export function encodeException(w: Writer, e: ServerException): void {
  w.varuint(ServerCode.Exception);
  let cur: ServerException | undefined = e;
  while (cur) {
    w.i32(cur.code);
    w.string(cur.name);
    w.string(cur.message);
    w.string(cur.stackTrace);
    w.bool(cur.nested !== undefined);
    cur = cur.nested;
  }
}

export function decodeExceptionBody(c: Cursor): ServerException {
  return atomically(c, () => {
    const chain: ServerException[] = [];
    for (;;) {
      if (chain.length >= MAX_EXCEPTION_DEPTH) throw new LimitError(`exception chain deeper than ${MAX_EXCEPTION_DEPTH}`);
      const e: ServerException = {
        code: c.i32(),
        name: c.string('exception name'),
        message: c.string('exception message'),
        stackTrace: c.string('stack trace'),
      };
      chain.push(e);
      if (!c.bool()) break;
    }
    for (let i = chain.length - 2; i >= 0; i--) chain[i]!.nested = chain[i + 1];
    return chain[0]!;
  });
}

// ---------------------------------------------------------------- Progress

/** Progress increments since the previous packet (src/IO/Progress.cpp). */
export interface Progress {
  rows: number;
  bytes: number;
  /** [≥51554] */
  totalRows?: number;
  /** [≥54463] */
  totalBytes?: number;
  /** [≥54420] */
  writtenRows?: number;
  writtenBytes?: number;
  /** [≥54460] */
  elapsedNs?: number;
}

export function encodeProgress(w: Writer, p: Progress, rev: number): void {
  w.varuint(ServerCode.Progress);
  w.varuint(p.rows);
  w.varuint(p.bytes);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_TOTAL_ROWS_IN_PROGRESS')) w.varuint(p.totalRows ?? 0);
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_TOTAL_BYTES_IN_PROGRESS')) w.varuint(p.totalBytes ?? 0);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_CLIENT_WRITE_INFO')) {
    w.varuint(p.writtenRows ?? 0);
    w.varuint(p.writtenBytes ?? 0);
  }
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_SERVER_QUERY_TIME_IN_PROGRESS')) w.varuint(p.elapsedNs ?? 0);
}

export function decodeProgressBody(c: Cursor, rev: number): Progress {
  return atomically(c, () => {
    const p: Progress = { rows: c.varuint('rows'), bytes: c.varuint('bytes') };
    if (has(rev, 'DBMS_MIN_REVISION_WITH_TOTAL_ROWS_IN_PROGRESS')) p.totalRows = c.varuint('total rows');
    if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_TOTAL_BYTES_IN_PROGRESS')) p.totalBytes = c.varuint('total bytes');
    if (has(rev, 'DBMS_MIN_REVISION_WITH_CLIENT_WRITE_INFO')) {
      p.writtenRows = c.varuint('written rows');
      p.writtenBytes = c.varuint('written bytes');
    }
    if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_SERVER_QUERY_TIME_IN_PROGRESS')) p.elapsedNs = c.varuint('elapsed ns');
    return p;
  });
}

// ---------------------------------------------------------------- ProfileInfo

/** src/QueryPipeline/ProfileInfo.cpp */
export interface ProfileInfo {
  rows: number;
  blocks: number;
  bytes: number;
  appliedLimit: boolean;
  rowsBeforeLimit: number;
  /** Obsolete byte (servers write true); kept for byte-exact round trips. */
  calculatedRowsBeforeLimit: boolean;
  /** [≥54469] */
  appliedAggregation?: boolean;
  rowsBeforeAggregation?: number;
}

export function encodeProfileInfo(w: Writer, p: ProfileInfo, rev: number): void {
  w.varuint(ServerCode.ProfileInfo);
  w.varuint(p.rows);
  w.varuint(p.blocks);
  w.varuint(p.bytes);
  w.bool(p.appliedLimit);
  w.varuint(p.rowsBeforeLimit);
  w.bool(p.calculatedRowsBeforeLimit);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_ROWS_BEFORE_AGGREGATION')) {
    w.bool(p.appliedAggregation ?? false);
    w.varuint(p.rowsBeforeAggregation ?? 0);
  }
}

export function decodeProfileInfoBody(c: Cursor, rev: number): ProfileInfo {
  return atomically(c, () => {
    const p: ProfileInfo = {
      rows: c.varuint('rows'),
      blocks: c.varuint('blocks'),
      bytes: c.varuint('bytes'),
      appliedLimit: c.bool(),
      rowsBeforeLimit: c.varuint('rows before limit'),
      calculatedRowsBeforeLimit: c.bool(),
    };
    if (has(rev, 'DBMS_MIN_REVISION_WITH_ROWS_BEFORE_AGGREGATION')) {
      p.appliedAggregation = c.bool();
      p.rowsBeforeAggregation = c.varuint('rows before aggregation');
    }
    return p;
  });
}

// ---------------------------------------------------------------- TablesStatusResponse

export interface TableStatus extends QualifiedTableName {
  isReplicated: boolean;
  /** Present iff isReplicated. */
  absoluteDelay?: number;
  /** [≥54467] present iff isReplicated. */
  isReadonly?: boolean;
}

export function encodeTablesStatusResponse(w: Writer, tables: readonly TableStatus[], rev: number): void {
  w.varuint(ServerCode.TablesStatusResponse);
  w.varuint(tables.length);
  for (const t of tables) {
    w.string(t.database);
    w.string(t.table);
    w.bool(t.isReplicated);
    if (t.isReplicated) {
      w.varuint(t.absoluteDelay ?? 0);
      if (has(rev, 'DBMS_MIN_REVISION_WITH_TABLE_READ_ONLY_CHECK')) w.varuint(t.isReadonly ? 1 : 0);
    }
  }
}

export function decodeTablesStatusResponseBody(c: Cursor, rev: number): TableStatus[] {
  return atomically(c, () => {
    const n = listLength(c, MAX_LIST_ITEMS, 'table statuses');
    const out: TableStatus[] = [];
    for (let i = 0; i < n; i++) {
      const t: TableStatus = { database: c.string('database'), table: c.string('table'), isReplicated: c.bool() };
      if (t.isReplicated) {
        t.absoluteDelay = c.varuint('absolute delay');
        if (has(rev, 'DBMS_MIN_REVISION_WITH_TABLE_READ_ONLY_CHECK')) t.isReadonly = c.varuint('is readonly') !== 0;
      }
      out.push(t);
    }
    return out;
  });
}

// ---------------------------------------------------------------- small packets

export interface TableColumns {
  /** External table name; '' for the main table. */
  tableName: string;
  /** ColumnsDescription text ("columns format version: 1\n…"). */
  columns: string;
}

/**
 * TableColumns packet. At ≥54481 with query compression on, the two strings
 * travel inside compression frames: the connection layer encodes/decodes the
 * body through the compressed stream (use the *Body functions).
 */
export function encodeTableColumns(w: Writer, t: TableColumns): void {
  w.varuint(ServerCode.TableColumns);
  encodeTableColumnsBody(w, t);
}
export function encodeTableColumnsBody(w: Writer, t: TableColumns): void {
  w.string(t.tableName);
  w.string(t.columns);
}
export function decodeTableColumnsBody(c: Cursor): TableColumns {
  return atomically(c, () => ({ tableName: c.string('table name'), columns: c.string('columns') }));
}

/** PartUUIDs: writeVectorBinary of UUIDs (two little-endian UInt64 halves, high first). */
export function encodePartUUIDs(w: Writer, uuids: readonly string[]): void {
  w.varuint(ServerCode.PartUUIDs);
  w.varuint(uuids.length);
  for (const u of uuids) w.raw(swap64(hexToBytes(u.replace(/-/g, ''), 16, 'UUID')));
}
export function decodePartUUIDsBody(c: Cursor): string[] {
  return atomically(c, () => {
    const n = listLength(c, MAX_LIST_ITEMS, 'part UUIDs');
    c.needItems(n, 16);
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const h = bytesToHex(swap64(c.bytes(16)));
      out.push(`${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`);
    }
    return out;
  });
}

export function encodeTimezoneUpdate(w: Writer, timezone: string): void {
  w.varuint(ServerCode.TimezoneUpdate);
  w.string(timezone);
}
export function encodeSSHChallenge(w: Writer, challenge: Uint8Array): void {
  w.varuint(ServerCode.SSHChallenge);
  w.stringBytes(challenge);
}
export function encodePong(w: Writer): void {
  w.varuint(ServerCode.Pong);
}
export function encodeEndOfStream(w: Writer): void {
  w.varuint(ServerCode.EndOfStream);
}

/** Packets whose body is [table name] + a block. */
export type BlockPacketType = 'Data' | 'Totals' | 'Extremes' | 'Log' | 'ProfileEvents';

const blockPacketCodes: Record<BlockPacketType, number> = {
  Data: ServerCode.Data,
  Totals: ServerCode.Totals,
  Extremes: ServerCode.Extremes,
  Log: ServerCode.Log,
  ProfileEvents: ServerCode.ProfileEvents,
};

/**
 * Header of a server Data/Totals/Extremes/Log/ProfileEvents packet: code +
 * [≥50264] table name. The block follows (Native layer writeBlock); Data,
 * Totals and Extremes blocks are compressed when the query asked for it, Log
 * and ProfileEvents blocks too at ≥54481 (the table name never is).
 */
export function encodeServerDataHeader(w: Writer, type: BlockPacketType, tableName: string, rev: number): void {
  w.varuint(blockPacketCodes[type]);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_TEMPORARY_TABLES')) w.string(tableName);
}

// ---------------------------------------------------------------- dispatch

export type ServerPacket =
  | { type: 'Hello'; hello: ServerHello }
  /** The block follows in the stream: read it with the Native block reader. */
  | { type: BlockPacketType; tableName: string }
  | { type: 'Exception'; exception: ServerException }
  | { type: 'Progress'; progress: Progress }
  | { type: 'Pong' }
  | { type: 'EndOfStream' }
  | { type: 'ProfileInfo'; profileInfo: ProfileInfo }
  | { type: 'TablesStatusResponse'; tables: TableStatus[] }
  /** At ≥54481 with compression, the body is compressed: see ServerPacketOptions. */
  | { type: 'TableColumns'; tableColumns: TableColumns }
  | { type: 'PartUUIDs'; uuids: string[] }
  | { type: 'TimezoneUpdate'; timezone: string }
  | { type: 'SSHChallenge'; challenge: Uint8Array };

export interface ServerPacketOptions {
  /**
   * The client's own revision, used only to gate a server Hello (its gates
   * depend on the revision inside it). Defaults to `rev`.
   */
  clientRevision?: number;
  /**
   * Set when rev ≥ 54481 and the query enabled compression: the TableColumns
   * body is then inside compression frames, so decoding stops after the code
   * and returns { type: 'TableColumnsCompressed' }; the caller decompresses
   * and calls decodeTableColumnsBody.
   */
  compressedTableColumns?: boolean;
}

/** Returned instead of TableColumns when options.compressedTableColumns is set. */
export type ServerPacketOrCompressed = ServerPacket | { type: 'TableColumnsCompressed' };

function gate(rev: number, ok: boolean, code: number): void {
  if (!ok) {
    throw new ProtocolError(
      `server packet ${code} (${serverCodeName(code)}) does not exist at revision ${rev}`,
      'CHWIRE_UNEXPECTED_PACKET',
    );
  }
}

/**
 * Read one server packet: code + body (for block packets: code + table name,
 * with the cursor left at the block). On NEED_MORE the cursor is unchanged.
 * An unknown code is a ProtocolError 'CHWIRE_UNKNOWN_PACKET' naming it; a
 * known packet a client never expects (parallel-replicas / cluster tasks,
 * previews) is 'CHWIRE_UNEXPECTED_PACKET'.
 */
export function decodeServerPacket(c: Cursor, rev: number, opts: ServerPacketOptions = {}): ServerPacketOrCompressed {
  return atomically(c, (): ServerPacketOrCompressed => {
    const code = c.varuint('packet code');
    switch (code) {
      case ServerCode.Hello:
        return { type: 'Hello', hello: decodeServerHelloBody(c, opts.clientRevision ?? rev) };
      case ServerCode.Data:
      case ServerCode.Totals:
      case ServerCode.Extremes:
      case ServerCode.Log:
      case ServerCode.ProfileEvents: {
        if (code === ServerCode.Log) gate(rev, has(rev, 'DBMS_MIN_REVISION_WITH_SERVER_LOGS'), code);
        if (code === ServerCode.ProfileEvents) {
          gate(rev, has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_INCREMENTAL_PROFILE_EVENTS'), code);
        }
        const tableName = has(rev, 'DBMS_MIN_REVISION_WITH_TEMPORARY_TABLES') ? c.string('table name') : '';
        return { type: serverCodeName(code) as BlockPacketType, tableName };
      }
      case ServerCode.Exception:
        return { type: 'Exception', exception: decodeExceptionBody(c) };
      case ServerCode.Progress:
        return { type: 'Progress', progress: decodeProgressBody(c, rev) };
      case ServerCode.Pong:
        return { type: 'Pong' };
      case ServerCode.EndOfStream:
        return { type: 'EndOfStream' };
      case ServerCode.ProfileInfo:
        return { type: 'ProfileInfo', profileInfo: decodeProfileInfoBody(c, rev) };
      case ServerCode.TablesStatusResponse:
        gate(rev, has(rev, 'DBMS_MIN_REVISION_WITH_TABLES_STATUS'), code);
        return { type: 'TablesStatusResponse', tables: decodeTablesStatusResponseBody(c, rev) };
      case ServerCode.TableColumns:
        gate(rev, has(rev, 'DBMS_MIN_REVISION_WITH_COLUMN_DEFAULTS_METADATA'), code);
        if (opts.compressedTableColumns) return { type: 'TableColumnsCompressed' };
        return { type: 'TableColumns', tableColumns: decodeTableColumnsBody(c) };
      case ServerCode.PartUUIDs:
        return { type: 'PartUUIDs', uuids: decodePartUUIDsBody(c) };
      case ServerCode.TimezoneUpdate:
        gate(rev, has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_TIMEZONE_UPDATES'), code);
        return { type: 'TimezoneUpdate', timezone: c.string('timezone') };
      case ServerCode.SSHChallenge:
        gate(rev, has(rev, 'DBMS_MIN_REVISION_WITH_SSH_AUTHENTICATION'), code);
        return { type: 'SSHChallenge', challenge: c.stringBytes('challenge').slice() };
    }
    const name = serverCodeName(code);
    if (name !== undefined) {
      throw new ProtocolError(`unexpected server packet ${code} (${name}): chwire does not take part in it`, 'CHWIRE_UNEXPECTED_PACKET');
    }
    throw new ProtocolError(`unknown server packet code ${code}`, 'CHWIRE_UNKNOWN_PACKET');
  });
}
