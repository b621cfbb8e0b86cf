import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';

/** How decoded values become JS values (value-mapping.md). Defaults are exact. */
export interface ValueOptions {
  /** Int64/UInt64: bigint (default), number (may lose precision), or decimal string. */
  int64?: 'bigint' | 'number' | 'string';
  /** Decimal: exact string (default), number, or bigint scaled by 10^S. */
  decimal?: 'string' | 'number' | 'bigint';
  /** Date/DateTime forms. 'default' = Date for Date-less-than-ms types, string otherwise (see value-mapping.md). */
  dates?: 'default' | 'string' | 'Date' | 'bigint';
  /** String/FixedString: JS string (default) or the raw bytes. */
  strings?: 'string' | 'bytes';
  /** Map(K, V): a JS Map (default) or a plain object. */
  maps?: 'Map' | 'object';
  /** Array(T) of fixed-width numbers: plain Array (default) or a TypedArray view. */
  arrays?: 'array' | 'typed';
  /** Timezone used for DateTime columns without their own (the server's, from Hello). */
  serverTimezone?: string;
}

/** Options fixed at decode time. */
export interface DecodeContext {
  /** 0 = FORMAT Native layout; otherwise the negotiated protocol revision. */
  revision: number;
  /**
   * Resume memo for leaf decoders (String scan state), keyed by the absolute
   * stream offset where the leaf started. Present only in resumable readers.
   */
  memo?: Map<number, unknown>;
  /** Absolute stream offset of cursor.buf[0] (for memo keys). */
  base: number;
}

export interface EncodeContext {
  revision: number;
}

/** Thrown by Codec.fromValues for a value that does not fit; the block writer adds the column name. */
export class RowValueError extends Error {
  constructor(
    readonly row: number,
    readonly value: unknown,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/**
 * A codec for one concrete type (arguments resolved). Data `D` is the decoded,
 * wire-faithful representation: decode → D → encode reproduces the bytes.
 */
export interface Codec<D = unknown> {
  /** Canonical ClickHouse type name. */
  readonly typeName: string;
  readonly node: TypeNode;
  /** Read the state prefix of this column tree (only written when rows > 0). */
  readPrefix(c: Cursor, ctx: DecodeContext): unknown;
  /**
   * Set when the body is exactly `rows × rowBytes` bytes after an empty prefix (fixed-width
   * types): the block reader then sees a partial body without a NEED_MORE throw.
   */
  readonly rowBytes?: number | undefined;
  /** Read `rows` rows of body. Throws NEED_MORE (cursor position unspecified) when bytes run out. */
  decode(c: Cursor, rows: number, prefix: unknown, ctx: DecodeContext): D;
  length(d: D): number;
  get(d: D, row: number, opts: ValueOptions): unknown;
  /**
   * A function giving any row's value as get() does, with the per-column work
   * (bulk text decoding, choosing the value form) done once. Optional: readerOf()
   * falls back to get().
   */
  reader?(d: D, opts: ValueOptions): ValueReader;
  /** All values; TypedArray for fixed-width numerics. */
  toArray(d: D, opts: ValueOptions): ArrayLike<unknown>;
  /** Convert JS values (value-mapping.md forms and obvious alternatives) to data. Throws RowValueError. */
  fromValues(values: ArrayLike<unknown>): D;
  /**
   * Optional, for codecs without a state prefix: write JS values straight into `w` exactly as
   * fromValues() then encode() would (one pass, no intermediate copy). Throws RowValueError.
   */
  writeValues?(w: Writer, values: ArrayLike<unknown>): void;
  writePrefix(w: Writer, d: D, ctx: EncodeContext): void;
  encode(w: Writer, d: D, ctx: EncodeContext): void;
  /** The value used for NULL slots inside Nullable and for missing values. */
  defaultValue(): unknown;
}

/**
 * o[k] = v as an own enumerable property, also for keys that come from data: a
 * plain assignment of '__proto__' would set the prototype instead (every other
 * Object.prototype member is a writable data property, so assigning it creates an own key).
 */
export function putOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

/** Whether object v has field k: an own key, or an inherited one that is not a member of Object.prototype ('constructor', …). */
export function hasField(v: object, k: string): boolean {
  return Object.hasOwn(v, k) || (!(k in Object.prototype) && k in v);
}

/** The value of one row of a column; see Codec.reader. */
export type ValueReader = (row: number) => unknown;

/** A reader for `d`: the codec's own, or one calling get(). */
export function readerOf<D>(codec: Codec<D>, d: D, o: ValueOptions): ValueReader {
  return codec.reader ? codec.reader(d, o) : (i) => codec.get(d, i, o);
}

/** Codec helpers for types without a state prefix. */
export function noPrefix(): undefined {
  return undefined;
}

export type AnyCodec = Codec<any>;

/** A decoded column: a name, a type, and typed data behind lazy accessors. */
export interface Column {
  readonly name: string;
  /** Canonical type name. */
  readonly type: string;
  readonly length: number;
  get(row: number): unknown;
  /**
   * A function giving any row's value (as get() does) with the column's set-up
   * done once: the way to visit rows one at a time without materialising the
   * whole column first (values then die young unless kept).
   */
  reader(): ValueReader;
  toArray(): ArrayLike<unknown>;
}

export class DecodedColumn<D = unknown> implements Column {
  constructor(
    readonly name: string,
    readonly codec: Codec<D>,
    readonly data: D,
    readonly options: ValueOptions = {},
  ) {}
  get type(): string {
    return this.codec.typeName;
  }
  get length(): number {
    return this.codec.length(this.data);
  }
  get(row: number): unknown {
    return this.codec.get(this.data, row, this.options);
  }
  reader(): ValueReader {
    return readerOf(this.codec, this.data, this.options);
  }
  toArray(): ArrayLike<unknown> {
    return this.codec.toArray(this.data, this.options);
  }
  /** The same data seen with other value options. */
  withOptions(options: ValueOptions): DecodedColumn<D> {
    return new DecodedColumn(this.name, this.codec, this.data, options);
  }
}

export function mapArray<T>(n: number, f: (i: number) => T): T[] {
  const out = new Array<T>(n);
  for (let i = 0; i < n; i++) out[i] = f(i);
  return out;
}

export function describeValue(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? v.slice(0, 60) + '…' : v);
  if (v instanceof Date) return `Date(${isNaN(v.getTime()) ? 'Invalid' : v.toISOString()})`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${(v as unknown as ArrayLike<unknown>).length ?? v.byteLength})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (v instanceof Map) return `Map(${v.size})`;
  if (typeof v === 'object') {
    // A plain object by its first keys ({ a, b, … }); other objects by their class.
    const proto = Object.getPrototypeOf(v) as object | null;
    if (proto === Object.prototype || proto === null) {
      const keys = Object.keys(v);
      return keys.length ? `{ ${keys.slice(0, 4).join(', ')}${keys.length > 4 ? ', …' : ''} }` : '{}';
    }
    return (v as { constructor?: { name?: string } }).constructor?.name ?? Object.prototype.toString.call(v);
  }
  return String(v);
}
