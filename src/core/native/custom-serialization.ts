// Per-column custom serialization (protocol ≥ 54454): after the type name a
// UInt8 has_custom; when 1, a kind stack follows [SerializationInfo.cpp].
import { UnsupportedTypeError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { AnyCodec } from '../columns/column.js';

/** Read the kind stack and return a codec that decodes the column into ordinary data. */
export function readCustomSerialization(c: Cursor, codec: AnyCodec, _revision: number): AnyCodec {
  const kind = c.u8();
  if (kind === 0) return codec;
  throw new UnsupportedTypeError(`custom serialization kind ${kind} of ${codec.typeName} is not supported yet`);
}
