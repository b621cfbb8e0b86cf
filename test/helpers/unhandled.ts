// Every test file that drives sockets ends by asserting that nothing it did left an unhandled
// rejection (or, where asked, an uncaught exception) behind: a client must reject, never leak.
import assert from 'node:assert/strict';

export interface Leaks {
  /** Waits `settleMs` for late rejections, stops listening and asserts that none were seen. */
  assertNone(settleMs?: number): Promise<void>;
}

/** Starts listening now (call at module level, so the whole file is covered). */
export function watchLeaks(options: { uncaught?: boolean } = {}): Leaks {
  const unhandled: unknown[] = [];
  const uncaught: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  const onUncaught = (e: unknown) => uncaught.push(e);
  process.on('unhandledRejection', onUnhandled);
  if (options.uncaught) process.on('uncaughtException', onUncaught);
  return {
    async assertNone(settleMs = 50) {
      await new Promise((r) => setTimeout(r, settleMs));
      process.off('unhandledRejection', onUnhandled);
      process.off('uncaughtException', onUncaught);
      assert.deepEqual(unhandled, []);
      assert.deepEqual(uncaught, []);
    },
  };
}
