import { CH_GO_VECTORS } from './helpers/vectors.js';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Cursor } from '../src/core/io/cursor.js';
import { Writer } from '../src/core/io/writer.js';
import { isNeedMore, ProtocolError } from '../src/core/errors.js';
import {
  CLIENT_REVISION,
  ClientCode,
  ClientInterface,
  QueryKind,
  QueryStage,
  SettingFlags,
  decodeAddendum,
  decodeClientHelloBody,
  decodeClientInfo,
  decodeClientPacket,
  decodeExceptionBody,
  decodeProgressBody,
  decodeServerPacket,
  encodeAddendum,
  encodeCancel,
  encodeClientDataHeader,
  encodeClientHello,
  encodeClientInfo,
  encodeEndOfStream,
  encodeException,
  encodeKeepAlive,
  encodePartUUIDs,
  encodePing,
  encodePong,
  encodeProfileInfo,
  encodeProgress,
  encodeQuery,
  encodeServerDataHeader,
  encodeServerHello,
  encodeSSHChallenge,
  encodeTableColumns,
  encodeTablesStatusRequest,
  encodeTablesStatusResponse,
  encodeTimezoneUpdate,
  formatClientName,
  negotiateChunked,
  Revision,
  type ClientInfo,
  type Progress,
  type Query,
  type ServerException,
  type ServerHello,
} from '../src/core/protocol/index.js';

const VEC = join(CH_GO_VECTORS, 'proto') + '/';
const vec = (name: string) => new Uint8Array(readFileSync(VEC + name));
const bytesOf = (f: (w: Writer) => void) => {
  const w = new Writer(16);
  f(w);
  return w.toBytes();
};
const REVS = [54412, 54451, 54459, 54470, 54480, CLIENT_REVISION];

/** Every strict prefix throws NEED_MORE and leaves the cursor where it was. */
function assertPrefixesNeedMore(bytes: Uint8Array, decode: (c: Cursor) => unknown, label: string): void {
  for (let n = 0; n < bytes.length; n++) {
    const c = new Cursor(bytes.subarray(0, n));
    try {
      decode(c);
      assert.fail(`${label}: prefix ${n}/${bytes.length} decoded`);
    } catch (e) {
      if (!isNeedMore(e)) throw new Error(`${label}: prefix ${n}/${bytes.length} threw ${String(e)}`);
      assert.equal(c.pos, 0, `${label}: prefix ${n} moved the cursor`);
      assert.ok(c.wantPos > n, `${label}: wantPos`);
    }
  }
}
function full<T>(bytes: Uint8Array, decode: (c: Cursor) => T): T {
  const c = new Cursor(bytes);
  const v = decode(c);
  assert.equal(c.pos, bytes.length, 'decoder consumed everything');
  return v;
}

// ------------------------------------------------------------ golden vectors (ch-go)

test('golden client_hello.raw', () => {
  const raw = vec('client_hello.raw');
  const p = full(raw, (c) => decodeClientPacket(c, 54460));
  const hello = { clientName: 'ch', versionMajor: 1, versionMinor: 1, revision: 41000, database: 'github', user: 'neo', password: '' };
  assert.deepEqual(p, { type: 'Hello', hello });
  assert.deepEqual(bytesOf((w) => encodeClientHello(w, hello)), raw);
});

const createDbInfo: ClientInfo = {
  queryKind: QueryKind.InitialQuery,
  initialUser: '',
  initialQueryId: '23ad2c07-2f68-4005-9bac-da8f467bdd3b',
  initialAddress: '0.0.0.0:0',
  initialQueryStartTimeMicros: 0n,
  interface: ClientInterface.TCP,
  osUser: 'ernado',
  clientHostname: 'nexus',
  clientName: 'ClickHouse ',
  clientVersionMajor: 21,
  clientVersionMinor: 11,
  clientRevision: 54450,
  quotaKey: '',
  distributedDepth: 0,
  clientVersionPatch: 4,
};

