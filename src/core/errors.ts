/**
 * Every error chwire throws is a ChwireError with a stable `code` string.
 * Codes are part of the public API: never rename one.
 */
export class ChwireError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bytes that do not form valid Native/protocol data, or exceed a safety limit. */
export class DecodeError extends ChwireError {
  constructor(message: string, code = 'CHWIRE_MALFORMED_DATA', options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A safety limit was exceeded by input (hostile or corrupt). */
export class LimitError extends DecodeError {
  constructor(message: string) {
    super(message, 'CHWIRE_LIMIT_EXCEEDED');
  }
}

/** A ClickHouse type name that cannot be parsed. */
export class TypeParseError extends ChwireError {
  constructor(message: string) {
    super('CHWIRE_BAD_TYPE_NAME', message);
  }
}

/** A well-formed type name chwire has no codec for. */
export class UnsupportedTypeError extends ChwireError {
  constructor(message: string, code = 'CHWIRE_UNSUPPORTED_TYPE', cause?: unknown) {
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

/** A JS value that does not fit the column it is encoded into. */
export class EncodeError extends ChwireError {
  constructor(message: string, code = 'CHWIRE_BAD_VALUE') {
    super(code, message);
  }
}

/** Compression frame problems: checksum, sizes, unknown method. */
export class CompressionError extends ChwireError {
  constructor(message: string, code = 'CHWIRE_COMPRESSION') {
    super(code, message);
  }
}

/** The peer broke the native protocol, or the connection was misused. */
export class ProtocolError extends ChwireError {
  constructor(message: string, code = 'CHWIRE_PROTOCOL') {
    super(code, message);
  }
}

/**
 * Thrown (as a shared, stack-less sentinel) by a Cursor that runs out of bytes.
 * Not an Error: callers catch it and wait for more input. `Cursor.wantPos`
 * holds the absolute position that would have been needed.
 */
export class NeedMoreData {
  readonly needMore = true;
}
export const NEED_MORE: NeedMoreData = Object.freeze(new NeedMoreData()) as NeedMoreData;

export function isNeedMore(e: unknown): e is NeedMoreData {
  return e === NEED_MORE;
}
