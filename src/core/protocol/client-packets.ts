// Client → server packets: encode (client side) and decode (server side).
// Layouts from src/Client/Connection.cpp (send*), src/Server/TCPHandler.cpp
// (receive*), src/Interpreters/ClientInfo.cpp and the native protocol spec
// (docs/en/interfaces/specs/NativeProtocol.md). Encoders write the packet
// code; decoders of a whole packet read it. Every field gated on a revision is
// written/read only when the negotiated revision `rev` reaches it.

import { Cursor } from '../io/cursor.js';
import { Writer } from '../io/writer.js';
import { DecodeError, isNeedMore, ProtocolError } from '../errors.js';
import { has, Revision } from './revision.js';
import { ClientCode, ClientInterface, QueryKind, QueryStage, clientCodeName } from './codes.js';
import {
  atomically,
  bytesToHex,
  hexToBytes,
  listLength,
  MAX_LIST_ITEMS,
  readSettings,
  readStringList,
  swap64,
  writeSettings,
  writeStringList,
  type Setting,
} from './common.js';

// ---------------------------------------------------------------- Hello

export interface ClientHello {
  /** e.g. `myapp/1.2 chwire/0.1.0` (see formatClientName). */
  clientName: string;
  versionMajor: number;
  versionMinor: number;
  /** The client's own protocol revision (CLIENT_REVISION). */
  revision: number;
  database: string;
  user: string;
  password: string;
}

export function encodeClientHello(w: Writer, h: ClientHello): void {
  w.varuint(ClientCode.Hello);
  w.string(h.clientName);
  w.varuint(h.versionMajor);
  w.varuint(h.versionMinor);
  w.varuint(h.revision);
  w.string(h.database);
  w.string(h.user);
  w.string(h.password);
}

/** Hello body (after the code). Hello carries no gated field. */
export function decodeClientHelloBody(c: Cursor): ClientHello {
  return atomically(c, () => ({
    clientName: c.string('client name'),
    versionMajor: c.varuint('version major'),
    versionMinor: c.varuint('version minor'),
    revision: c.varuint('revision'),
    database: c.string('database'),
    user: c.string('user'),
    password: c.string('password'),
  }));
}

// ---------------------------------------------------------------- Addendum

/** Chunked-framing preference strings (server Hello, addendum). */
export type ChunkedMode = 'chunked' | 'notchunked' | 'chunked_optional' | 'notchunked_optional';

export interface Addendum {
  quotaKey: string;
  /** [≥54470] client's agreed send mode: 'chunked' | 'notchunked'. */
  chunkedSend?: string;
  /** [≥54470] client's agreed receive mode. */
  chunkedRecv?: string;
  /** [≥54471] parallel replicas protocol version (PARALLEL_REPLICAS_PROTOCOL_VERSION). */
  parallelReplicasVersion?: number;
}

/** The addendum has no packet code; it is sent only when rev ≥ 54458. */
export function encodeAddendum(w: Writer, a: Addendum, rev: number): void {
  if (!has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_ADDENDUM')) return;
  w.string(a.quotaKey);
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_CHUNKED_PACKETS')) {
    w.string(a.chunkedSend ?? 'notchunked');
    w.string(a.chunkedRecv ?? 'notchunked');
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_VERSIONED_PARALLEL_REPLICAS_PROTOCOL')) {
    w.varuint(a.parallelReplicasVersion ?? 0);
  }
}

/** Returns undefined (reading nothing) below 54458. */
export function decodeAddendum(c: Cursor, rev: number): Addendum | undefined {
  if (!has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_ADDENDUM')) return undefined;
  return atomically(c, () => {
    const a: Addendum = { quotaKey: c.string('quota key') };
    if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_CHUNKED_PACKETS')) {
      a.chunkedSend = c.string('chunked send');
      a.chunkedRecv = c.string('chunked recv');
    }
    if (has(rev, 'DBMS_MIN_REVISION_WITH_VERSIONED_PARALLEL_REPLICAS_PROTOCOL')) {
      a.parallelReplicasVersion = c.varuint('parallel replicas version');
    }
    return a;
  });
}

/**
 * Agree on one direction of chunked framing (TCPHandler / Connection logic,
 * spec "Negotiation"): an `_optional` side follows the other; strict sides
 * must match. `mine` is this side's preference for the direction, `theirs`
 * the peer's preference for the opposite end of the same direction.
 * Returns true for chunked; throws CHWIRE_CHUNKED_MISMATCH on a strict conflict.
 */
