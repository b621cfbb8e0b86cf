import type { Block } from '../core/native/block-types.js';
import { type Column, type ValueReader, putOwn } from '../core/columns/column.js';
import { ClientError } from './errors.js';
import type { ColumnMeta, Progress, QueryEvent, QuerySummary } from './types.js';
import { addProgress, emptyProgress } from './types.js';

export type Row = Record<string, unknown> | unknown[];

/**
 * Unique keys for row objects: a repeated column name gets `_1`, `_2`, … — the
 * first suffix that is no other column's name (with one warning).
 */
function rowKeys(names: string[], warn = true): string[] {
  const taken = new Set(names);
  const used = new Set<string>();
  const out: string[] = [];
  let dup = false;
  for (const n of names) {
    let k = n;
    if (used.has(n)) {
      dup = true;
      for (let i = 1; taken.has(k) || used.has(k); i++) k = `${n}_${i}`;
    }
    used.add(k);
    out.push(k);
  }
  if (dup && warn) console.warn(`chwire: duplicate column names in result (${names.join(', ')}); keys: ${out.join(', ')}`);
  return out;
}

/** Builds row `i` of a block. */
type RowMaker = (i: number) => Row;
type MakerFactory = (readers: ValueReader[]) => RowMaker;
const factories = new Map<string, MakerFactory | null>();

/**
 * A generated row maker that builds each row with an object literal of fixed
 * keys: V8 then creates every row with one hidden class and no per-key
 * transitions (2-3× faster than assigning keys one by one). Returns null where
 * code generation is not allowed (CSP) or a key cannot be a literal key.
 */
function objectMakerFactory(keys: string[]): MakerFactory | null {
  const sig = JSON.stringify(keys);
  let f = factories.get(sig);
  if (f !== undefined) return f;
  f = null;
  if (keys.length <= 200 && !keys.includes('__proto__')) {
    try {
      const decl = keys.map((_, j) => `const r${j} = readers[${j}];`).join('\n');
      const lit = keys.map((k, j) => `${JSON.stringify(k)}: r${j}(i)`).join(', ');
      f = new Function('readers', `${decl}\nreturn (i) => ({ ${lit} });`) as MakerFactory;
    } catch {
      f = null;
    }
  }
  if (factories.size > 1000) factories.clear();
  factories.set(sig, f);
  return f;
}

/**
 * Makes the rows of a block one at a time from column readers: nothing is
 * materialised per column first, so rows (and their values) that the consumer
 * does not keep die young — the garbage collector's cheapest case.
 */
export function rowMaker(block: Block, keys: string[], shape: 'object' | 'array'): RowMaker {
  const readers = block.columns.map((c) => c.reader());
  const k = readers.length;
  if (shape === 'array')
    return (i) => {
      const r = new Array<unknown>(k);
      for (let j = 0; j < k; j++) r[j] = readers[j]!(i);
      return r;
    };
  const factory = objectMakerFactory(keys);
  if (factory) return factory(readers);
  return (i) => {
    const r: Record<string, unknown> = {};
    for (let j = 0; j < k; j++) putOwn(r, keys[j]!, readers[j]!(i));
    return r;
  };
}

/** Append the rows of a block, as objects or arrays, to `out`. */
export function appendBlockRows(block: Block, keys: string[], shape: 'object' | 'array', out: Row[]): void {
  const n = block.rowCount;
  const make = rowMaker(block, keys, shape);
  for (let i = 0; i < n; i++) out.push(make(i));
}

/** Rows of a block as objects or arrays. */
export function blockRows(block: Block, keys: string[], shape: 'object' | 'array'): Row[] {
  const out: Row[] = [];
  appendBlockRows(block, keys, shape, out);
  return out;
}

/**
 * Column types whose JS values may view the received bytes even with the default
 * value options (aggregate states are byte views; Dynamic/JSON may hold them).
 */
