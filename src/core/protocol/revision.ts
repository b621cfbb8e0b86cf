// The one revision table of chwire. Names are ClickHouse's own, from
// src/Core/ProtocolDefines.h (every field gated on a revision is listed where
// the server gates it). A field gated on R is on the wire iff
// min(client revision, server revision) >= R.

export const Revision = {
  /** Temporary table name string in Data packets. */
  DBMS_MIN_REVISION_WITH_TEMPORARY_TABLES: 50264,
  /** total_rows in Progress. */
  DBMS_MIN_REVISION_WITH_TOTAL_ROWS_IN_PROGRESS: 51554,
  /** BlockInfo before every block. */
  DBMS_MIN_REVISION_WITH_BLOCK_INFO: 51903,
  /** ClientInfo in Query. */
  DBMS_MIN_REVISION_WITH_CLIENT_INFO: 54032,
  /** timezone in server Hello. */
  DBMS_MIN_REVISION_WITH_SERVER_TIMEZONE: 54058,
  /** quota_key in ClientInfo. */
  DBMS_MIN_REVISION_WITH_QUOTA_KEY_IN_CLIENT_INFO: 54060,
  /** TablesStatusRequest / TablesStatusResponse packets. */
  DBMS_MIN_REVISION_WITH_TABLES_STATUS: 54226,
  DBMS_MIN_REVISION_WITH_TIME_ZONE_PARAMETER_IN_DATETIME_DATA_TYPE: 54337,
  /** display_name in server Hello. */
  DBMS_MIN_REVISION_WITH_SERVER_DISPLAY_NAME: 54372,
  /** version_patch in server Hello and ClientInfo. */
  DBMS_MIN_REVISION_WITH_VERSION_PATCH: 54401,
  DBMS_MIN_REVISION_WITH_LOW_CARDINALITY_TYPE: 54405,
  /** Log packets. */
  DBMS_MIN_REVISION_WITH_SERVER_LOGS: 54406,
  /** TableColumns packet. */
  DBMS_MIN_REVISION_WITH_COLUMN_DEFAULTS_METADATA: 54410,
  /** The server reads rows written inside an INSERT's text (VALUES …, FORMAT X …); below it, it waits for Data blocks. */
  DBMS_MIN_REVISION_WITH_CLIENT_SUPPORT_EMBEDDED_DATA: 54415,
  /** written_rows / written_bytes in Progress. */
  DBMS_MIN_REVISION_WITH_CLIENT_WRITE_INFO: 54420,
  /** Settings as (name, flags, string value); below it they are binary-typed. */
  DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS: 54429,
  DBMS_MIN_REVISION_WITH_SCALARS: 54429,
  /** Interserver secret hash string in Query. */
  DBMS_MIN_REVISION_WITH_INTERSERVER_SECRET: 54441,
  /** OpenTelemetry context in ClientInfo. */
  DBMS_MIN_REVISION_WITH_OPENTELEMETRY: 54442,
  /** forwarded_for in the HTTP branch of ClientInfo. */
  DBMS_MIN_REVISION_WITH_X_FORWARDED_FOR_IN_CLIENT_INFO: 54443,
  /** http_referer in the HTTP branch of ClientInfo. */
  DBMS_MIN_REVISION_WITH_REFERER_IN_CLIENT_INFO: 54447,
  /** distributed_depth in ClientInfo. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_DISTRIBUTED_DEPTH: 54448,
  /** initial_query_start_time (Int64 µs) in ClientInfo. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_INITIAL_QUERY_START_TIME: 54449,
  /** ProfileEvents packets. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_INCREMENTAL_PROFILE_EVENTS: 54451,
  DBMS_MIN_REVISION_WITH_AGGREGATE_FUNCTIONS_VERSIONING: 54452,
  /** Three parallel-replicas varuints in ClientInfo. */
  DBMS_MIN_REVISION_WITH_PARALLEL_REPLICAS: 54453,
  /** has_custom_serialization byte per column (src/core/native). */
  DBMS_MIN_REVISION_WITH_CUSTOM_SERIALIZATION: 54454,
  DBMS_MIN_PROTOCOL_VERSION_WITH_PROFILE_EVENTS_IN_INSERT: 54456,
  DBMS_MIN_PROTOCOL_VERSION_WITH_VIEW_IF_PERMITTED: 54457,
  /** Addendum after the handshake (quota key). */
  DBMS_MIN_PROTOCOL_VERSION_WITH_ADDENDUM: 54458,
  DBMS_MIN_PROTOCOL_VERSION_WITH_QUOTA_KEY: 54458,
  /** Query parameters after the query text. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_PARAMETERS: 54459,
  /** elapsed_ns in Progress. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_SERVER_QUERY_TIME_IN_PROGRESS: 54460,
  /** Password complexity rules in server Hello. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_PASSWORD_COMPLEXITY_RULES: 54461,
  /** Nonce UInt64 in server Hello. */
  DBMS_MIN_REVISION_WITH_INTERSERVER_SECRET_V2: 54462,
  /** total_bytes in Progress (between total_rows and written_rows). */
  DBMS_MIN_PROTOCOL_VERSION_WITH_TOTAL_BYTES_IN_PROGRESS: 54463,
  /** TimezoneUpdate packet. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_TIMEZONE_UPDATES: 54464,
  /** Sparse columns (src/core/native). */
  DBMS_MIN_REVISION_WITH_SPARSE_SERIALIZATION: 54465,
  /** SSH challenge packets (opt-in, never used by chwire). */
  DBMS_MIN_REVISION_WITH_SSH_AUTHENTICATION: 54466,
  /** is_readonly varuint in TablesStatusResponse (replicated tables). */
  DBMS_MIN_REVISION_WITH_TABLE_READ_ONLY_CHECK: 54467,
  /** No wire change (system.keywords). */
  DBMS_MIN_REVISION_WITH_SYSTEM_KEYWORDS_TABLE: 54468,
  /** applied_aggregation + rows_before_aggregation in ProfileInfo. */
  DBMS_MIN_REVISION_WITH_ROWS_BEFORE_AGGREGATION: 54469,
  /** Chunked packets; capability strings in server Hello and addendum. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_CHUNKED_PACKETS: 54470,
  /** Parallel replicas version: server Hello (after revision) and addendum. */
  DBMS_MIN_REVISION_WITH_VERSIONED_PARALLEL_REPLICAS_PROTOCOL: 54471,
  /** external_roles string in Query (before the interserver secret). */
  DBMS_MIN_PROTOCOL_VERSION_WITH_INTERSERVER_EXTERNALLY_GRANTED_ROLES: 54472,
  /** V2 Dynamic/JSON serialization (src/core/native). */
  DBMS_MIN_REVISION_WITH_V2_DYNAMIC_AND_JSON_SERIALIZATION: 54473,
  /** Server settings list in server Hello. */
  DBMS_MIN_REVISION_WITH_SERVER_SETTINGS: 54474,
  /** script query and line numbers in ClientInfo. */
  DBMS_MIN_REVISION_WITH_QUERY_AND_LINE_NUMBERS: 54475,
  /** JWT flag (+ string) in ClientInfo. (ClickHouse spells it REVISON.) */
  DBMS_MIN_REVISON_WITH_JWT_IN_INTERSERVER: 54476,
  /** query_plan_serialization_version in server Hello. */
  DBMS_MIN_REVISION_WITH_QUERY_PLAN_SERIALIZATION: 54477,
  /** ColumnBLOB, only with compression and rows > 1 (src/core/native). */
  DBMS_MIN_REVISON_WITH_PARALLEL_BLOCK_MARSHALLING: 54478,
  /** cluster_function_protocol_version in server Hello. */
  DBMS_MIN_REVISION_WITH_VERSIONED_CLUSTER_FUNCTION_PROTOCOL: 54479,
  /** BlockInfo field 3 (src/core/native). */
  DBMS_MIN_REVISION_WITH_OUT_OF_ORDER_BUCKETS_IN_AGGREGATION: 54480,
  /**
   * Log, ProfileEvents AND TableColumns bodies go through the query's
   * (optionally) compressed stream. The connection layer must decompress
   * before handing bytes to decodeTableColumnsBody / the block reader.
   */
  DBMS_MIN_REVISION_WITH_COMPRESSED_LOGS_PROFILE_EVENTS_COLUMNS: 54481,
  /** Replicated columns (src/core/native). */
  DBMS_MIN_REVISION_WITH_REPLICATED_SERIALIZATION: 54482,
  /** Sparse over Nullable (src/core/native). */
  DBMS_MIN_REVISION_WITH_NULLABLE_SPARSE_SERIALIZATION: 54483,
  /** An extra Progress after async INSERT flush; no format change. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_PROGRESS_IN_ASYNC_INSERT: 54484,
  /** client_agent string at the end of ClientInfo. */
  DBMS_MIN_REVISION_WITH_CLIENT_AGENT_IN_CLIENT_INFO: 54485,
  /** is_internal UInt8 at the end of ClientInfo. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_INTERNAL_QUERY_FLAG: 54486,
  /**
   * Interserver TablesStatusRequest is followed by a cluster-secret hash. Only
   * in interserver mode (Hello user = interserver marker), which chwire never
   * uses; for an ordinary client nothing changes on the wire.
   */
  DBMS_MIN_REVISION_WITH_INTERSERVER_SECRET_TABLES_STATUS: 54487,
  /** current_roles (UInt8 present [+ varuint count + strings]) at the end of ClientInfo. */
  DBMS_MIN_PROTOCOL_VERSION_WITH_INTERSERVER_CURRENT_ROLES: 54488,
  /** No wire change (aggregation bucket method). */
  DBMS_MIN_REVISION_WITH_CURRENT_AGGREGATION_VARIANT_SELECTION_METHOD: 54489,
  /** http_handler_name + http_request_url in the HTTP branch of ClientInfo. */
  DBMS_MIN_REVISION_WITH_HTTP_HANDLER_IN_CLIENT_INFO: 54490,
  /** quantileDeterministic state version 1 (opaque AggregateFunction bytes). */
  DBMS_MIN_REVISION_WITH_QUANTILE_DETERMINISTIC_SKIP_DEGREE: 54491,
  /** String columns with a separate offsets stream (src/core/native). Not advertised. */
  DBMS_MIN_REVISION_WITH_STRING_WITH_SIZE_STREAM_SERIALIZATION: 54492,
  /** PreviewData server packet (19), only with an experimental setting. Not advertised. */
  DBMS_MIN_REVISION_WITH_QUERY_RESULT_PREVIEWS: 54493,
} as const;