export function negotiateChunked(mine: string, theirs: string, direction: string): boolean {
  const mineOptional = mine.endsWith('_optional');
  const theirsOptional = theirs.endsWith('_optional');
  if (theirsOptional) return mine.startsWith('chunked');
  if (mineOptional) return theirs.startsWith('chunked');
  const a = mine.startsWith('chunked');
  const b = theirs.startsWith('chunked');
  if (a !== b) {
    throw new ProtocolError(
      `chunked framing mismatch for ${direction}: client wants '${mine}', server wants '${theirs}'`,
      'CHWIRE_CHUNKED_MISMATCH',
    );
  }
  return a;
}

// ---------------------------------------------------------------- ClientInfo

export interface OpenTelemetryContext {
  /** W3C trace id, 32 hex digits. */
  traceId: string;
  /** W3C span id, 16 hex digits. */
  spanId: string;
  traceState: string;
  traceFlags: number;
}

/**
 * ClientInfo as carried in Query (src/Interpreters/ClientInfo.cpp). Fields
 * marked [≥R] are present after decoding only when rev ≥ R; TCP fields only
 * for interface TCP, HTTP fields only for interface HTTP. Encoders use the
 * defaults (empty / 0 / false) for any field left undefined.
 */
export interface ClientInfo {
  queryKind: number;
  initialUser?: string;
  initialQueryId?: string;
  /** `ip:port`; the server replaces it with the real peer address for initial queries. */
  initialAddress?: string;
  /** [≥54449] microseconds since the epoch. */
  initialQueryStartTimeMicros?: bigint;
  interface?: number;
  // TCP branch
  osUser?: string;
  clientHostname?: string;
  clientName?: string;
  clientVersionMajor?: number;
  clientVersionMinor?: number;
  /** The client's own DBMS_TCP_PROTOCOL_VERSION, not the negotiated one. */
  clientRevision?: number;
  // HTTP branch
  httpMethod?: number;
  httpUserAgent?: string;
  /** [≥54443] */
  forwardedFor?: string;
  /** [≥54447] */
  httpReferer?: string;
  /** [≥54490] */
  httpHandlerName?: string;
  /** [≥54490] */
  httpRequestUrl?: string;
  /** [≥54060] */
  quotaKey?: string;
  /** [≥54448] */
  distributedDepth?: number;
  /** [≥54401, TCP] */
  clientVersionPatch?: number;
  /** [≥54442] absent = no trace context. */
  openTelemetry?: OpenTelemetryContext;
  /** [≥54453] */
  collaborateWithInitiator?: boolean;
  countParticipatingReplicas?: number;
  numberOfCurrentReplica?: number;
  /** [≥54475] */
  scriptQueryNumber?: number;
  scriptLineNumber?: number;
  /** [≥54476] absent = no JWT. */
  jwt?: string;
  /** [≥54485] */
  clientAgent?: string;
  /** [≥54486] */
  isInternal?: boolean;
  /** [≥54488] absent = not present. */
  currentRoles?: string[];
}

