// Resumable decoding: any chunking of a stream gives the same blocks as decoding
// it whole; every strict prefix asks for more bytes; hostile and mutated input
// ends in a clean ChwireError quickly, without giant allocations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChwireError, NativeStreamDecoder, decodeNative, encodeNative, type Block } from '../src/index.js';
import { engineNative } from './helpers/engine.js';

const STREAM_SQL = `SELECT number AS n, toString(number) AS s, if(number % 3 = 0, NULL, number * 1.5) AS f,
  range(number % 5) AS arr, toLowCardinality(toString(number % 7)) AS lc, map(toString(number), number) AS m,
  (number, toString(number)) AS t, toDecimal64(number / 7, 4) AS d, toDateTime64(number, 3, 'UTC') AS dt,
  repeat('x', number % 300) AS long_s, toFixedString(toString(number % 100), 3) AS fs, toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS u
  FROM numbers(1500)`;

/** Block contents as plain comparable values (row-major JSON with bigint/Date/typed arrays normalised). */
function snapshot(blocks: Block[]): string {
  return JSON.stringify(
    blocks.map((b) => ({ rows: b.rowCount, cols: b.columns.map((c) => [c.name, c.type, Array.from(c.toArray())]) })),
    (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Map ? [...v] : v),
  );
}

