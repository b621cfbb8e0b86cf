export { createClient, ClickHouseClient, parseEndpoint, resolveEndpoints, type Endpoint, type InsertParams, type TransportFactory } from './client.js';
export { ResultSet, RowBatch, blockRows, type Row } from './result-set.js';
export { ClickHouseError, ConnectionError, TimeoutError, AbortError, ClientError } from './errors.js';
export type * from './types.js';