const VIEW_TYPES = /(?<!Simple)AggregateFunction\(|Dynamic|JSON|Object\(/;

/** The rows of a server Log block as objects keyed by column name. */
export function logEntries(block: Block): Record<string, unknown>[] {
  return blockRows(block, block.columns.map((c) => c.name), 'object') as Record<string, unknown>[];
}

/**
 * The result of a query: iterate it for Blocks as they arrive (backpressure:
 * the next block is read only when asked for), or collect with json()/columns().
 * A ResultSet can be consumed once.
 */
export class ResultSet implements AsyncIterable<Block> {
  /** Column names and types (known once the first block, even empty, has arrived). */
  meta: ColumnMeta[] = [];
  totals?: Block;
  extremes?: Block;
  readonly summary: QuerySummary;
  private consumed = false;
  private finished = false;
  private closedEarly = false;
  private active: AsyncIterator<Block> | undefined;
  constructor(
    private readonly events: AsyncIterator<QueryEvent>,
    private first: IteratorResult<QueryEvent> | undefined,
    readonly queryId: string,
    private readonly rowShape: 'object' | 'array',
    private readonly onProgress?: (p: Progress) => void,
    private readonly onDone?: () => void,
    private readonly onLog?: (entry: Record<string, unknown>) => void,
    /** Called (once) when a row helper copies every value out of each block; see QueryHandle. */
    private valuesCopied?: () => void,
    /** Stops the transport's request at once (a reader left while a block was awaited). */
    private readonly abandon?: () => void,
    /** When the query was asked for (summary.elapsedMs counts from here). */
    private readonly started = Date.now(),
  ) {
    this.summary = { progress: emptyProgress(), elapsedMs: 0, queryId };
    if (first && !first.done) this.note(first.value);
  }

  private note(e: QueryEvent): void {
    switch (e.type) {
      case 'data':
        if (this.meta.length === 0 && e.block.columns.length) this.meta = e.block.columns.map((c) => ({ name: c.name, type: c.type }));
        break;
      case 'progress':
        addProgress(this.summary.progress, e.progress);
        this.onProgress?.(e.progress);
        break;
      case 'profileInfo':
        this.summary.profileInfo = e.info;
        break;
      case 'totals':
        this.totals = e.block;
        break;
      case 'extremes':
        this.extremes = e.block;
        break;
      case 'log':
        if (this.onLog) for (const r of logEntries(e.block)) this.onLog(r);
        break;
    }
  }

  /**
   * Blocks as they arrive. Leaving early (`return()`, also before the first
   * `next()`) ends the query: cancelled on the server if still running, the
   * connection given back; a `next()` still waiting for the server is then
   * abandoned at once instead of waiting for the next block.
   */
  [Symbol.asyncIterator](): AsyncIterator<Block> {
    if (this.consumed) throw new ClientError('a ResultSet can be consumed only once', 'CHWIRE_RESULT_CONSUMED');
    this.consumed = true;
    // Written by hand (not an async generator over an async generator): one promise per
    // block, where the generator layers cost several promises and microtask turns each.
    let ended = false;
    let closing = false;
    /** The next() being served, if any: next() calls are served one at a time, in order. */
    let inflight: Promise<IteratorResult<Block>> | undefined;
    const DONE: IteratorResult<Block> = { value: undefined, done: true };
    /** next() calls not yet settled. */
    let pending = 0;
    const step = async (): Promise<IteratorResult<Block>> => {
      try {
        if (ended) return DONE;
        for (;;) {
          // The first event was noted by the constructor; every later one is noted here.
          let r = this.first;
          if (r) this.first = undefined;
          else if (!(r = await this.events.next()).done) this.note(r.value);
          if (r.done) {
            ended = true;
            await this.finish();
            return DONE;
          }
          const e = r.value;
          if (e.type === 'data' && e.block.rowCount > 0) return { value: e.block, done: false };
        }
      } catch (e) {
        ended = true;
        await this.finish();
        // A next() left waiting when the reader closed ends quietly.
        if (closing) return DONE;
        throw e;
      } finally {
        pending--;
      }
    };
    const next = (): Promise<IteratorResult<Block>> => {
      const p = pending++ > 0 && inflight ? inflight.then(step, step) : step();
      inflight = p;
      return p;
    };
    return (this.active = {
      next,
      return: async (value?: unknown) => {
        closing = true;
        if (pending > 0 && inflight) {
          // A next() still waits for the server: stop the request at once instead of waiting for its block.
          this.abandon?.();
          await inflight.catch(() => undefined);
        }
        ended = true;
        await this.finish();
        return { value: value as Block, done: true };
      },
    });
  }

  /**
   * Ends the query before its end (cancelled on the server if still running) and
   * gives its connection back; an iteration in progress then ends. Idempotent.
   */
  async close(): Promise<void> {
    if (!this.consumed) {
      this.consumed = true;
      await this.finish();
    } else {
      if (!this.finished) this.closedEarly = true;
      await this.active?.return?.();
    }
  }

  /** json()/columns() never return a result cut short by close() as if it were whole. */
  private assertWhole(what: string): void {
    if (this.closedEarly) throw new ClientError(`the result was closed before ${what} read it to its end`, 'CHWIRE_RESULT_CLOSED');
  }

  /** Once: the elapsed time, the transport's end of the query (cancel if it still runs), onDone. */
  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.summary.elapsedMs = Date.now() - this.started;
    try {
      await this.events.return?.();
    } finally {
      this.onDone?.();
    }
  }

  /**
   * A row helper is about to copy values out of `b`, block by block: tell the
   * transport once, when no value of these columns can be a view of its buffers.
   */
  private copyingFrom(b: Block): void {
    const f = this.valuesCopied;
    if (!f || b.columns.length === 0) return;
    this.valuesCopied = undefined;
    if (b.columns.every((c) => !VIEW_TYPES.test(c.type))) f();
  }

  /** All rows (objects keyed by column name, or arrays by the `rows` option). */
  async json<T = Row>(): Promise<T[]> {
    const out: Row[] = [];
    let keys: string[] | undefined;
    for await (const b of this) {
      this.copyingFrom(b);
      // Rows as arrays use no keys: no warning for duplicate names there.
      keys ??= rowKeys(b.columns.map((c) => c.name), this.rowShape === 'object');
      appendBlockRows(b, keys, this.rowShape, out);
    }
    this.assertWhole('json()');
    return out as T[];
  }

  /** The whole result column by column: { name: values }. */
  async columns(): Promise<Record<string, unknown[]>> {
    let keys: string[] | undefined;
    let vals: unknown[][] = [];
    for await (const b of this) {
      this.copyingFrom(b);
      if (!keys) {
        keys = rowKeys(b.columns.map((c) => c.name));
        vals = keys.map(() => []);
      }
      b.columns.forEach((c, j) => {
        const a = c.toArray();
        const v = vals[j]!;
        for (let i = 0; i < a.length; i++) v.push(a[i]);
      });
    }
    this.assertWhole('columns()');
    keys ??= rowKeys(this.meta.map((m) => m.name));
    const out: Record<string, unknown[]> = {};
    keys.forEach((k, j) => putOwn(out, k, vals[j] ?? [])); // a column named __proto__ stays a key
    return out;
  }

  /**
   * Async iteration over rows, built a block at a time. Breaking out of the loop
   * (or `return()`) ends the query like leaving a block loop does.
   */
  rows<T = Row>(): AsyncIterableIterator<T> {
    return new RowIterator<T>(this.blockRowSource());
  }

  /**
   * The rows of each block as a batch that makes its rows as you iterate it
   * (synchronously): the fastest way to visit rows one at a time — no promise
   * per row, and rows nobody keeps die young. Iterate a batch before asking for
   * the next one (its buffers are then reused): a batch iterated later throws
   * CHWIRE_STALE_BATCH. The rows themselves stay valid.
   */
  rowBatches<T = Row>(): AsyncIterableIterator<RowBatch<T>> {
    const src = this.blockRowSource();
    let last: RowBatch<T> | undefined;
    const it: AsyncIterableIterator<RowBatch<T>> = {
      [Symbol.asyncIterator]: () => it,
      next: async () => {
        // The consumer asked for the next batch: the last one's buffers may be reused now.
        last?.expire();
        const r = await src.blocks.next();
        if (r.done) return { value: undefined, done: true };
        try {
          last = new RowBatch<T>(src.rowsOf(r.value), r.value.rowCount);
        } catch (e) {
          await src.blocks.return?.();
          throw e;
        }
        return { value: last, done: false };
      },
      return: async (value?: unknown) => {
        last?.expire();
        await src.blocks.return?.();
        return { value: value as RowBatch<T>, done: true };
      },
    };
    return it;
  }

  /** Blocks whose values a row helper copies out (see copyingFrom), and their rows. */
  blockRowSource(): BlockRowSource {
    const blocks = this[Symbol.asyncIterator]();
    let keys: string[] | undefined;
    return {
      blocks,
      rowsOf: (b) => {
        this.copyingFrom(b);
        keys ??= rowKeys(b.columns.map((c) => c.name), this.rowShape === 'object');
        return rowMaker(b, keys, this.rowShape);
      },
    };
  }
}

interface BlockRowSource {
  blocks: AsyncIterator<Block>;
  /** The row maker of a block whose values are about to be copied out. */
  rowsOf(b: Block): RowMaker;
}

/**
 * Rows of a block stream. Not an async generator: one of those costs two to three
 * microtask turns per yielded row (≈ 130 ns on Node 20), this one a resolved promise.
 */
class RowIterator<T> implements AsyncIterableIterator<T> {
  private make: RowMaker = () => [];
  /** Next row of the current block, and its row count. */
  private k = 0;
  private n = 0;
  /** No rows after the current block's: the end, an error, or return(). */
  private ended = false;
  /** return() was called: next() answers done from now on. */
  private closed = false;
  private released = false;
  /** A block being fetched: next() calls made meanwhile wait for it, in order. */
  private pending: Promise<unknown> | undefined;

  constructor(private readonly src: BlockRowSource) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.closed) return Promise.resolve({ value: undefined, done: true });
    if (this.pending) return this.pending.then(() => this.next());
    if (this.k < this.n) {
      let value: T;
      try {
        value = this.make(this.k++) as T;
      } catch (e) {
        return this.fail(e);
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    const p = this.fill();
    this.pending = p;
    return p.then(
      () => {
        this.pending = undefined;
        return this.next();
      },
      (e: unknown) => {
        this.pending = undefined;
        if (this.closed) return { value: undefined, done: true as const };
        return this.fail(e);
      },
    );
  }

  /** Rows of the next non-empty block, or the end. */
  private async fill(): Promise<void> {
    const r = await this.src.blocks.next();
    if (this.closed) return;
    this.k = 0;
    if (r.done) {
      this.ended = true;
      this.n = 0;
    } else {
      this.make = this.src.rowsOf(r.value);
      this.n = r.value.rowCount;
    }
  }

  /** Ends the query (a for-await loop does not call return() when next() rejects) and rejects with e. */
  private async fail(e: unknown): Promise<never> {
    this.ended = true;
    this.n = 0;
    await this.release().catch(() => undefined);
    throw e;
  }

  private async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.src.blocks.return?.();
  }

  async return(value?: unknown): Promise<IteratorResult<T>> {
    this.closed = true;
    this.ended = true;
    this.n = 0;
    await this.release();
    return { value: value as T, done: true };
  }

  async throw(e?: unknown): Promise<IteratorResult<T>> {
    await this.return();
    throw e;
  }
}

