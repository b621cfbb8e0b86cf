// Turning user input (rows, columns, iterables) into blocks for the server's header.
//
// Row rules: without `columns`, an array of row objects inserts the union of its rows' keys (in
// first-seen order); any other source (an iterable, an array of array rows) inserts the table's
// columns. A row key outside the insert's columns, or a missing key of a column that takes no
// NULL, is an EncodeError naming the row (its position in the whole input). Batches' values are
// converted when the transport reads them (inside its insert context, so DateTime text is read in
// the server's zone); for an array, every batch is converted when the first is read, so a bad
// value fails the INSERT before any row is sent.
import type { Block } from '../core/native/block-types.js';
import type { BlockInput } from '../core/native/writer.js';
import { type AnyCodec, DecodedColumn, RowValueError, describeValue } from '../core/columns/column.js';
import { CodecCache } from '../core/columns/registry.js';
import { ChwireError, EncodeError } from '../core/errors.js';
import { ClientError } from './errors.js';
import type { ColumnMeta } from './types.js';

export interface BatchOptions {
  rows: number;
  bytes: number;
  ms: number;
}

/** An EncodeError from an insert: `rowsSent` rows (0 … rowsSent-1 of the input) had already gone to the server. */
export type InsertEncodeError = EncodeError & { rowsSent: number };

/** `values` must be an array or (async) iterable of rows: anything else is a ClientError. */
function checkSource(values: unknown): void {
  const ok = typeof values === 'object' && values !== null && (Symbol.iterator in values || Symbol.asyncIterator in values);
  if (!ok) {
    const what = values === null ? 'null' : Array.isArray(values) ? 'array' : typeof values === 'object' ? 'a non-iterable object' : `a ${typeof values}`;
    throw new ClientError(`insert values must be an array or (async) iterable of rows, not ${what}`, 'CHWIRE_BAD_VALUES');
  }
}

function isRowObject(r: unknown): r is Record<string, unknown> {
  return r !== null && typeof r === 'object' && !Array.isArray(r);
}

/**
 * Column names implied by the input when the user did not list them: for an array whose first row
 * is an object, the union of its object rows' keys in first-seen order; else undefined (the table's columns).
 */
export function inferColumns(values: unknown): string[] | undefined {
  checkSource(values);
  if (!Array.isArray(values) || !values.length || !isRowObject(values[0])) return undefined;
  const first: string[] = [];
  for (const key in values[0]) first.push(key);
  let names = first;
  let known: Set<string> | undefined;
  for (let i = 1; i < values.length; i++) {
    const r: unknown = values[i];
    // Array rows take the table's column order, object rows their keys: one input, one form.
    if (!isRowObject(r)) throw new EncodeError(`row ${i} is ${Array.isArray(r) ? 'an array' : r === null ? 'null' : typeof r} while row 0 is an object: give every row as an object, or every row as an array`, 'CHWIRE_BAD_ROW');
    // Fast path: the first row's keys in the same order.
    let j = 0;
    let same = true;
    for (const key in r) {
      if (key !== first[j++]) {
        same = false;
        break;
      }
    }
    if (same && j === first.length) continue;
    if (!known) {
      names = first.slice();
      known = new Set(first);
    }
    for (const key in r) {
      if (!known.has(key)) {
        known.add(key);
        names.push(key);
      }
    }
  }
  return names;
}

/** An insert's EncodeError: message and `rowsSent` tell how many rows (the input's first ones) were already sent. */
function insertError(message: string, code: string, sent: number): InsertEncodeError {
  const note = sent > 0 ? ` (rows 0–${sent - 1} were sent before it and are not rolled back: over TCP they are inserted, over HTTP they may be, on chdb: they are not)` : '';
  return Object.assign(new EncodeError(message + note, code), { rowsSent: sent });
}

/** A column whose data is made when first read: by the transport, inside its insert context. */
function lazyColumn(name: string, codec: AnyCodec, make: () => unknown): DecodedColumn {
  const col = new DecodedColumn<unknown>(name, codec, undefined);
  let pending: (() => unknown) | undefined = make;
  let data: unknown;
  Object.defineProperty(col, 'data', {
    enumerable: true,
    get: () => {
      if (pending) {
        data = pending();
        pending = undefined;
      }
      return data;
    },
  });
  return col;
}

/** The header's codecs and the checks rows go through. */
class RowConverter {
  readonly names: string[];
  private readonly codecs: AnyCodec[];
  /** Columns that take NULL: a missing key is NULL there. */
  private readonly nullable: boolean[];
  private readonly known: Set<string>;

