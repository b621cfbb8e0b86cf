// Revisions the Native block layout depends on. The protocol's full revision
// table lives in protocol/revision.ts; these re-state the block-level ones.
// [src/Core/ProtocolDefines.h]
export const REVISION_BLOCK_INFO = 51903;
export const REVISION_CUSTOM_SERIALIZATION = 54454;
export const REVISION_SPARSE_SERIALIZATION = 54465;
export const REVISION_DYNAMIC_V2 = 54473;
export const REVISION_OUT_OF_ORDER_BUCKETS = 54480;
export const REVISION_REPLICATED_SERIALIZATION = 54482;
export const REVISION_NULLABLE_SPARSE = 54483;