export function encodeClientInfo(w: Writer, ci: ClientInfo, rev: number): void {
  if (!has(rev, 'DBMS_MIN_REVISION_WITH_CLIENT_INFO')) {
    throw new ProtocolError(`ClientInfo does not exist at revision ${rev}`, 'CHWIRE_PROTOCOL');
  }
  w.u8(ci.queryKind);
  if (ci.queryKind === QueryKind.NoQuery) return;
  w.string(ci.initialUser ?? '');
  w.string(ci.initialQueryId ?? '');
  w.string(ci.initialAddress ?? '0.0.0.0:0');
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_INITIAL_QUERY_START_TIME')) {
    w.i64(ci.initialQueryStartTimeMicros ?? 0n);
  }
  const iface = ci.interface ?? ClientInterface.TCP;
  w.u8(iface);
  if (iface === ClientInterface.TCP) {
    w.string(ci.osUser ?? '');
    w.string(ci.clientHostname ?? '');
    w.string(ci.clientName ?? '');
    w.varuint(ci.clientVersionMajor ?? 0);
    w.varuint(ci.clientVersionMinor ?? 0);
    w.varuint(ci.clientRevision ?? 0);
  } else if (iface === ClientInterface.HTTP) {
    w.u8(ci.httpMethod ?? 0);
    w.string(ci.httpUserAgent ?? '');
    if (has(rev, 'DBMS_MIN_REVISION_WITH_X_FORWARDED_FOR_IN_CLIENT_INFO')) w.string(ci.forwardedFor ?? '');
    if (has(rev, 'DBMS_MIN_REVISION_WITH_REFERER_IN_CLIENT_INFO')) w.string(ci.httpReferer ?? '');
    if (has(rev, 'DBMS_MIN_REVISION_WITH_HTTP_HANDLER_IN_CLIENT_INFO')) {
      w.string(ci.httpHandlerName ?? '');
      w.string(ci.httpRequestUrl ?? '');
    }
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_QUOTA_KEY_IN_CLIENT_INFO')) w.string(ci.quotaKey ?? '');
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_DISTRIBUTED_DEPTH')) w.varuint(ci.distributedDepth ?? 0);
  if (iface === ClientInterface.TCP && has(rev, 'DBMS_MIN_REVISION_WITH_VERSION_PATCH')) {
    w.varuint(ci.clientVersionPatch ?? 0);
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_OPENTELEMETRY')) {
    const ot = ci.openTelemetry;
    if (ot) {
      w.u8(1);
      // Trace id and span id travel as little-endian UInt64 halves (ClickHouse issue 34369).
      w.raw(swap64(hexToBytes(ot.traceId, 16, 'trace id')));
      w.raw(swap64(hexToBytes(ot.spanId, 8, 'span id')));
      w.string(ot.traceState);
      w.u8(ot.traceFlags);
    } else {
      w.u8(0);
    }
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_PARALLEL_REPLICAS')) {
    w.varuint(ci.collaborateWithInitiator ? 1 : 0);
    w.varuint(ci.countParticipatingReplicas ?? 0);
    w.varuint(ci.numberOfCurrentReplica ?? 0);
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_QUERY_AND_LINE_NUMBERS')) {
    w.varuint(ci.scriptQueryNumber ?? 0);
    w.varuint(ci.scriptLineNumber ?? 0);
  }
  if (has(rev, 'DBMS_MIN_REVISON_WITH_JWT_IN_INTERSERVER')) {
    if (ci.jwt !== undefined && ci.jwt !== '') {
      w.u8(1);
      w.string(ci.jwt);
    } else w.u8(0);
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_CLIENT_AGENT_IN_CLIENT_INFO')) w.string(ci.clientAgent ?? '');
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_INTERNAL_QUERY_FLAG')) w.u8(ci.isInternal ? 1 : 0);
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_INTERSERVER_CURRENT_ROLES')) {
    if (ci.currentRoles) {
      w.u8(1);
      writeStringList(w, ci.currentRoles);
    } else w.u8(0);
  }
}

export function decodeClientInfo(c: Cursor, rev: number): ClientInfo {
  return atomically(c, () => readClientInfo(c, rev));
}

