// Safety limits applied to every decode (always on). Sources: protocol-notes.md
// "Limits worth enforcing on hostile input" and ClickHouse's own caps.
export const Limits = {
  /** varuint encoding length cap (LEB128 of a 64-bit value). */
  maxVarUIntBytes: 10,
  /** A single String / type name / packet string. */
  maxStringBytes: 1 << 30,
  /** Columns in one block. */
  maxColumns: 1_000_000,
  /** Rows in one block. */
  maxRows: 1e12,
  /** FixedString(N) width. */
  maxFixedStringBytes: 0xffffff,
  /** Type-name nesting depth. */
  maxTypeDepth: 300,
  /** Elements addressed by array offsets in one column. */
  maxArrayElements: 0xffffffff,
  /** ClickHouse caps a compressed frame at 1 GiB. */
  maxFrameBytes: 1 << 30,
  /**
   * Inbound buffers are never allocated more than max(this, bytes received) ahead of the
   * bytes received: a declared size (rows × width, a String length, a frame size) alone
   * allocates at most this much; a body that keeps arriving grows geometrically.
   */
  maxAllocAheadBytes: 64 * 1024 * 1024,
  /**
   * Rows of one block in a sparse column: it is expanded to every row from a few bytes, so its
   * size is not bounded by the input (2^25 rows: 256 MiB of UInt64; ClickHouse's blocks are
   * max_block_size rows, 65 409 by default).
   */
  maxSparseRows: 1 << 25,
} as const;