export type RevisionFeature = keyof typeof Revision;

/** True when `feature` is on the wire at negotiated revision `rev`. */
export function has(rev: number, feature: RevisionFeature): boolean {
  return rev >= Revision[feature];
}

/**
 * DBMS_TCP_PROTOCOL_VERSION of ClickHouse master at the time of writing
 * (src/Core/ProtocolDefines.h): for reference only, never sent.
 */
export const DBMS_TCP_PROTOCOL_VERSION_MASTER = 54492;

/**
 * The revision chwire advertises in Hello and in ClientInfo.
 *
 * 54491: every packet field up to it is implemented here in both directions
 * (54486 is_internal, 54488 current_roles, 54490 HTTP handler fields of
 * ClientInfo; 54487 changes nothing outside interserver mode; 54489 and 54491
 * change no packet: 54491 only versions quantileDeterministic aggregate states,
 * which chwire carries as opaque bytes). Column-level features up to it
 * (custom/sparse/replicated serializations, V2 Dynamic/JSON, ColumnBLOB with
 * compression) are the Native layer's job (src/core/native).
 * Not 54492: it changes the String column layout (a separate offsets stream),
 * which the Native layer does not implement yet. Raise this only when it does.
 */
export const CLIENT_REVISION = 54491;

/** Parallel replicas protocol version sent in the addendum (DBMS_PARALLEL_REPLICAS_PROTOCOL_VERSION). */
export const PARALLEL_REPLICAS_PROTOCOL_VERSION = 8;

/** The negotiated revision: both sides gate every optional field on it. */
export function negotiateRevision(client: number, server: number): number {
  return Math.min(client, server);
}

/** chwire's own version, sent in Hello and ClientInfo. Keep in step with package.json. */
export const CHWIRE_VERSION = { major: 0, minor: 1, patch: 0 } as const;
export const CHWIRE_NAME = 'chwire';