  constructor(header: ColumnMeta[]) {
    const cache = new CodecCache();
    this.names = header.map((h) => h.name);
    this.known = new Set(this.names);
    this.codecs = header.map((h) => {
      try {
        return cache.get(h.type);
      } catch (e) {
        if (e instanceof ChwireError) throw new EncodeError(`column ${JSON.stringify(h.name)}: ${e.message}`, e.code);
        throw e;
      }
    });
    this.nullable = this.codecs.map((c) => {
      try {
        c.fromValues([null]);
        return true;
      } catch {
        return false;
      }
    });
  }

  /**
   * rows[start, end) → one array of values per column, checking each row's shape. rows[start] is
   * row `first` of the input; `sent` rows had already been sent (for the error).
   */
  split(rows: unknown[], start: number, end: number, first: number, sent: number): unknown[][] {
    const { names, nullable, known } = this;
    const n = end - start;
    const k = names.length;
    const cols: unknown[][] = names.map(() => new Array<unknown>(n));
    for (let i = 0; i < n; i++) {
      const r: unknown = rows[start + i];
      if (Array.isArray(r)) {
        if (r.length !== k) throw insertError(`row ${first + i} has ${r.length} values, the insert has ${k} columns (${names.join(', ')})`, 'CHWIRE_BAD_ROW', sent);
        for (let j = 0; j < k; j++) cols[j]![i] = r[j];
      } else if (isRowObject(r)) {
        let present = 0;
        for (let j = 0; j < k; j++) {
          const name = names[j]!;
          const v = r[name];
          if (v !== undefined || name in r) present++;
          else if (!nullable[j])
            throw insertError(`row ${first + i} has no value for column ${JSON.stringify(name)} (${this.codecs[j]!.typeName}, which takes no NULL)`, 'CHWIRE_BAD_ROW', sent);
          cols[j]![i] = v;
        }
        // A key outside the columns would be dropped: count the keys, look closer only on a mismatch.
        let count = 0;
        for (const _key in r) count++;
        if (count !== present)
          for (const key in r)
            if (!known.has(key)) throw insertError(`row ${first + i} has key ${JSON.stringify(key)}, which is not a column of the insert (${names.join(', ')})`, 'CHWIRE_BAD_ROW', sent);
      } else throw insertError(`row ${first + i} is not an object or array`, 'CHWIRE_BAD_ROW', sent);
    }
    return cols;
  }

  /** Convert column j's values of a batch whose first row is row `first` of the input. */
  convert(j: number, values: unknown[], first: number, sent: number): unknown {
    const codec = this.codecs[j]!;
    try {
      return codec.fromValues(values);
    } catch (e) {
      if (e instanceof RowValueError)
        throw insertError(`column ${JSON.stringify(this.names[j])} (${codec.typeName}) row ${first + e.row}: ${describeValue(e.value)} ${e.reason}`, 'CHWIRE_BAD_VALUE', sent);
      throw e;
    }
  }

  /** A block of n rows whose column j is data(j), made when the transport reads it. */
  block(n: number, data: (j: number) => unknown): Block {
    return { rowCount: n, columns: this.names.map((name, j) => lazyColumn(name, this.codecs[j]!, () => data(j))) };
  }
}

/** Columnar input { name: values } → one block in header order. */
export function columnsToBlock(columns: Record<string, ArrayLike<unknown>>, header: ColumnMeta[]): BlockInput {
  const names = Object.keys(columns);
  for (const h of header) if (!(h.name in columns)) throw new EncodeError(`column ${JSON.stringify(h.name)} is missing from the columns given (${names.join(', ')})`, 'CHWIRE_BAD_ROW');
  return { columns: header.map((h) => ({ name: h.name, type: h.type, values: columns[h.name]! })) };
}

/** A row's size for insert_batch_bytes: strings, bytes, arrays, maps and objects by content. */
function approxSize(row: unknown): number {
  if (row === null || typeof row !== 'object') return 16;
  let n = 0;
  for (const v of Object.values(row as object)) n += valueSize(v, 0);
  return n;
}

function valueSize(v: unknown, depth: number): number {
  if (typeof v === 'string') return v.length + 1;
  if (v === null || typeof v !== 'object') return 8;
  if (ArrayBuffer.isView(v)) return v.byteLength + 1;
  // Deep values: an estimate from the first levels is enough to bound a batch.
  if (depth > 3) return 8;
  let n = 8;
  if (Array.isArray(v)) for (const x of v) n += valueSize(x, depth + 1);
  else if (v instanceof Map) for (const [k, x] of v) n += valueSize(k, depth + 1) + valueSize(x, depth + 1);
  else if (!(v instanceof Date)) for (const x of Object.values(v)) n += valueSize(x, depth + 1);
  return n;
}