/** The rows of one block, made one at a time as the batch is iterated; see ResultSet.rowBatches(). */
export class RowBatch<T = Row> implements Iterable<T> {
  private live = true;

  constructor(
    private readonly make: RowMaker,
    /** Rows in the batch. */
    readonly length: number,
  ) {}

  /** Called when the next batch is asked for: this one's buffers may then be reused. */
  expire(): void {
    this.live = false;
  }

  [Symbol.iterator](): Iterator<T> {
    return new BatchIterator<T>(this);
  }

  /** Row i (made on each call). */
  row(i: number): T {
    if (i >>> 0 !== i || i >= this.length) throw new ClientError(`row ${i} is not in this batch of ${this.length} rows`, 'CHWIRE_ROW_OUT_OF_RANGE');
    if (!this.live) throw new ClientError('a row batch was iterated after the next batch was asked for (its buffers are reused): iterate each batch before the next', 'CHWIRE_STALE_BATCH');
    return this.make(i) as T;
  }
}

class BatchIterator<T> implements Iterator<T> {
  private i = 0;
  constructor(private readonly batch: RowBatch<T>) {}
  next(): IteratorResult<T> {
    if (this.i >= this.batch.length) return { value: undefined, done: true };
    return { value: this.batch.row(this.i++), done: false };
  }
}

