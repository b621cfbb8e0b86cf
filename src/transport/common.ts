// Small helpers every transport shares. No node:* imports (the HTTP transport runs in browsers).
import { quoteIdentifier } from '../core/protocol/params.js';

let queryCounter = 0;

/** A fresh query id (UUID where the platform has one). */
export function newQueryId(): string {
  const g = globalThis as { crypto?: { randomUUID?: () => string } };
  return g.crypto?.randomUUID?.() ?? `chwire-${Date.now()}-${++queryCounter}`;
}

/** A setting's value as the text the server parses (booleans as 0/1). */
export function settingText(v: unknown): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v);
}

/** A table name for SQL: `db.table`, already-quoted names, or plain names (quoted when needed). */
export function quoteTable(t: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/.test(t) || /[`"]/.test(t)) return t;
  return quoteIdentifier(t);
}

/** Whether a query's data blocks may be recycled, and the reader decoding them now. */
export interface RecycleControl {
  recycle: boolean;
  reader?: { recycleBlocks: boolean };
}

/** QueryHandle.valuesCopied for a query run under `ctl`: recycle from now on. */
export function valuesCopiedFor(ctl: RecycleControl): () => void {
  return () => {
    ctl.recycle = true;
    if (ctl.reader) ctl.reader.recycleBlocks = true;
  };
}

/**
 * An inactivity deadline (request_timeout): `onFire` runs once `ms` pass without touch() while
 * it runs (between touch() and pause()). One timer serves any number of touches: it is re-armed
 * lazily when it fires early, since a timer cleared and set per read or chunk was measurable.
 */
export class InactivityDeadline {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  /** The last touch (Date.now()). */
  private from = 0;

  constructor(
    private readonly ms: number,
    private readonly onFire: () => void,
  ) {}

  /** Activity (or a wait begins): the deadline counts from now, and runs. */
  touch(): void {
    if (this.ms <= 0) return;
    this.from = Date.now();
    this.running = true;
    if (!this.timer) this.arm(this.ms);
  }

  /** Nobody waits for the peer now: the time until the next touch() does not count. */
  pause(): void {
    this.running = false;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = false;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.check, ms);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private readonly check = (): void => {
    this.timer = undefined;
    if (!this.running) return;
    const left = this.from + this.ms - Date.now();
    if (left > 0) this.arm(left);
    else {
      this.running = false;
      this.onFire();
    }
  };
}