/**
 * An array's batches. All of them are split and converted when the first block's data is read, so
 * a bad row anywhere fails the INSERT before any row is sent. That holds the converted data of the
 * whole input at once — about its wire size, less than the row objects the caller already holds.
 */
function* arrayBatches(rows: unknown[], cv: RowConverter, opts: BatchOptions): Generator<Block> {
  const starts: number[] = [];
  let count = 0;
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    if (count === 0) starts.push(i);
    count++;
    bytes += approxSize(rows[i]);
    if (count >= opts.rows || bytes >= opts.bytes) count = bytes = 0;
  }
  starts.push(rows.length);
  let converted: unknown[][] | undefined;
  const convertAll = (): unknown[][] => {
    const out: unknown[][] = [];
    for (let b = 0; b + 1 < starts.length; b++) {
      const s = starts[b]!;
      const cols = cv.split(rows, s, starts[b + 1]!, s, 0);
      out.push(cols.map((values, j) => cv.convert(j, values, s, 0)));
    }
    return out;
  };
  for (let b = 0; b + 1 < starts.length; b++) {
    yield cv.block(starts[b + 1]! - starts[b]!, (j) => {
      converted ??= convertAll();
      const batch = converted[b]!;
      const data = batch[j];
      batch[j] = undefined; // sent once: let it go
      return data;
    });
  }
}

/**
 * Batch rows from an array or (async) iterable into blocks: by row count, estimated bytes, or
 * time since the batch's first row (so a slow source still lands data steadily).
 */
export async function* batchRows(source: AsyncIterable<unknown> | Iterable<unknown>, header: ColumnMeta[], opts: BatchOptions): AsyncGenerator<Block> {
  checkSource(source);
  const cv = new RowConverter(header);
  if (Array.isArray(source)) {
    yield* arrayBatches(source, cv, opts);
    return;
  }
  let batch: unknown[] = [];
  let bytes = 0;
  let offset = 0;
  // Rows before `offset` were sent (the transport asks for a block once the previous one is out).
  const flush = (): Block => {
    const first = offset;
    const cols = cv.split(batch, 0, batch.length, first, first);
    const b = cv.block(batch.length, (j) => cv.convert(j, cols[j]!, first, first));
    offset += batch.length;
    batch = [];
    bytes = 0;
    return b;
  };
  if (Symbol.iterator in source && !(Symbol.asyncIterator in source)) {
    for (const r of source as Iterable<unknown>) {
      batch.push(r);
      bytes += approxSize(r);
      if (batch.length >= opts.rows || bytes >= opts.bytes) yield flush();
    }
    if (batch.length) yield flush();
    return;
  }
  // A pump reads the source with a plain for-await (one promise per row, the source's own) and
  // fills the batch; this generator wakes once per batch — when it is full, when its time is up
  // (a slow source still lands data steadily) or at the end. No timer or Promise.race per row:
  // those made a 10M-row insert ~10× slower, much more so where promise hooks are active.
  let done = false;
  let failed = false;
  let error: unknown;
  let full = false;
  let timedOut = false;
  let cancelled = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let wake: (() => void) | undefined;
  let resume: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const pump = (async () => {
    try {
      for await (const v of source as AsyncIterable<unknown>) {
        if (batch.length === 0) {
          timer = setTimeout(() => {
            timedOut = true;
            notify();
          }, opts.ms);
        }
        batch.push(v);
        bytes += approxSize(v);
        if (batch.length >= opts.rows || bytes >= opts.bytes) {
          full = true;
          notify();
          await new Promise<void>((r) => (resume = r));
        }
        if (cancelled) break;
      }
    } catch (e) {
      failed = true;
      error = e;
    } finally {
      done = true;
      notify();
    }
  })();
  try {
    for (;;) {
      while (!full && !timedOut && !done) await new Promise<void>((r) => (wake = r));
      if (failed) throw error;
      clearTimeout(timer);
      timedOut = false;
      full = false;
      if (batch.length) {
        const b = flush();
        const r = resume;
        resume = undefined;
        r?.();
        yield b;
      } else if (done) break;
    }
  } finally {
    clearTimeout(timer);
    cancelled = true;
    const r = resume;
    resume = undefined;
    r?.();
    void pump;
  }
}