test('golden client_info.raw (54450)', () => {
  const raw = vec('client_info.raw');
  assert.deepEqual(full(raw, (c) => decodeClientInfo(c, 54450)), createDbInfo);
  assert.deepEqual(bytesOf((w) => encodeClientInfo(w, createDbInfo, 54450)), raw);
});

test('golden client_info_otel.raw (54460, trace ids byte-swapped per 8 bytes)', () => {
  const raw = vec('client_info_otel.raw');
  const expected: ClientInfo = {
    queryKind: 1,
    initialUser: '',
    initialQueryId: '40c268ad-de50-434d-a391-800da9aa70c3',
    initialAddress: '0.0.0.0:0',
    initialQueryStartTimeMicros: 0n,
    interface: 1,
    osUser: 'user',
    clientHostname: 'hostname',
    clientName: 'Name',
    clientVersionMajor: 21,
    clientVersionMinor: 11,
    clientRevision: 54429,
    quotaKey: '',
    distributedDepth: 0,
    clientVersionPatch: 4,
    openTelemetry: {
      traceId: '0102030405060708090a0b0c0d0e0f10',
      spanId: '0102030405060708',
      traceState: '',
      traceFlags: 0,
    },
    collaborateWithInitiator: false,
    countParticipatingReplicas: 0,
    numberOfCurrentReplica: 0,
  };
  assert.deepEqual(full(raw, (c) => decodeClientInfo(c, 54460)), expected);
  assert.deepEqual(bytesOf((w) => encodeClientInfo(w, expected, 54460)), raw);
});

test('golden query_create_db.raw (54450, clickhouse-client capture)', () => {
  const raw = vec('query_create_db.raw');
  const q: Query = {
    queryId: '23ad2c07-2f68-4005-9bac-da8f467bdd3b',
    clientInfo: createDbInfo,
    settings: [],
    interserverSecret: '',
    stage: QueryStage.Complete,
    compression: false,
    query: 'CREATE DATABASE test;',
  };
  assert.deepEqual(full(raw, (c) => decodeClientPacket(c, 54450)), { type: 'Query', query: q });
  assert.deepEqual(bytesOf((w) => encodeQuery(w, q, 54450)), raw);
});

test('golden query_otel.raw (54460)', () => {
  const raw = vec('query_otel.raw');
  const p = full(raw, (c) => decodeClientPacket(c, 54460));
  assert.equal(p.type, 'Query');
  const q = (p as { query: Query }).query;
  assert.equal(q.queryId, 'a7e4c890-df21-4cea-b4a1-9b868e514366');
  assert.equal(q.interserverSecret, 'secret');
  assert.equal(q.compression, true);
  assert.equal(q.query, 'CREATE DATABASE test;');
  assert.deepEqual(q.parameters, []);
  assert.equal(q.clientInfo?.quotaKey, 'u-97dc');
  assert.equal(q.clientInfo?.initialAddress, '1.1.1.1:1448');
  assert.equal(q.clientInfo?.clientRevision, 52451);
  assert.equal(q.clientInfo?.clientVersionPatch, 10688);
  assert.deepEqual(q.clientInfo?.openTelemetry, {
    traceId: '01020304000000000000000000000000',
    spanId: '060708090a000000',
    traceState: '',
    traceFlags: 1,
  });
  assert.deepEqual(bytesOf((w) => encodeQuery(w, q, 54460)), raw);
});

test('golden progress.raw (54460)', () => {
  const raw = vec('progress.raw');
  const p: Progress = { rows: 100, bytes: 608120, totalRows: 1000, writtenRows: 441, writtenBytes: 91023, elapsedNs: 0 };
  assert.deepEqual(full(raw, (c) => decodeProgressBody(c, 54460)), p);
  assert.deepEqual(bytesOf((w) => encodeProgress(w, p, 54460)).subarray(1), raw);
});