function readClientInfo(c: Cursor, rev: number): ClientInfo {
  const ci: ClientInfo = { queryKind: c.u8() };
  if (ci.queryKind === QueryKind.NoQuery) return ci;
  ci.initialUser = c.string('initial user');
  ci.initialQueryId = c.string('initial query id');
  ci.initialAddress = c.string('initial address');
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_INITIAL_QUERY_START_TIME')) ci.initialQueryStartTimeMicros = c.i64();
  const iface = c.u8();
  ci.interface = iface;
  if (iface === ClientInterface.TCP) {
    ci.osUser = c.string('os user');
    ci.clientHostname = c.string('client hostname');
    ci.clientName = c.string('client name');
    ci.clientVersionMajor = c.varuint();
    ci.clientVersionMinor = c.varuint();
    ci.clientRevision = c.varuint();
  } else if (iface === ClientInterface.HTTP) {
    ci.httpMethod = c.u8();
    ci.httpUserAgent = c.string('http user agent');
    if (has(rev, 'DBMS_MIN_REVISION_WITH_X_FORWARDED_FOR_IN_CLIENT_INFO')) ci.forwardedFor = c.string();
    if (has(rev, 'DBMS_MIN_REVISION_WITH_REFERER_IN_CLIENT_INFO')) ci.httpReferer = c.string();
    if (has(rev, 'DBMS_MIN_REVISION_WITH_HTTP_HANDLER_IN_CLIENT_INFO')) {
      ci.httpHandlerName = c.string();
      ci.httpRequestUrl = c.string();
    }
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_QUOTA_KEY_IN_CLIENT_INFO')) ci.quotaKey = c.string('quota key');
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_DISTRIBUTED_DEPTH')) ci.distributedDepth = c.varuint();
  if (iface === ClientInterface.TCP && has(rev, 'DBMS_MIN_REVISION_WITH_VERSION_PATCH')) {
    ci.clientVersionPatch = c.varuint();
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_OPENTELEMETRY')) {
    if (c.u8() !== 0) {
      const traceId = bytesToHex(swap64(c.bytes(16)));
      const spanId = bytesToHex(swap64(c.bytes(8)));
      ci.openTelemetry = { traceId, spanId, traceState: c.string('trace state'), traceFlags: c.u8() };
    }
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_PARALLEL_REPLICAS')) {
    ci.collaborateWithInitiator = c.varuint() !== 0;
    ci.countParticipatingReplicas = c.varuint();
    ci.numberOfCurrentReplica = c.varuint();
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_QUERY_AND_LINE_NUMBERS')) {
    ci.scriptQueryNumber = c.varuint();
    ci.scriptLineNumber = c.varuint();
  }
  if (has(rev, 'DBMS_MIN_REVISON_WITH_JWT_IN_INTERSERVER')) {
    if (c.u8() !== 0) ci.jwt = c.string('jwt');
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_CLIENT_AGENT_IN_CLIENT_INFO')) ci.clientAgent = c.string('client agent');
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_INTERNAL_QUERY_FLAG')) ci.isInternal = c.u8() !== 0;
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_INTERSERVER_CURRENT_ROLES')) {
    if (c.u8() !== 0) ci.currentRoles = readStringList(c, 'current roles');
  }
  return ci;
}

// ---------------------------------------------------------------- Query

export interface Query {
  queryId: string;
  /** [≥54032] */
  clientInfo?: ClientInfo;
  /** Sent only at ≥54429 (strings with flags); below it the list is empty. */
  settings: Setting[];
  /** [≥54472] externally granted roles (interserver); external clients send []. */
  externalRoles?: string[];
  /** [≥54441] interserver secret hash; '' for clients. */
  interserverSecret?: string;
  /** QueryStage; clients send Complete (2). */
  stage: number;
  compression: boolean;
  query: string;
  /** [≥54459] parameters: value = quoted field dump (see params.ts), flags CUSTOM. */
  parameters?: Setting[];
}

/**
 * Query packet. The caller then sends the external tables' Data packets and an
 * empty Data block (for a SELECT), or waits for the insert header (INSERT).
 */
export function encodeQuery(w: Writer, q: Query, rev: number): void {
  w.varuint(ClientCode.Query);
  w.string(q.queryId);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_CLIENT_INFO')) {
    encodeClientInfo(w, q.clientInfo ?? { queryKind: QueryKind.NoQuery }, rev);
  }
  writeSettings(w, q.settings, rev);
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_INTERSERVER_EXTERNALLY_GRANTED_ROLES')) {
    // A string holding writeVectorBinary(roles); ClickHouse's client sends the
    // serialized empty list ("\x00") when there are none.
    const inner = new Writer(16);
    writeStringList(inner, q.externalRoles ?? []);
    w.stringBytes(inner.toBytes());
  }
  if (has(rev, 'DBMS_MIN_REVISION_WITH_INTERSERVER_SECRET')) w.string(q.interserverSecret ?? '');
  w.varuint(q.stage);
  w.varuint(q.compression ? 1 : 0);
  w.string(q.query);
  if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_PARAMETERS')) {
    writeSettings(
      w,
      (q.parameters ?? []).map((p) => ({ name: p.name, value: p.value, flags: p.flags ?? 0x02 })),
      rev,
    );
  }
}

/** Query body (after the code). */
export function decodeQueryBody(c: Cursor, rev: number): Query {
  return atomically(c, () => {
    const queryId = c.string('query id');
    const q: Query = { queryId, settings: [], stage: QueryStage.Complete, compression: false, query: '' };
    if (has(rev, 'DBMS_MIN_REVISION_WITH_CLIENT_INFO')) q.clientInfo = readClientInfo(c, rev);
    q.settings = readSettings(c, rev);
    if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_INTERSERVER_EXTERNALLY_GRANTED_ROLES')) {
      const raw = c.stringBytes('external roles');
      q.externalRoles = raw.length === 0 ? [] : readWholeStringList(raw, 'external roles');
    }
    if (has(rev, 'DBMS_MIN_REVISION_WITH_INTERSERVER_SECRET')) q.interserverSecret = c.string('interserver secret');
    q.stage = c.varuint('stage');
    const compression = c.varuint('compression');
    if (compression > 1) throw new DecodeError(`bad compression flag ${compression}`);
    q.compression = compression === 1;
    q.query = c.string('query');
    if (has(rev, 'DBMS_MIN_PROTOCOL_VERSION_WITH_PARAMETERS')) q.parameters = readSettings(c, rev, 'parameters');
    return q;
  });
}

