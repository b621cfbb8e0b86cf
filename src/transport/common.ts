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