function feed(bytes: Uint8Array, size: number): Block[] {
  const d = new NativeStreamDecoder();
  const out: Block[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(...d.push(bytes.slice(i, i + size)));
  d.end();
  return out;
}

test('every chunking of an engine stream decodes like the whole stream', async () => {
  const bytes = await engineNative(STREAM_SQL, { max_block_size: 400 });
  const whole = decodeNative(bytes);
  assert.ok(whole.length >= 4, 'several blocks');
  const expected = snapshot(whole);
  for (const size of [1, 2, 3, 7, 64, 1000, 65536]) assert.equal(snapshot(feed(bytes, size)), expected, `chunks of ${size}`);
  // Random chunk sizes too.
  const d = new NativeStreamDecoder();
  const got: Block[] = [];
  for (let i = 0; i < bytes.length; ) {
    const n = 1 + Math.floor(Math.random() * 5000);
    got.push(...d.push(bytes.subarray(i, i + n)));
    i += n;
  }
  d.end();
  assert.equal(snapshot(got), expected);
});

test('decoding cost stays linear under 1-byte chunking (no re-parse from block start)', async () => {
  // One block with a large String column: 1-byte chunks must not re-scan it per byte.
  const bytes = await engineNative(`SELECT toString(number) AS s, number AS n FROM numbers(20000)`, { max_block_size: 100000 });
  const t0 = performance.now();
  decodeNative(bytes);
  const whole = performance.now() - t0;
  const t1 = performance.now();
  const blocks = feed(bytes, 1);
  const chunked = performance.now() - t1;
  assert.equal(blocks[0]!.rowCount, 20000);
  // Quadratic behaviour would be ~10^4 times slower here; allow generous noise.
  assert.ok(chunked < Math.max(2000, whole * 400), `1-byte chunking took ${chunked.toFixed(0)} ms (whole: ${whole.toFixed(1)} ms)`);
});

test('every strict prefix asks for more bytes (no block, no other error)', async () => {
  const bytes = await engineNative(STREAM_SQL.replace('numbers(1500)', 'numbers(40)'), { max_block_size: 1000 });
  const [full] = decodeNative(bytes);
  for (let cut = 1; cut < bytes.length; cut++) {
    const prefix = bytes.subarray(0, cut);
    assert.throws(() => decodeNative(prefix), (e: unknown) => e instanceof ChwireError && e.code === 'CHWIRE_TRUNCATED', `prefix ${cut}`);
    const d = new NativeStreamDecoder();
    assert.deepEqual(d.push(prefix), [], `prefix ${cut} yields no block`);
    assert.throws(() => d.end(), (e: unknown) => e instanceof ChwireError && e.code === 'CHWIRE_TRUNCATED');
  }
  assert.equal(full!.rowCount, 40);
});

test('hostile headers: impossible row counts and sizes fail without allocating', () => {
  // 1 column, 10^12 rows of UInt64 with 16 bytes present: truncated, not a 8 TB allocation.
  const huge = new Uint8Array([1, 0x80, 0xa0, 0x94, 0xa5, 0x8d, 0x1d, 1, 0x78, 6, ...Buffer.from('UInt64'), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.throws(() => decodeNative(huge), (e: unknown) => e instanceof ChwireError && e.code === 'CHWIRE_TRUNCATED');
  // Too many rows.
  const tooMany = new Uint8Array([1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 0x78, 6, ...Buffer.from('UInt64')]);
  assert.throws(() => decodeNative(tooMany), (e: unknown) => e instanceof ChwireError && e.code === 'CHWIRE_LIMIT_EXCEEDED');
  // An 11-byte varuint.
  assert.throws(() => decodeNative(new Uint8Array([1, ...new Array(11).fill(0x80), 0])), (e: unknown) => e instanceof ChwireError && e.code === 'CHWIRE_MALFORMED_DATA');
  // A String claiming 2 GiB.
  const bigString = new Uint8Array([1, 1, 1, 0x78, 6, ...Buffer.from('String'), 0x80, 0x80, 0x80, 0x80, 0x08]);
  assert.throws(() => decodeNative(bigString), (e: unknown) => e instanceof ChwireError && e.code === 'CHWIRE_LIMIT_EXCEEDED' && /column "x" \(String\)/.test((e as Error).message));
  // Unknown type names are quoted.
  const badType = new Uint8Array([1, 1, 1, 0x78, 7, ...Buffer.from('Foo(1,2')]);
  assert.throws(() => decodeNative(badType), (e: unknown) => e instanceof ChwireError && /Foo\(1,2/.test((e as Error).message));
  // Decreasing array offsets.
  const arr = encodeNative({ columns: [{ name: 'a', type: 'Array(UInt8)', values: [[1], [2, 3]] }] });
  const bad = arr.slice();
  // Header: ncols, nrows, "a", "Array(UInt8)" = 17 bytes; then offsets 1, 3 as UInt64: make the second 0.
  assert.equal(bad[17], 1);
  assert.equal(bad[25], 3);
  bad[25] = 0;
  assert.throws(() => decodeNative(bad), (e: unknown) => e instanceof ChwireError && /offsets decrease at row 1/.test((e as Error).message));
  // Offsets are read through a view when 4-byte aligned and one by one otherwise: both paths, every shift.
  const farOff = arr.slice();
  farOff[25 + 4] = 1; // high half of the second offset: 2^32 + 3 elements
  for (let shift = 0; shift < 8; shift++) {
    const at = (b: Uint8Array) => {
      const m = new Uint8Array(b.length + shift);
      m.set(b, shift);
      return m.subarray(shift);
    };
    assert.deepEqual(decodeNative(at(arr))[0]!.columns[0]!.toArray(), [[1], [2, 3]], `shift ${shift}`);
    assert.throws(() => decodeNative(at(bad)), (e: unknown) => e instanceof ChwireError && e.code === 'CHWIRE_MALFORMED_DATA' && /Array\(UInt8\) offsets decrease at row 1 \(1 then 0\)/.test((e as Error).message), `shift ${shift}`);
    assert.throws(() => decodeNative(at(farOff)), (e: unknown) => e instanceof ChwireError && e.code === 'CHWIRE_LIMIT_EXCEEDED' && /offset at row 1 exceeds/.test((e as Error).message), `shift ${shift}`);
  }
  // LowCardinality key outside the dictionary.
  const lc = encodeNative({ columns: [{ name: 'l', type: 'LowCardinality(String)', values: ['a', 'b'] }] });
  const badLc = lc.slice();
  badLc[badLc.length - 1] = 200;
  assert.throws(() => decodeNative(badLc), (e: unknown) => e instanceof ChwireError && /dictionary/.test((e as Error).message));
});

test('mutation fuzzing of engine streams: only clean ChwireErrors, each input fast', async () => {
  const bytes = await engineNative(STREAM_SQL.replace('numbers(1500)', 'numbers(60)'), { max_block_size: 25 });
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  let errors = 0;
  let ok = 0;
  const slowest = { ms: 0, kind: '' };
  for (let i = 0; i < 3000; i++) {
    const m = bytes.slice();
    let kind: string;
    const r = rnd();
    let input: Uint8Array = m;
    if (r < 0.4) {
      kind = 'bitflip';
      for (let k = 0; k < 1 + Math.floor(rnd() * 4); k++) m[Math.floor(rnd() * m.length)]! ^= 1 << Math.floor(rnd() * 8);
    } else if (r < 0.6) {
      kind = 'truncate';
      input = m.subarray(0, Math.floor(rnd() * m.length));
    } else if (r < 0.8) {
      kind = 'inflate';
      const p = Math.floor(rnd() * m.length);
      m[p] = 0xff;
      if (p + 1 < m.length) m[p + 1] = 0xff;
    } else {
      kind = 'splice';
      const a = Math.floor(rnd() * m.length);
      const b = Math.floor(rnd() * m.length);
      input = new Uint8Array([...m.subarray(0, a), ...m.subarray(b)]);
    }
    const t = performance.now();
    try {
      const blocks = decodeNative(input);
      for (const b of blocks) for (const c of b.columns) c.toArray();
      ok++;
    } catch (e) {
      if (!(e instanceof ChwireError)) throw new Error(`${kind} mutation ${i} escaped as ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      errors++;
    }
    const ms = performance.now() - t;
    if (ms > slowest.ms) Object.assign(slowest, { ms, kind });
  }
  assert.ok(errors > 1000, `most mutations are rejected (${errors} errors, ${ok} decoded)`);
  assert.ok(slowest.ms < 2000, `slowest input took ${slowest.ms.toFixed(0)} ms (${slowest.kind})`);
});

test('a String column arriving in small chunks is buffered in a few allocations (its end is estimated), values exact', () => {
  const n = 200_000;
  const values = Array.from({ length: n }, (_, i) => `https://example.com/item/${i}?q=${i * 7}`);
  const bytes = encodeNative({ columns: [{ name: 's', type: 'String', values }, { name: 'n', type: 'UInt32', values: Array.from({ length: n }, (_, i) => i) }] });
  const sizes: number[] = [];
  const d = new NativeStreamDecoder({}, (k) => {
    sizes.push(k);
    return new Uint8Array(k);
  });
  const blocks: Block[] = [];
  for (let p = 0; p < bytes.length; p += 65536) blocks.push(...d.push(bytes.subarray(p, p + 65536)));
  d.end();
  assert.equal(blocks.length, 1);
  assert.deepEqual(blocks[0]!.columns[0]!.toArray(), values);
  assert.equal((blocks[0]!.columns[1]!.toArray() as Uint32Array)[n - 1], n - 1);
  // Without the estimate the buffer doubled its way up to the column's size (7+ copies of it so far);
  // with it, the column's room is reserved once it has seen its first chunk.
  assert.ok(sizes.length <= 4, `allocations: ${sizes.join(', ')} for ${bytes.length} bytes`);
});

test('NativeStreamDecoder with slabs: released blocks let buffers be reused; unreleased ones stay intact', () => {
  const rowsPerBlock = 20000;
  const blockCount = 40;
  const parts: Uint8Array[] = [];
  for (let b = 0; b < blockCount; b++) {
    const ids = Array.from({ length: rowsPerBlock }, (_, i) => BigInt(b * rowsPerBlock + i));
    parts.push(encodeNative({ columns: [{ name: 'id', type: 'UInt64', values: ids }, { name: 's', type: 'String', values: ids.map((x) => `v${x}`) }] }));
  }
  const run = (recycle: boolean) => {
    let allocations = 0;
    const d = new NativeStreamDecoder({}, (n) => (allocations++, new Uint8Array(n)), 1 << 20);
    d.recycleBlocks = recycle;
    const kept: Block[] = [];
    let next = 0n;
    for (const p of parts)
      for (let o = 0; o < p.length; o += 65536)
        for (const b of d.push(p.subarray(o, o + 65536))) {
          const ids = b.columns[0]!.toArray() as BigUint64Array;
          const s = b.columns[1]!.toArray() as string[];
          for (let i = 0; i < ids.length; i++) if (ids[i] !== next + BigInt(i) || s[i] !== `v${next + BigInt(i)}`) assert.fail(`row ${next + BigInt(i)}`);
          next += BigInt(ids.length);
          if (recycle) d.release(b);
          else kept.push(b);
        }
    d.end();
    assert.equal(next, BigInt(rowsPerBlock * blockCount));
    // Blocks never released are still intact after everything else arrived.
    let again = 0n;
    for (const b of kept) for (const x of b.columns[0]!.toArray() as BigUint64Array) assert.equal(x, again++);
    return allocations;
  };
  const fresh = run(false);
  const recycled = run(true);
  assert.ok(fresh >= 15, `without recycling: ${fresh} allocations`);
  assert.ok(recycled <= 4, `with recycling: ${recycled} allocations`);
});

test('a fixed-width body cut short is awaited without a throw: tryRead() says which bytes it needs', async () => {
  const { BlockDecoder } = await import('../src/core/native/reader.js');
  const { Cursor } = await import('../src/core/io/cursor.js');
  const bytes = await engineNative('SELECT number AS n, toFloat64(number) AS f FROM numbers(1000)', { max_block_size: 1000 });
  const [whole] = decodeNative(bytes);
  // Where the body of column n starts: after the block header and n's name and type.
  const bodyStart = bytes.length - 2 * 8000 - (1 + 1 + 'Float64'.length + 1);
  for (const cut of [bodyStart + 1, bodyStart + 4000, bytes.length - 1]) {
    const d = new BlockDecoder(0);
    const c = new Cursor(bytes.subarray(0, cut));
    assert.equal(d.tryRead(c, 0), undefined, `cut at ${cut}`);
    assert.ok(d.inProgress);
    assert.ok(d.wantAbs > cut && d.wantAbs <= bytes.length, `wants ${d.wantAbs}`);
    if (cut < bodyStart + 8000) assert.equal(d.alignAbs, bodyStart, 'n body start is to be aligned');
    assert.ok(c.pos <= cut);
    // With every byte present, the block completes from where it stopped (read() throws nothing).
    const rest = new Cursor(bytes, c.pos);
    const b = d.read(rest, 0);
    assert.equal(rest.pos, bytes.length);
    assert.equal(snapshot([b]), snapshot([whole!]));
  }
});

test('every fixed-width type (a size known from the row count) decodes alike under any chunking', async () => {
  // One column per codec that declares `rowBytes`: the block reader awaits their bodies from that
  // size alone, so a wrong width would stall (or misread) a stream cut inside such a body.
  const sql = `SELECT toInt8(-number) AS i8, toUInt16(number) AS u16, toInt32(-number) AS i32, toUInt64(number) AS u64,
    toInt128(-number) AS i128, toUInt256(number) AS u256, toFloat32(number / 3) AS f32, toFloat64(number / 7) AS f64,
    toBFloat16(number) AS bf16, number % 2 = 0 AS b, toDecimal32(number / 9, 3) AS d32, toDecimal64(number / 9, 6) AS d64,
    toDecimal128(number / 9, 10) AS d128, toDecimal256(number / 9, 20) AS d256, toDate(number) AS d, toDate32(number) AS d32x,
    toDateTime(number, 'UTC') AS dt, toDateTime64(number, 6, 'UTC') AS dt64, toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS u,
    toIPv4(number) AS ip4, toIPv6('2001:db8::1') AS ip6, toFixedString(toString(number % 10), 2) AS fs,
    CAST(number % 2 + 1 AS Enum8('a' = 1, 'b' = 2)) AS e8, CAST(number % 2 + 1 AS Enum16('x' = 1, 'y' = 2)) AS e16,
    toIntervalDay(number) AS iv, CAST(number AS Time) AS tm, CAST(number AS Time64(3)) AS tm64
    FROM numbers(700)`;
  const bytes = await engineNative(sql, { max_block_size: 300 });
  const whole = decodeNative(bytes);
  assert.equal(whole.length, 3);
  const codecsWithWidth = whole[0]!.columns.filter((c) => (c as unknown as { codec: { rowBytes?: number } }).codec.rowBytes !== undefined);
  assert.equal(codecsWithWidth.length, whole[0]!.columns.length, 'every column here has a fixed width');
  const expected = snapshot(whole);
  for (const size of [1, 5, 64, 4093]) assert.equal(snapshot(feed(bytes, size)), expected, `chunks of ${size}`);
  // Each column alone too, so its body ends the stream: a width too large would wait for bytes
  // that never come (end() then reports a truncated stream), one too small would misread.
  for (let j = 0; j < whole[0]!.columns.length; j++) {
    const alone = whole.map((b) => ({ rowCount: b.rowCount, columns: [b.columns[j]!] }));
    const one = encodeNative(alone);
    const want = snapshot(decodeNative(one));
    for (const size of [1, 7, 300]) assert.equal(snapshot(feed(one, size)), want, `${whole[0]!.columns[j]!.name}, chunks of ${size}`);
  }
});