test('golden type/ServerHello.raw (server revision 54450)', () => {
  const raw = vec('type/ServerHello.raw');
  const h: ServerHello = {
    serverName: 'ClickHouse server',
    versionMajor: 21,
    versionMinor: 11,
    revision: 54450,
    timezone: 'Europe/Moscow',
    displayName: 'alpha',
    versionPatch: 3,
  };
  assert.deepEqual(full(raw, (c) => decodeServerPacket(c, 54450, { clientRevision: CLIENT_REVISION })), {
    type: 'Hello',
    hello: h,
  });
  assert.deepEqual(bytesOf((w) => encodeServerHello(w, h, CLIENT_REVISION)), raw);
});

test('golden type/Exception.raw', () => {
  const raw = vec('type/Exception.raw');
  const e = full(raw, (c) => decodeExceptionBody(c));
  assert.equal(e.code, 60);
  assert.equal(e.name, 'DB::Exception');
  assert.equal(e.message, "DB::Exception: Table default._3_ doesn't exist");
  assert.match(e.stackTrace, /^0\. DB::Exception::Exception/);
  assert.equal(e.nested, undefined);
  assert.deepEqual(bytesOf((w) => encodeException(w, e)).subarray(1), raw);
});

test('golden type/Profile.raw', () => {
  const raw = vec('type/Profile.raw');
  const p = full(raw, (c) => decodeServerPacket(c, 54460));
  const profileInfo = {
    rows: 1234,
    blocks: 235123,
    bytes: 424,
    appliedLimit: true,
    rowsBeforeLimit: 2341,
    calculatedRowsBeforeLimit: false,
  };
  assert.deepEqual(p, { type: 'ProfileInfo', profileInfo });
  assert.deepEqual(bytesOf((w) => encodeProfileInfo(w, profileInfo, 54460)), raw);
});

test('golden type/TableColumns.raw', () => {
  const raw = vec('type/TableColumns.raw');
  const tableColumns = { tableName: '', columns: 'columns format version: 1\n1 columns:\n`id` UInt8\n' };
  assert.deepEqual(full(raw, (c) => decodeServerPacket(c, 54460)), { type: 'TableColumns', tableColumns });
  assert.deepEqual(bytesOf((w) => encodeTableColumns(w, tableColumns)), raw);
});

test('golden type/ClientData.raw: Data header table name', () => {
  const raw = vec('type/ClientData.raw');
  const w = new Writer(8);
  encodeClientDataHeader(w, 'Foo', 54460);
  assert.deepEqual(w.toBytes().subarray(1), raw);
});

// ------------------------------------------------------------ round trips at every revision

const fullInfo: ClientInfo = {
  queryKind: QueryKind.InitialQuery,
  initialUser: 'u',
  initialQueryId: 'qid',
  initialAddress: '127.0.0.1:9000',
  initialQueryStartTimeMicros: 1700000000123456n,
  interface: ClientInterface.TCP,
  osUser: 'os',
  clientHostname: 'host',
  clientName: formatClientName({ name: 'app', version: '1.2' }),
  clientVersionMajor: 0,
  clientVersionMinor: 1,
  clientRevision: CLIENT_REVISION,
  quotaKey: 'qk',
  distributedDepth: 2,
  clientVersionPatch: 0,
  openTelemetry: { traceId: 'ff'.repeat(16), spanId: '01'.repeat(8), traceState: 'a=b', traceFlags: 1 },
  collaborateWithInitiator: true,
  countParticipatingReplicas: 3,
  numberOfCurrentReplica: 1,
  scriptQueryNumber: 4,
  scriptLineNumber: 5,
  jwt: 'token',
  clientAgent: 'agent',
  isInternal: true,
  currentRoles: ['r1', 'r2'],
};

const infoGates: [keyof ClientInfo, number][] = [
  ['initialQueryStartTimeMicros', 54449],
  ['quotaKey', 54060],
  ['distributedDepth', 54448],
  ['clientVersionPatch', 54401],
  ['openTelemetry', 54442],
  ['collaborateWithInitiator', 54453],
  ['countParticipatingReplicas', 54453],
  ['numberOfCurrentReplica', 54453],
  ['scriptQueryNumber', 54475],
  ['scriptLineNumber', 54475],
  ['jwt', 54476],
  ['clientAgent', 54485],
  ['isInternal', 54486],
  ['currentRoles', 54488],
  ['forwardedFor', 54443],
  ['httpReferer', 54447],
  ['httpHandlerName', 54490],
  ['httpRequestUrl', 54490],
];
function gated<T extends object>(v: T, gates: [keyof T, number][], rev: number): T {
  const out = { ...v };
  for (const [k, r] of gates) if (rev < r) delete out[k];
  return out;
}

