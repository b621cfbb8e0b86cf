// The live progress line on stderr (only when stderr is a terminal).
import type { Progress } from '../client/types.js';

function human(n: number, units: string[], base: number): string {
  let i = 0;
  while (n >= base && i < units.length - 1) {
    n /= base;
    i++;
  }
  return `${i === 0 ? Math.round(n) : n.toFixed(2)}${units[i]}`;
}

export function humanRows(n: number): string {
  return human(n, ['', ' thousand', ' million', ' billion', ' trillion'], 1000);
}

export function humanBytes(n: number): string {
  return human(n, [' B', ' KB', ' MB', ' GB', ' TB'], 1000);
}

export class ProgressLine {
  private rows = 0;
  private bytes = 0;
  private total = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private started = 0;
  private shown = false;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly delayMs = 100,
  ) {}

  start(): void {
    this.started = Date.now();
    this.timer = setInterval(() => this.render(), this.delayMs);
    this.timer.unref?.();
  }

  add(p: Progress): void {
    this.rows += p.rows;
    this.bytes += p.bytes;
    this.total += p.totalRows;
  }

  text(): string {
    const s = Math.max((Date.now() - this.started) / 1000, 0.001);
    let t = `↻ Progress: ${humanRows(this.rows)} rows, ${humanBytes(this.bytes)} (${humanRows(this.rows / s)} rows/s., ${humanBytes(this.bytes / s)}/s.) ${s.toFixed(1)} s`;
    if (this.total > 0) t += ` ${Math.min(100, Math.floor((this.rows * 100) / this.total))}%`;
    return t;
  }

  private render(): void {
    const cols = this.out.columns || 120;
    this.out.write(`\r\x1b[K${this.text().slice(0, cols - 1)}`);
    this.shown = true;
  }

  /** Erase the line (before result output). */
  clear(): void {
    if (this.shown) this.out.write('\r\x1b[K');
    this.shown = false;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clear();
  }
}