type ReadableLike = { push(chunk: unknown): boolean; destroy(e?: Error): void };
type ReadableCtor = new (opts: {
  objectMode: boolean;
  highWaterMark: number;
  read(this: ReadableLike): void;
  destroy(this: ReadableLike, e: Error | null, cb: (e: Error | null) => void): void;
}) => unknown;

/**
 * A Node Readable (object mode) of rows with backpressure: a block is pulled
 * from the connection only when the stream's buffer wants more rows, and a
 * block's rows are pushed in one go until the buffer is full. Destroying the
 * stream ends the query. Node only.
 */
export function rowStream(rs: ResultSet): unknown {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const mod = proc?.getBuiltinModule?.('node:stream') as { Readable: ReadableCtor } | undefined;
  if (!mod) throw new Error('ResultSet.stream() needs Node.js (use for await … of rs.rows() elsewhere)');
  const src = rs.blockRowSource();
  let make: RowMaker = () => [];
  let k = 0;
  let n = 0;
  let fetching = false;
  let done = false;
  // Push buffered rows until the stream is full; when they run out, fetch the next block.
  // Any failure (the server's, or making a row) destroys the stream, which ends the query.
  const fail = (st: ReadableLike, e: unknown): void => {
    if (done) return;
    st.destroy(e instanceof Error ? e : new Error(String(e)));
  };
  const pump = (st: ReadableLike): void => {
    try {
      while (k < n) if (!st.push(make(k++))) return;
    } catch (e) {
      return fail(st, e);
    }
    if (fetching || done) return;
    fetching = true;
    src.blocks.next().then(
      (r) => {
        fetching = false;
        if (done) return;
        if (r.done) {
          done = true;
          st.push(null);
          return;
        }
        try {
          make = src.rowsOf(r.value);
        } catch (e) {
          return fail(st, e);
        }
        n = r.value.rowCount;
        k = 0;
        pump(st);
      },
      (e: unknown) => {
        fetching = false;
        fail(st, e);
      },
    );
  };
  return new mod.Readable({
    objectMode: true,
    highWaterMark: 1024,
    read() {
      pump(this);
    },
    destroy(e, cb) {
      n = 0;
      if (done) return cb(e);
      done = true;
      // Ends the query (cancelled if still running) and releases the connection.
      Promise.resolve(src.blocks.return?.()).then(
        () => cb(e),
        (e2: unknown) => cb(e ?? (e2 as Error)),
      );
    },
  });
}