test('ClientInfo round-trips (TCP, HTTP, other interface, NoQuery) at every revision', () => {
  const httpInfo: ClientInfo = {
    queryKind: QueryKind.SecondaryQuery,
    initialUser: 'u',
    initialQueryId: 'q',
    initialAddress: '[::1]:8123',
    initialQueryStartTimeMicros: 5n,
    interface: ClientInterface.HTTP,
    httpMethod: 2,
    httpUserAgent: 'curl',
    forwardedFor: '1.2.3.4',
    httpReferer: 'ref',
    httpHandlerName: 'h',
    httpRequestUrl: '/x',
    quotaKey: '',
    distributedDepth: 1,
    collaborateWithInitiator: false,
    countParticipatingReplicas: 0,
    numberOfCurrentReplica: 0,
    scriptQueryNumber: 0,
    scriptLineNumber: 0,
    clientAgent: '',
    isInternal: false,
  };
  const grpcInfo: ClientInfo = { ...httpInfo, interface: ClientInterface.GRPC };
  for (const k of ['httpMethod', 'httpUserAgent', 'forwardedFor', 'httpReferer', 'httpHandlerName', 'httpRequestUrl'] as const) {
    delete grpcInfo[k];
  }
  for (const rev of REVS) {
    for (const ci of [fullInfo, httpInfo, grpcInfo, { queryKind: QueryKind.NoQuery }]) {
      const bytes = bytesOf((w) => encodeClientInfo(w, ci, rev));
      const expected = gated(ci, infoGates, rev);
      if (rev < 54442 && 'openTelemetry' in ci) delete expected.openTelemetry;
      assert.deepEqual(full(bytes, (c) => decodeClientInfo(c, rev)), expected, `rev ${rev}`);
      assertPrefixesNeedMore(bytes, (c) => decodeClientInfo(c, rev), `ClientInfo@${rev}`);
    }
  }
});

test('Query round-trips at every revision; settings below 54429 and parameters below 54459 are absent', () => {
  const q: Query = {
    queryId: 'id-1',
    clientInfo: fullInfo,
    settings: [
      { name: 'output_format_native_encode_types_in_binary_format', value: '0', flags: 0 },
      { name: 'max_threads', value: '4', flags: SettingFlags.IMPORTANT },
    ],
    externalRoles: ['a', 'b'],
    interserverSecret: '',
    stage: QueryStage.Complete,
    compression: true,
    query: 'SELECT {x:String}',
    parameters: [{ name: 'x', value: "'it\\'s'", flags: SettingFlags.CUSTOM }],
  };
  for (const rev of REVS) {
    const bytes = bytesOf((w) => encodeQuery(w, q, rev));
    const expected: Query = { ...q, clientInfo: gated(fullInfo, infoGates, rev) };
    if (rev < 54472) delete expected.externalRoles;
    if (rev < 54441) delete expected.interserverSecret;
    if (rev < 54459) delete expected.parameters;
    if (rev < 54429) expected.settings = [];
    const p = full(bytes, (c) => decodeClientPacket(c, rev));
    assert.deepEqual(p, { type: 'Query', query: expected }, `rev ${rev}`);
    assertPrefixesNeedMore(bytes, (c) => decodeClientPacket(c, rev), `Query@${rev}`);
  }
  // ClickHouse's client sends the serialized empty list for no external roles.
  const noRoles = bytesOf((w) => encodeQuery(w, { ...q, clientInfo: undefined, externalRoles: undefined }, CLIENT_REVISION));
  const at = 1 + 1 + 'id-1'.length + 1; // code, id, NoQuery ClientInfo byte
  assert.ok(noRoles.length > at);
});