/** A string list serialized inside a string: running short is corruption, not NEED_MORE. */
function readWholeStringList(raw: Uint8Array, what: string): string[] {
  const inner = new Cursor(raw);
  try {
    const list = readStringList(inner, what);
    if (inner.pos !== raw.length) throw new DecodeError(`${what}: trailing bytes`);
    return list;
  } catch (e) {
    if (isNeedMore(e)) throw new DecodeError(`${what}: truncated list`);
    throw e;
  }
}

// ---------------------------------------------------------------- Data header, simple packets

/**
 * Header of a client Data (or Scalar) packet: code + [≥50264] temporary table
 * name. The block follows: written by the Native layer's writeBlock,
 * compressed when the query enabled compression.
 */
export function encodeClientDataHeader(w: Writer, tableName: string, rev: number, code: number = ClientCode.Data): void {
  w.varuint(code);
  if (has(rev, 'DBMS_MIN_REVISION_WITH_TEMPORARY_TABLES')) w.string(tableName);
}

export function encodeCancel(w: Writer): void {
  w.varuint(ClientCode.Cancel);
}
export function encodePing(w: Writer): void {
  w.varuint(ClientCode.Ping);
}
export function encodeKeepAlive(w: Writer): void {
  w.varuint(ClientCode.KeepAlive);
}

export interface QualifiedTableName {
  database: string;
  table: string;
}

/** TablesStatusRequest [≥54226] (src/Interpreters/TablesStatus.cpp). */
export function encodeTablesStatusRequest(w: Writer, tables: readonly QualifiedTableName[], rev: number): void {
  if (!has(rev, 'DBMS_MIN_REVISION_WITH_TABLES_STATUS')) {
    throw new ProtocolError(`TablesStatusRequest needs revision ${Revision.DBMS_MIN_REVISION_WITH_TABLES_STATUS}`);
  }
  w.varuint(ClientCode.TablesStatusRequest);
  w.varuint(tables.length);
  for (const t of tables) {
    w.string(t.database);
    w.string(t.table);
  }
}

function readTableNames(c: Cursor): QualifiedTableName[] {
  const n = listLength(c, MAX_LIST_ITEMS, 'tables');
  const out: QualifiedTableName[] = [];
  for (let i = 0; i < n; i++) out.push({ database: c.string('database'), table: c.string('table') });
  return out;
}

// ---------------------------------------------------------------- whole client packets (server side)

export type ClientPacket =
  | { type: 'Hello'; hello: ClientHello }
  | { type: 'Query'; query: Query }
  /** The block follows in the stream (read it with the Native block reader). */
  | { type: 'Data'; tableName: string }
  | { type: 'Scalar'; tableName: string }
  | { type: 'Cancel' }
  | { type: 'Ping' }
  | { type: 'KeepAlive' }
  | { type: 'TablesStatusRequest'; tables: QualifiedTableName[] };

/**
 * Read one client packet (code + body). Leaves the cursor untouched on
 * NEED_MORE. Interserver-only packets (7..13 except Scalar) are refused.
 */
export function decodeClientPacket(c: Cursor, rev: number): ClientPacket {
  return atomically(c, (): ClientPacket => {
    const code = c.varuint('packet code');
    switch (code) {
      case ClientCode.Hello:
        return { type: 'Hello', hello: decodeClientHelloBody(c) };
      case ClientCode.Query:
        return { type: 'Query', query: decodeQueryBody(c, rev) };
      case ClientCode.Data:
      case ClientCode.Scalar: {
        const tableName = has(rev, 'DBMS_MIN_REVISION_WITH_TEMPORARY_TABLES') ? c.string('table name') : '';
        return { type: code === ClientCode.Data ? 'Data' : 'Scalar', tableName };
      }
      case ClientCode.Cancel:
        return { type: 'Cancel' };
      case ClientCode.Ping:
        return { type: 'Ping' };
      case ClientCode.KeepAlive:
        return { type: 'KeepAlive' };
      case ClientCode.TablesStatusRequest:
        if (!has(rev, 'DBMS_MIN_REVISION_WITH_TABLES_STATUS')) break;
        return { type: 'TablesStatusRequest', tables: readTableNames(c) };
    }
    const name = clientCodeName(code);
    throw new ProtocolError(
      name
        ? `unsupported client packet ${code} (${name}) at revision ${rev}`
        : `unknown client packet code ${code}`,
      name ? 'CHWIRE_UNEXPECTED_PACKET' : 'CHWIRE_UNKNOWN_PACKET',
    );
  });
}
