// Packet codes, from src/Core/Protocol.h (Protocol::Client / Protocol::Server).

export const ClientCode = {
  Hello: 0,
  Query: 1,
  Data: 2,
  Cancel: 3,
  Ping: 4,
  TablesStatusRequest: 5,
  KeepAlive: 6,
  Scalar: 7,
  IgnoredPartUUIDs: 8,
  ReadTaskResponse: 9,
  MergeTreeReadTaskResponse: 10,
  SSHChallengeRequest: 11,
  SSHChallengeResponse: 12,
  QueryPlan: 13,
} as const;

export const ServerCode = {
  Hello: 0,
  Data: 1,
  Exception: 2,
  Progress: 3,
  Pong: 4,
  EndOfStream: 5,
  ProfileInfo: 6,
  Totals: 7,
  Extremes: 8,
  TablesStatusResponse: 9,
  Log: 10,
  TableColumns: 11,
  PartUUIDs: 12,
  ReadTaskRequest: 13,
  ProfileEvents: 14,
  MergeTreeAllRangesAnnouncement: 15,
  MergeTreeReadTaskRequest: 16,
  TimezoneUpdate: 17,
  SSHChallenge: 18,
  PreviewData: 19,
} as const;

export type ClientCodeName = keyof typeof ClientCode;
export type ServerCodeName = keyof typeof ServerCode;

const serverNames: string[] = [];
for (const [k, v] of Object.entries(ServerCode)) serverNames[v] = k;
const clientNames: string[] = [];
for (const [k, v] of Object.entries(ClientCode)) clientNames[v] = k;

/** Name of a server packet code, or undefined when ClickHouse defines none. */
export function serverCodeName(code: number): string | undefined {
  return serverNames[code];
}
export function clientCodeName(code: number): string | undefined {
  return clientNames[code];
}

/** Query processing stage (src/Core/QueryProcessingStage.h); clients send Complete. */
export const QueryStage = {
  FetchColumns: 0,
  WithMergeableState: 1,
  Complete: 2,
  WithMergeableStateAfterAggregation: 3,
  WithMergeableStateAfterAggregationAndLimit: 4,
  QueryPlan: 7,
} as const;

/** ClientInfo::QueryKind. */
export const QueryKind = { NoQuery: 0, InitialQuery: 1, SecondaryQuery: 2 } as const;

/** ClientInfo::Interface (src/Interpreters/ClientInfo.h). */
export const ClientInterface = {
  TCP: 1,
  HTTP: 2,
  GRPC: 3,
  MYSQL: 4,
  POSTGRESQL: 5,
  LOCAL: 6,
  TCP_INTERSERVER: 7,
  PROMETHEUS: 8,
  BACKGROUND: 9,
  ARROW_FLIGHT: 10,
} as const;

/** Setting flags in STRINGS_WITH_FLAGS format (src/Core/BaseSettings.h). */
export const SettingFlags = {
  IMPORTANT: 0x01,
  CUSTOM: 0x02,
  /** Two-bit tier field: 0 production, 0x04 obsolete, 0x08 experimental, 0x0c beta. */
  TIER_MASK: 0x0c,
  OBSOLETE: 0x04,
  EXPERIMENTAL: 0x08,
  BETA: 0x0c,
  HOT_RELOAD: 0x80,
} as const;