test('simple client packets and Hello/addendum round-trip', () => {
  for (const rev of REVS) {
    const cases: [Uint8Array, unknown][] = [
      [bytesOf(encodeCancel), { type: 'Cancel' }],
      [bytesOf(encodePing), { type: 'Ping' }],
      [bytesOf(encodeKeepAlive), { type: 'KeepAlive' }],
      [bytesOf((w) => encodeClientDataHeader(w, 'tmp', rev)), { type: 'Data', tableName: 'tmp' }],
      [bytesOf((w) => encodeClientDataHeader(w, '', rev, ClientCode.Scalar)), { type: 'Scalar', tableName: '' }],
      [
        bytesOf((w) => encodeTablesStatusRequest(w, [{ database: 'db', table: 't' }], rev)),
        { type: 'TablesStatusRequest', tables: [{ database: 'db', table: 't' }] },
      ],
      [
        bytesOf((w) =>
          encodeClientHello(w, { clientName: 'chwire/0.1.0', versionMajor: 0, versionMinor: 1, revision: rev, database: 'd', user: 'u', password: 'p' }),
        ),
        { type: 'Hello', hello: { clientName: 'chwire/0.1.0', versionMajor: 0, versionMinor: 1, revision: rev, database: 'd', user: 'u', password: 'p' } },
      ],
    ];
    for (const [bytes, expected] of cases) {
      assert.deepEqual(full(bytes, (c) => decodeClientPacket(c, rev)), expected);
      assertPrefixesNeedMore(bytes, (c) => decodeClientPacket(c, rev), `client packet@${rev}`);
    }
    const add = { quotaKey: 'k', chunkedSend: 'chunked', chunkedRecv: 'notchunked', parallelReplicasVersion: 8 };
    const bytes = bytesOf((w) => encodeAddendum(w, add, rev));
    const expected = rev < 54458 ? undefined : gated(add, [['chunkedSend', 54470], ['chunkedRecv', 54470], ['parallelReplicasVersion', 54471]], rev);
    assert.deepEqual(full(bytes, (c) => decodeAddendum(c, rev)), expected);
    if (bytes.length) assertPrefixesNeedMore(bytes, (c) => decodeAddendum(c, rev), `addendum@${rev}`);
  }
  assert.equal(decodeClientHelloBody(new Cursor(vec('client_hello.raw').subarray(1))).database, 'github');
});

const fullHello: ServerHello = {
  serverName: 'ClickHouse',
  versionMajor: 26,
  versionMinor: 7,
  revision: 0,
  parallelReplicasVersion: 8,
  timezone: 'UTC',
  displayName: 'node-1',
  versionPatch: 1,
  chunkedSend: 'chunked_optional',
  chunkedRecv: 'notchunked_optional',
  passwordComplexityRules: [{ pattern: '.{12}', message: 'at least 12 characters' }],
  nonce: 0x1122334455667788n,
  settings: [{ name: 'max_threads', value: '8', flags: SettingFlags.IMPORTANT }],
  queryPlanSerializationVersion: 21,
  clusterFunctionProtocolVersion: 11,
};
const helloGates: [keyof ServerHello, number][] = [
  ['parallelReplicasVersion', 54471],
  ['timezone', 54058],
  ['displayName', 54372],
  ['versionPatch', 54401],
  ['chunkedSend', 54470],
  ['chunkedRecv', 54470],
  ['passwordComplexityRules', 54461],
  ['nonce', 54462],
  ['settings', 54474],
  ['queryPlanSerializationVersion', 54477],
  ['clusterFunctionProtocolVersion', 54479],
];

