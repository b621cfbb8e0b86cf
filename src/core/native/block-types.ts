import type { Column } from '../columns/column.js';

/** BlockInfo (protocol ≥ 51903): field 1 is_overflows, field 2 bucket_num, [≥ 54480] field 3 out-of-order buckets. */
export interface BlockInfo {
  isOverflows: boolean;
  bucketNum: number;
  /** Present only when the peer sent field 3 (revision ≥ 54480). */
  outOfOrderBuckets?: number[];
}

/** A decoded block: named, typed columns of equal length. */
export interface Block {
  info?: BlockInfo;
  rowCount: number;
  columns: Column[];
}

/**
 * How a block is laid out on the wire. revision 0 = the `FORMAT Native` file/HTTP
 * layout (no BlockInfo, no per-column custom-serialization byte, V1 Dynamic/JSON).
 * Protocol blocks pass the negotiated revision.
 */
export interface NativeFormatOptions {
  revision: number;
}
