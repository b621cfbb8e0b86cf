// Issue 6: the client API against the real ClickHouse 18.16 server — query/json/columns/rows/
// stream, summary/progress, value options, inserts (rows, columns with TypedArrays, AsyncIterable
// with a time-based flush, wrong-typed values, raw Native), concurrency and the pool (50 queries on
// 10 connections, waiting for a free connection, idle_socket_ttl), abort, wrong password,
// `application` as client_name, close(). The scenarios live in helpers/client-scenarios.ts (shared
// with test/server-client-suite.test.ts, the same suite against `chwire serve`).
import type { ClickHouseClient } from '../src/index.js';
import { serverExec, serverQuery, testServer } from './helpers/server.js';
import { clientScenarios, type ClientTarget } from './helpers/client-scenarios.js';

clientScenarios(
  'client API against ClickHouse 18.16',
  async () => {
    const srv = await testServer();
    if (!srv) return null;
    const processes = async <T>(client: ClickHouseClient, cols: string, qid: string): Promise<T[]> =>
      (await client.query({ query: `SELECT ${cols} FROM system.processes WHERE query_id = '${qid}'`, query_id: qid })).json<T>();
    const target: ClientTarget = {
      host: srv.host,
      port: srv.tcpPort,
      url: `clickhouse://${srv.host}:${srv.tcpPort}`,
      secured: { ...srv.secured, readonly: true },
      authErrorCode: 193,
      exec: (sql) => serverExec(sql),
      query: (sql) => serverQuery(sql),
      probe: (qid, cols) => `SELECT port${cols ? `, ${cols}` : ''} FROM system.processes WHERE query_id = '${qid}'`,
      portOf: async (qid, rowPort) => rowPort ?? Number((await serverQuery(`SELECT port FROM system.processes WHERE query_id = '${qid}'`))[0]?.[0]),
      who: (client, qid) => processes(client, 'currentDatabase() AS db, user AS u', qid),
      clientInfo: (client, qid) => processes(client, "client_name, interface, os_user != '' AS has_os_user", qid),
      commandWrittenRows: () => 0,
      commandWrittenRowsNote: '18.16 does not report written rows in Progress (revision < 54420)',
    };
    return target;
  },
  async () => {},
  'no ClickHouse server',
  193,
);