test('server packets round-trip at every revision', () => {
  const exc: ServerException = {
    code: 395,
    name: 'DB::Exception',
    message: 'outer',
    stackTrace: 'st',
    nested: { code: 1, name: 'std::exception', message: 'inner', stackTrace: '' },
  };
  for (const rev of REVS) {
    const hello = { ...fullHello, revision: rev };
    const progress: Progress = { rows: 1, bytes: 2, totalRows: 3, totalBytes: 4, writtenRows: 5, writtenBytes: 6, elapsedNs: 7 };
    const profile = {
      rows: 1, blocks: 2, bytes: 3, appliedLimit: true, rowsBeforeLimit: 4, calculatedRowsBeforeLimit: true,
      appliedAggregation: true, rowsBeforeAggregation: 9,
    };
    const tables = [
      { database: 'd', table: 'r', isReplicated: true, absoluteDelay: 3, isReadonly: true },
      { database: 'd', table: 'm', isReplicated: false },
    ];
    const cases: [Uint8Array, unknown][] = [
      [bytesOf((w) => encodeServerHello(w, hello, CLIENT_REVISION)), { type: 'Hello', hello: gated(hello, helloGates, rev) }],
      [bytesOf((w) => encodeException(w, exc)), { type: 'Exception', exception: exc }],
      [
        bytesOf((w) => encodeProgress(w, progress, rev)),
        { type: 'Progress', progress: gated(progress, [['totalBytes', 54463], ['writtenRows', 54420], ['writtenBytes', 54420], ['elapsedNs', 54460]], rev) },
      ],
      [bytesOf(encodePong), { type: 'Pong' }],
      [bytesOf(encodeEndOfStream), { type: 'EndOfStream' }],
      [
        bytesOf((w) => encodeProfileInfo(w, profile, rev)),
        { type: 'ProfileInfo', profileInfo: gated(profile, [['appliedAggregation', 54469], ['rowsBeforeAggregation', 54469]], rev) },
      ],
      [
        bytesOf((w) => encodeTablesStatusResponse(w, tables, rev)),
        { type: 'TablesStatusResponse', tables: rev < 54467 ? [{ ...tables[0], isReadonly: undefined }, tables[1]].map((t) => JSON.parse(JSON.stringify(t))) : tables },
      ],
      [bytesOf((w) => encodeTableColumns(w, { tableName: '', columns: 'x' })), { type: 'TableColumns', tableColumns: { tableName: '', columns: 'x' } }],
      [
        bytesOf((w) => encodePartUUIDs(w, ['01234567-89ab-cdef-0123-456789abcdef'])),
        { type: 'PartUUIDs', uuids: ['01234567-89ab-cdef-0123-456789abcdef'] },
      ],
      [bytesOf((w) => encodeServerDataHeader(w, 'Data', '', rev)), { type: 'Data', tableName: '' }],
      [bytesOf((w) => encodeServerDataHeader(w, 'Totals', '', rev)), { type: 'Totals', tableName: '' }],
      [bytesOf((w) => encodeServerDataHeader(w, 'Extremes', '', rev)), { type: 'Extremes', tableName: '' }],
      [bytesOf((w) => encodeServerDataHeader(w, 'Log', '', rev)), { type: 'Log', tableName: '' }],
    ];
    if (rev >= 54451) cases.push([bytesOf((w) => encodeServerDataHeader(w, 'ProfileEvents', '', rev)), { type: 'ProfileEvents', tableName: '' }]);
    if (rev >= 54464) cases.push([bytesOf((w) => encodeTimezoneUpdate(w, 'Europe/Berlin')), { type: 'TimezoneUpdate', timezone: 'Europe/Berlin' }]);
    if (rev >= 54466) {
      cases.push([bytesOf((w) => encodeSSHChallenge(w, new Uint8Array([1, 2, 3]))), { type: 'SSHChallenge', challenge: new Uint8Array([1, 2, 3]) }]);
    }
    for (const [bytes, expected] of cases) {
      const got = full(bytes, (c) => decodeServerPacket(c, rev, { clientRevision: CLIENT_REVISION }));
      assert.deepEqual(JSON.parse(JSON.stringify(got, big)), JSON.parse(JSON.stringify(expected, big)), `rev ${rev}`);
      assertPrefixesNeedMore(bytes, (c) => decodeServerPacket(c, rev, { clientRevision: CLIENT_REVISION }), `server packet@${rev}`);
    }
  }
});
function big(_k: string, v: unknown): unknown {
  if (typeof v === 'bigint') return `${v}n`;
  if (v instanceof Uint8Array) return [...v];
  return v;
}

