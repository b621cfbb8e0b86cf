import { encodeChunked } from '../protocol/chunked.js';
import type { Writer } from '../io/writer.js';

/**
 * Outbound messages waiting for the transport, shared by both sides of the
 * protocol. A message is chunked when this direction negotiated chunks (≥ 54470);
 * the handshake messages before that negotiation never are.
 */
export class OutputQueue {
  private parts: Uint8Array[] = [];
  /** Bytes queued and not yet taken or consumed. */
  bytes = 0;
  /** Whether messages in this direction travel chunked. */
  chunked = false;

  /** Queue the writer's message (the writer is reset). */
  push(w: Writer, chunkable = true): void {
    const parts = w.finish();
    for (const p of chunkable && this.chunked ? encodeChunked(parts) : parts) {
      this.parts.push(p);
      this.bytes += p.length;
    }
  }

  /** The queued bytes (not removed). */
  pending(): Uint8Array[] {
    return this.parts;
  }

  /** Take everything queued (the transport writes it). */
  take(): Uint8Array[] {
    const out = this.parts;
    this.parts = [];
    this.bytes = 0;
    return out;
  }

  /** Mark n bytes of pending() as written. */
  consume(n: number): void {
    while (n > 0 && this.parts.length) {
      const first = this.parts[0]!;
      if (first.length <= n) {
        n -= first.length;
        this.bytes -= first.length;
        this.parts.shift();
      } else {
        this.parts[0] = first.subarray(n);
        this.bytes -= n;
        n = 0;
      }
    }
  }
}
