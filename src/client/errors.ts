import { ChwireError } from '../core/errors.js';

export interface ServerExceptionLike {
  code: number;
  name: string;
  message: string;
  stackTrace?: string;
  nested?: ServerExceptionLike;
}

/**
 * An exception raised by the ClickHouse server (or engine). `code` is the
 * server's numeric error code (e.g. 60 UNKNOWN_TABLE), `type` its exception
 * class (e.g. DB::Exception).
 */
export class ClickHouseError extends Error {
  readonly code: number;
  readonly type: string;
  readonly serverStackTrace: string;
  readonly nested?: ClickHouseError;
  constructor(e: ServerExceptionLike) {
    super(e.message);
    this.name = 'ClickHouseError';
    this.code = e.code;
    this.type = e.name;
    this.serverStackTrace = e.stackTrace ?? '';
    if (e.nested) this.nested = new ClickHouseError(e.nested);
  }
}

/** Could not connect, or the connection failed mid-request. */
export class ConnectionError extends ChwireError {
  constructor(message: string, options?: { cause?: unknown }, code = 'CHWIRE_CONNECTION') {
    super(code, message, options);
  }
}

/** request_timeout / connect_timeout elapsed. */
export class TimeoutError extends ChwireError {
  constructor(message: string) {
    super('CHWIRE_TIMEOUT', message);
  }
}

/** The caller's AbortSignal fired. */
export class AbortError extends ChwireError {
  constructor(message = 'the request was aborted', options?: { cause?: unknown }) {
    super('CHWIRE_ABORTED', message, options);
  }
}

/** Wrong use of the client API (bad option, closed client). */
export class ClientError extends ChwireError {
  constructor(message: string, code = 'CHWIRE_BAD_OPTION') {
    super(code, message);
  }
}