test('server Hello gates on min(client, server): an old client reads a new server', () => {
  const hello = { ...fullHello, revision: 54492 };
  const bytes = bytesOf((w) => encodeServerHello(w, hello, 54412));
  const got = full(bytes, (c) => decodeServerPacket(c, 54412, { clientRevision: 54412 }));
  assert.deepEqual(got, { type: 'Hello', hello: gated(hello, helloGates, 54412) });
});

test('unknown and unexpected packet codes are ProtocolErrors naming the code', () => {
  for (const [code, errCode] of [
    [99, 'CHWIRE_UNKNOWN_PACKET'],
    [300, 'CHWIRE_UNKNOWN_PACKET'],
    [13, 'CHWIRE_UNEXPECTED_PACKET'],
    [16, 'CHWIRE_UNEXPECTED_PACKET'],
  ] as const) {
    const w = new Writer(8);
    w.varuint(code);
    assert.throws(
      () => decodeServerPacket(new Cursor(w.toBytes()), CLIENT_REVISION),
      (e: unknown) => e instanceof ProtocolError && e.code === errCode && e.message.includes(String(code)),
    );
  }
  // ProfileEvents does not exist at 54412.
  assert.throws(() => decodeServerPacket(new Cursor(new Uint8Array([14, 0])), 54412), /does not exist/);
  assert.throws(() => decodeClientPacket(new Cursor(new Uint8Array([77])), 54412), /unknown client packet code 77/);
});

test('binary-typed settings (< 54429) are refused, not guessed', () => {
  const w = new Writer(8);
  w.string('max_threads');
  w.u64(4n);
  w.u8(0);
  const bytes = w.toBytes();
  const q = bytesOf((w2) => {
    w2.varuint(1);
    w2.string('id');
    encodeClientInfo(w2, { queryKind: 0 }, 54412);
    w2.raw(bytes);
  });
  assert.throws(() => decodeClientPacket(new Cursor(q), 54412), { code: 'CHWIRE_UNSUPPORTED_SETTINGS_FORMAT' });
});

test('hostile server Hello: too many password rules / oversized strings', () => {
  const w = new Writer(64);
  w.varuint(0);
  w.string('x');
  w.varuint(1);
  w.varuint(1);
  w.varuint(54461);
  w.string('UTC');
  w.string('d');
  w.varuint(0);
  w.varuint(100000);
  assert.throws(() => decodeServerPacket(new Cursor(w.toBytes()), 54461, { clientRevision: 54461 }), { code: 'CHWIRE_LIMIT_EXCEEDED' });
  const w2 = new Writer(64);
  w2.varuint(0);
  w2.string('x'.repeat(5000));
  assert.throws(() => decodeServerPacket(new Cursor(w2.toBytes()), 54461), { code: 'CHWIRE_LIMIT_EXCEEDED' });
});

test('chunked negotiation table', () => {
  assert.equal(negotiateChunked('chunked', 'notchunked_optional', 'send'), true);
  assert.equal(negotiateChunked('notchunked_optional', 'chunked', 'send'), true);
  assert.equal(negotiateChunked('chunked_optional', 'notchunked_optional', 'send'), true);
  assert.equal(negotiateChunked('notchunked', 'notchunked', 'send'), false);
  assert.throws(() => negotiateChunked('chunked', 'notchunked', 'send'), { code: 'CHWIRE_CHUNKED_MISMATCH' });
});

test('revision table matches ProtocolDefines.h spot checks', () => {
  assert.equal(Revision.DBMS_MIN_PROTOCOL_VERSION_WITH_PARAMETERS, 54459);
  assert.equal(Revision.DBMS_MIN_PROTOCOL_VERSION_WITH_CHUNKED_PACKETS, 54470);
  assert.equal(CLIENT_REVISION, 54491);
  assert.equal(formatClientName(), 'chwire/0.1.0');
  assert.equal(formatClientName({ name: 'my app', version: '2.0' }), 'my-app/2.0 chwire/0.1.0');
});
