// CityHash128 as ClickHouse computes it: the CityHash v1.0.2 variant vendored in
// ClickHouse's contrib/cityhash102 (namespace CityHash_v1_0_2). Later CityHash
// releases changed the function, so no other version matches ClickHouse's
// compression checksums.
//
// 64-bit words are carried as pairs of int32 numbers (lo, hi). Every 64-bit
// multiplication in CityHash has a constant right operand, so `mul` takes the
// constant's halves. Helpers return the low word and leave the high word in
// `this.h` (per-hasher scratch, never module-global); V8 inlines them, so the
// hot loop allocates nothing.

const K0L = 0x97cb3127 | 0;
const K0H = 0xc3a5c85c | 0;
const K1L = 0xbe98f273 | 0;
const K1H = 0xb492b66f | 0;
const K2L = 0x2f90404f | 0;
const K2H = 0x9ae16a3b | 0;
const K3L = 0x509e6557 | 0;
const K3H = 0xc949d7c7 | 0;
// Hash128to64's multiplier (city.h).
const KML = 0xeb382d69 | 0;
const KMH = 0x9ddfea08 | 0;
const K1LU = 0xbe98f273;
const TWO_M32 = 2.3283064365386963e-10;

/**
 * High 32 bits of the unsigned 64-bit product of two uint32 values (as int32).
 * The double product d has |d - P| <= 2^10 (53-bit mantissa, P < 2^64); with
 * the exact low word lo, (d - lo) / 2^32 lies within 2^-20 of the high word, so
 * rounding recovers it exactly.
 */
function mulHi32(a: number, b: number, lo: number): number {
  return ((((a >>> 0) * (b >>> 0) - (lo >>> 0)) * 2.3283064365386963e-10 + 0.5) | 0);
}

class City128 {
  /** High word of the last 64-bit result. */
  h = 0;
  // Results of weak(): first (pl, ph) and second (ql, qh).
  pl = 0;
  ph = 0;
  ql = 0;
  qh = 0;
  // The 128-bit result: lo64 (rl0, rh0), hi64 (rl1, rh1).
  rl0 = 0;
  rh0 = 0;
  rl1 = 0;
  rh1 = 0;
  readonly view: DataView;
  readonly buf: Uint8Array;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  mul(lo: number, hi: number, kl: number, kh: number): number {
    const l = Math.imul(lo, kl);
    this.h = (mulHi32(lo, kl, l) + Math.imul(hi, kl) + Math.imul(lo, kh)) | 0;
    return l;
  }
  add(al: number, ah: number, bl: number, bh: number): number {
    const l = (al + bl) | 0;
    // Carry out of bit 31, branch-free.
    this.h = (ah + bh + (((al & bl) | ((al | bl) & ~l)) >>> 31)) | 0;
    return l;
  }
  sub(al: number, ah: number, bl: number, bh: number): number {
    const l = (al - bl) | 0;
    // Borrow out of bit 31, branch-free.
    this.h = (ah - bh - (((~al & bl) | (~(al ^ bl) & l)) >>> 31)) | 0;
    return l;
  }
  /** Rotate right by s, 0 < s < 64. */
  rot(lo: number, hi: number, s: number): number {
    if (s < 32) {
      this.h = (hi >>> s) | (lo << (32 - s));
      return (lo >>> s) | (hi << (32 - s));
    }
    if (s === 32) {
      this.h = lo;
      return hi;
    }
    const t = s - 32;
    this.h = (lo >>> t) | (hi << (32 - t));
    return (hi >>> t) | (lo << (32 - t));
  }
  f32(p: number): number {
    return this.view.getInt32(p, true);
  }

  /** Hash128to64(uint128(u, v)). */
  hash16(ul: number, uh: number, vl: number, vh: number): number {
    let al = this.mul(ul ^ vl, uh ^ vh, KML, KMH);
    const ah = this.h;
    al ^= ah >>> 15;
    let bl = this.mul(vl ^ al, vh ^ ah, KML, KMH);
    const bh = this.h;
    bl ^= bh >>> 15;
    return this.mul(bl, bh, KML, KMH);
  }

  /** ShiftMix(x * k1) * k1 */
  smk1(lo: number, hi: number): number {
    let l = this.mul(lo, hi, K1L, K1H);
    const h = this.h;
    l ^= h >>> 15;
    return this.mul(l, h, K1L, K1H);
  }

  hashLen0to16(s: number, len: number): number {
    const v = this.view;
    if (len > 8) {
      const al = v.getInt32(s, true);
      const ah = v.getInt32(s + 4, true);
      const bl = v.getInt32(s + len - 8, true);
      const bh = v.getInt32(s + len - 4, true);
      let tl = this.add(bl, bh, len, 0);
      tl = this.rot(tl, this.h, len);
      const r = this.hash16(al, ah, tl, this.h);
      this.h ^= bh;
      return r ^ bl;
    }
    if (len >= 4) {
      const a = v.getUint32(s, true);
      const bl = v.getInt32(s + len - 4, true);
      const ul = this.add(a << 3, a >>> 29, len, 0);
      return this.hash16(ul, this.h, bl, 0);
    }
    if (len > 0) {
      const b = this.buf;
      const y = b[s]! + (b[s + (len >> 1)]! << 8);
      const z = len + (b[s + len - 1]! << 2);
      const yl = this.mul(y, 0, K2L, K2H);
      const yh = this.h;
      const zl = this.mul(z, 0, K3L, K3H);
      const zh = this.h;
      let l = yl ^ zl;
      const h = yh ^ zh;
      l ^= h >>> 15;
      return this.mul(l, h, K2L, K2H);
    }
    this.h = K2H;
    return K2L;
  }

  /** CityMurmur(s, len, seed) into the result fields. */
  murmur(s: number, len: number, al: number, ah: number, bl: number, bh: number): void {
    const v = this.view;
    let cl: number, ch: number, dl: number, dh: number;
    let l = len - 16;
    if (l <= 0) {
      al = this.smk1(al, ah);
      ah = this.h;
      const hl = this.hashLen0to16(s, len);
      const hh = this.h;
      cl = this.mul(bl, bh, K1L, K1H);
      cl = this.add(cl, this.h, hl, hh);
      ch = this.h;
      if (len >= 8) dl = this.add(al, ah, v.getInt32(s, true), v.getInt32(s + 4, true));
      else dl = this.add(al, ah, cl, ch);
      dh = this.h;
      dl ^= dh >>> 15;
    } else {
      let tl = this.add(v.getInt32(s + len - 8, true), v.getInt32(s + len - 4, true), K1L, K1H);
      cl = this.hash16(tl, this.h, al, ah);
      ch = this.h;
      const ul = this.add(bl, bh, len, 0);
      const uh = this.h;
      tl = this.add(cl, ch, v.getInt32(s + len - 16, true), v.getInt32(s + len - 12, true));
      dl = this.hash16(ul, uh, tl, this.h);
      dh = this.h;
      al = this.add(al, ah, dl, dh);
      ah = this.h;
      do {
        al ^= this.smk1(v.getInt32(s, true), v.getInt32(s + 4, true));
        ah ^= this.h;
        al = this.mul(al, ah, K1L, K1H);
        ah = this.h;
        bl ^= al;
        bh ^= ah;
        cl ^= this.smk1(v.getInt32(s + 8, true), v.getInt32(s + 12, true));
        ch ^= this.h;
        cl = this.mul(cl, ch, K1L, K1H);
        ch = this.h;
        dl ^= cl;
        dh ^= ch;
        s += 16;
        l -= 16;
      } while (l > 0);
    }
    al = this.hash16(al, ah, cl, ch);
    ah = this.h;
    bl = this.hash16(dl, dh, bl, bh);
    bh = this.h;
    this.rl0 = al ^ bl;
    this.rh0 = ah ^ bh;
    this.rl1 = this.hash16(bl, bh, al, ah);
    this.rh1 = this.h;
  }

  /**
   * WeakHashLen32WithSeeds over the four words at p and seeds a, b:
   * result first in (pl, ph), second in (ql, qh).
   */
  weak(p: number, al: number, ah: number, bl: number, bh: number): void {
    const v = this.view;
    const wl = v.getInt32(p, true);
    const wh = v.getInt32(p + 4, true);
    const zl = v.getInt32(p + 24, true);
    const zh = v.getInt32(p + 28, true);
    al = this.add(al, ah, wl, wh);
    ah = this.h;
    // b = Rotate(b + a + z, 21)
    bl = this.add(bl, bh, al, ah);
    bl = this.add(bl, this.h, zl, zh);
    bh = this.h;
    const sl = bl;
    bl = (sl >>> 21) | (bh << 11);
    bh = (bh >>> 21) | (sl << 11);
    const cl = al;
    const ch = ah;
    al = this.add(al, ah, v.getInt32(p + 8, true), v.getInt32(p + 12, true));
    al = this.add(al, this.h, v.getInt32(p + 16, true), v.getInt32(p + 20, true));
    ah = this.h;
    // b += Rotate(a, 44): rotate right 44 = swap halves then rotate right 12
    const rl = (ah >>> 12) | (al << 20);
    const rh = (al >>> 12) | (ah << 20);
    bl = this.add(bl, bh, rl, rh);
    bh = this.h;
    this.pl = this.add(al, ah, zl, zh);
    this.ph = this.h;
    this.ql = this.add(bl, bh, cl, ch);
    this.qh = this.h;
  }

  /** CityHash128WithSeed(s, len, seed) into the result fields. */
  withSeed(s: number, len: number, xl: number, xh: number, yl: number, yh: number): void {
    if (len < 128) {
      this.murmur(s, len, xl, xh, yl, yh);
      return;
    }
    const v = this.view;
    // z = len * k1
    let zl = this.mul(len, 0, K1L, K1H);
    let zh = this.h;
    // v.first = Rotate(y ^ k1, 49) * k1 + Fetch64(s)
    let t = this.rot(yl ^ K1L, yh ^ K1H, 49);
    t = this.mul(t, this.h, K1L, K1H);
    let v1l = this.add(t, this.h, v.getInt32(s, true), v.getInt32(s + 4, true));
    let v1h = this.h;
    // v.second = Rotate(v.first, 42) * k1 + Fetch64(s + 8)
    t = this.rot(v1l, v1h, 42);
    t = this.mul(t, this.h, K1L, K1H);
    let v2l = this.add(t, this.h, v.getInt32(s + 8, true), v.getInt32(s + 12, true));
    let v2h = this.h;
    // w.first = Rotate(y + z, 35) * k1 + x
    t = this.add(yl, yh, zl, zh);
    t = this.rot(t, this.h, 35);
    t = this.mul(t, this.h, K1L, K1H);
    let w1l = this.add(t, this.h, xl, xh);
    let w1h = this.h;
    // w.second = Rotate(x + Fetch64(s + 88), 53) * k1
    t = this.add(xl, xh, v.getInt32(s + 88, true), v.getInt32(s + 92, true));
    t = this.rot(t, this.h, 53);
    let w2l = this.mul(t, this.h, K1L, K1H);
    let w2h = this.h;

    const blocks = Math.floor(len / 128);
    // The 128-byte loop is inlined by hand (generated from the C++ statement by
    // statement): V8's inlining budget does not stretch to ~40 helper calls.
    let q = 0, gl = 0, gh = 0, al = 0, ah = 0, bl = 0, bh = 0, cl = 0, ch = 0, rl = 0, rh = 0;
    let f0l = 0, f0h = 0, f1l = 0, f1h = 0, f2l = 0, f2h = 0, f3l = 0, f3h = 0;
    let f4l = 0, f4h = 0, f5l = 0, f5h = 0, f6l = 0, f6h = 0, f7l = 0, f7h = 0;
    for (let i = 0; i < blocks; i++) {
      f0l = v.getInt32(s + 0, true); f0h = v.getInt32(s + 4, true);
      f1l = v.getInt32(s + 8, true); f1h = v.getInt32(s + 12, true);
      f2l = v.getInt32(s + 16, true); f2h = v.getInt32(s + 20, true);
      f3l = v.getInt32(s + 24, true); f3h = v.getInt32(s + 28, true);
      f4l = v.getInt32(s + 32, true); f4h = v.getInt32(s + 36, true);
      f5l = v.getInt32(s + 40, true); f5h = v.getInt32(s + 44, true);
      f6l = v.getInt32(s + 48, true); f6h = v.getInt32(s + 52, true);
      f7l = v.getInt32(s + 56, true); f7h = v.getInt32(s + 60, true);
      q = (xl + yl) | 0; gh = (xh + yh + (((xl & yl) | ((xl | yl) & ~q)) >>> 31)) | 0; gl = q;
      q = (gl + v1l) | 0; gh = (gh + v1h + (((gl & v1l) | ((gl | v1l) & ~q)) >>> 31)) | 0; gl = q;
      q = (gl + f2l) | 0; gh = (gh + f2h + (((gl & f2l) | ((gl | f2l) & ~q)) >>> 31)) | 0; gl = q;
      q = (gh >>> 5) | (gl << 27); gh = (gl >>> 5) | (gh << 27); gl = q;
      q = Math.imul(gl, K1L); xh = (((((gl >>> 0) * K1LU - (q >>> 0)) * TWO_M32 + 0.5) | 0) + Math.imul(gh, K1L) + Math.imul(gl, K1H)) | 0; xl = q;
      q = (yl + v2l) | 0; gh = (yh + v2h + (((yl & v2l) | ((yl | v2l) & ~q)) >>> 31)) | 0; gl = q;
      q = (gl + f6l) | 0; gh = (gh + f6h + (((gl & f6l) | ((gl | f6l) & ~q)) >>> 31)) | 0; gl = q;
      q = (gh >>> 10) | (gl << 22); gh = (gl >>> 10) | (gh << 22); gl = q;
      q = Math.imul(gl, K1L); yh = (((((gl >>> 0) * K1LU - (q >>> 0)) * TWO_M32 + 0.5) | 0) + Math.imul(gh, K1L) + Math.imul(gl, K1H)) | 0; yl = q;
      xl = xl ^ w2l; xh = xh ^ w2h;
      yl = yl ^ v1l; yh = yh ^ v1h;
      q = Math.imul(v2l, K1L); ah = (((((v2l >>> 0) * K1LU - (q >>> 0)) * TWO_M32 + 0.5) | 0) + Math.imul(v2h, K1L) + Math.imul(v2l, K1H)) | 0; al = q;
      q = (xl + w1l) | 0; bh = (xh + w1h + (((xl & w1l) | ((xl | w1l) & ~q)) >>> 31)) | 0; bl = q;
      q = (al + f0l) | 0; ah = (ah + f0h + (((al & f0l) | ((al | f0l) & ~q)) >>> 31)) | 0; al = q;
      q = (bl + al) | 0; bh = (bh + ah + (((bl & al) | ((bl | al) & ~q)) >>> 31)) | 0; bl = q;
      q = (bl + f3l) | 0; bh = (bh + f3h + (((bl & f3l) | ((bl | f3l) & ~q)) >>> 31)) | 0; bl = q;
      q = (bl >>> 21) | (bh << 11); bh = (bh >>> 21) | (bl << 11); bl = q;
      cl = al; ch = ah;
      q = (al + f1l) | 0; ah = (ah + f1h + (((al & f1l) | ((al | f1l) & ~q)) >>> 31)) | 0; al = q;
      q = (al + f2l) | 0; ah = (ah + f2h + (((al & f2l) | ((al | f2l) & ~q)) >>> 31)) | 0; al = q;
      q = (ah >>> 12) | (al << 20); rh = (al >>> 12) | (ah << 20); rl = q;
      q = (bl + rl) | 0; bh = (bh + rh + (((bl & rl) | ((bl | rl) & ~q)) >>> 31)) | 0; bl = q;
      q = (al + f3l) | 0; v1h = (ah + f3h + (((al & f3l) | ((al | f3l) & ~q)) >>> 31)) | 0; v1l = q;
      q = (bl + cl) | 0; v2h = (bh + ch + (((bl & cl) | ((bl | cl) & ~q)) >>> 31)) | 0; v2l = q;
      zl = zl ^ w1l; zh = zh ^ w1h;
      q = (zh >>> 1) | (zl << 31); zh = (zl >>> 1) | (zh << 31); zl = q;
      q = (zl + w2l) | 0; ah = (zh + w2h + (((zl & w2l) | ((zl | w2l) & ~q)) >>> 31)) | 0; al = q;
      bl = yl; bh = yh;
      q = (al + f4l) | 0; ah = (ah + f4h + (((al & f4l) | ((al | f4l) & ~q)) >>> 31)) | 0; al = q;
      q = (bl + al) | 0; bh = (bh + ah + (((bl & al) | ((bl | al) & ~q)) >>> 31)) | 0; bl = q;
      q = (bl + f7l) | 0; bh = (bh + f7h + (((bl & f7l) | ((bl | f7l) & ~q)) >>> 31)) | 0; bl = q;
      q = (bl >>> 21) | (bh << 11); bh = (bh >>> 21) | (bl << 11); bl = q;
      cl = al; ch = ah;
      q = (al + f5l) | 0; ah = (ah + f5h + (((al & f5l) | ((al | f5l) & ~q)) >>> 31)) | 0; al = q;
      q = (al + f6l) | 0; ah = (ah + f6h + (((al & f6l) | ((al | f6l) & ~q)) >>> 31)) | 0; al = q;
      q = (ah >>> 12) | (al << 20); rh = (al >>> 12) | (ah << 20); rl = q;
      q = (bl + rl) | 0; bh = (bh + rh + (((bl & rl) | ((bl | rl) & ~q)) >>> 31)) | 0; bl = q;
      q = (al + f7l) | 0; w1h = (ah + f7h + (((al & f7l) | ((al | f7l) & ~q)) >>> 31)) | 0; w1l = q;
      q = (bl + cl) | 0; w2h = (bh + ch + (((bl & cl) | ((bl | cl) & ~q)) >>> 31)) | 0; w2l = q;
      f0l = v.getInt32(s + 64, true); f0h = v.getInt32(s + 68, true);
      f1l = v.getInt32(s + 72, true); f1h = v.getInt32(s + 76, true);
      f2l = v.getInt32(s + 80, true); f2h = v.getInt32(s + 84, true);
      f3l = v.getInt32(s + 88, true); f3h = v.getInt32(s + 92, true);
      f4l = v.getInt32(s + 96, true); f4h = v.getInt32(s + 100, true);
      f5l = v.getInt32(s + 104, true); f5h = v.getInt32(s + 108, true);
      f6l = v.getInt32(s + 112, true); f6h = v.getInt32(s + 116, true);
      f7l = v.getInt32(s + 120, true); f7h = v.getInt32(s + 124, true);
      q = (zl + yl) | 0; gh = (zh + yh + (((zl & yl) | ((zl | yl) & ~q)) >>> 31)) | 0; gl = q;
      q = (gl + v1l) | 0; gh = (gh + v1h + (((gl & v1l) | ((gl | v1l) & ~q)) >>> 31)) | 0; gl = q;
      q = (gl + f2l) | 0; gh = (gh + f2h + (((gl & f2l) | ((gl | f2l) & ~q)) >>> 31)) | 0; gl = q;
      q = (gh >>> 5) | (gl << 27); gh = (gl >>> 5) | (gh << 27); gl = q;
      q = Math.imul(gl, K1L); zh = (((((gl >>> 0) * K1LU - (q >>> 0)) * TWO_M32 + 0.5) | 0) + Math.imul(gh, K1L) + Math.imul(gl, K1H)) | 0; zl = q;
      q = (yl + v2l) | 0; gh = (yh + v2h + (((yl & v2l) | ((yl | v2l) & ~q)) >>> 31)) | 0; gl = q;
      q = (gl + f6l) | 0; gh = (gh + f6h + (((gl & f6l) | ((gl | f6l) & ~q)) >>> 31)) | 0; gl = q;
      q = (gh >>> 10) | (gl << 22); gh = (gl >>> 10) | (gh << 22); gl = q;
      q = Math.imul(gl, K1L); yh = (((((gl >>> 0) * K1LU - (q >>> 0)) * TWO_M32 + 0.5) | 0) + Math.imul(gh, K1L) + Math.imul(gl, K1H)) | 0; yl = q;
      zl = zl ^ w2l; zh = zh ^ w2h;
      yl = yl ^ v1l; yh = yh ^ v1h;
      q = Math.imul(v2l, K1L); ah = (((((v2l >>> 0) * K1LU - (q >>> 0)) * TWO_M32 + 0.5) | 0) + Math.imul(v2h, K1L) + Math.imul(v2l, K1H)) | 0; al = q;
      q = (zl + w1l) | 0; bh = (zh + w1h + (((zl & w1l) | ((zl | w1l) & ~q)) >>> 31)) | 0; bl = q;
      q = (al + f0l) | 0; ah = (ah + f0h + (((al & f0l) | ((al | f0l) & ~q)) >>> 31)) | 0; al = q;
      q = (bl + al) | 0; bh = (bh + ah + (((bl & al) | ((bl | al) & ~q)) >>> 31)) | 0; bl = q;
      q = (bl + f3l) | 0; bh = (bh + f3h + (((bl & f3l) | ((bl | f3l) & ~q)) >>> 31)) | 0; bl = q;
      q = (bl >>> 21) | (bh << 11); bh = (bh >>> 21) | (bl << 11); bl = q;
      cl = al; ch = ah;
      q = (al + f1l) | 0; ah = (ah + f1h + (((al & f1l) | ((al | f1l) & ~q)) >>> 31)) | 0; al = q;
      q = (al + f2l) | 0; ah = (ah + f2h + (((al & f2l) | ((al | f2l) & ~q)) >>> 31)) | 0; al = q;
      q = (ah >>> 12) | (al << 20); rh = (al >>> 12) | (ah << 20); rl = q;
      q = (bl + rl) | 0; bh = (bh + rh + (((bl & rl) | ((bl | rl) & ~q)) >>> 31)) | 0; bl = q;
      q = (al + f3l) | 0; v1h = (ah + f3h + (((al & f3l) | ((al | f3l) & ~q)) >>> 31)) | 0; v1l = q;
      q = (bl + cl) | 0; v2h = (bh + ch + (((bl & cl) | ((bl | cl) & ~q)) >>> 31)) | 0; v2l = q;
      xl = xl ^ w1l; xh = xh ^ w1h;
      q = (xh >>> 1) | (xl << 31); xh = (xl >>> 1) | (xh << 31); xl = q;
      q = (xl + w2l) | 0; ah = (xh + w2h + (((xl & w2l) | ((xl | w2l) & ~q)) >>> 31)) | 0; al = q;
      bl = yl; bh = yh;
      q = (al + f4l) | 0; ah = (ah + f4h + (((al & f4l) | ((al | f4l) & ~q)) >>> 31)) | 0; al = q;
      q = (bl + al) | 0; bh = (bh + ah + (((bl & al) | ((bl | al) & ~q)) >>> 31)) | 0; bl = q;
      q = (bl + f7l) | 0; bh = (bh + f7h + (((bl & f7l) | ((bl | f7l) & ~q)) >>> 31)) | 0; bl = q;
      q = (bl >>> 21) | (bh << 11); bh = (bh >>> 21) | (bl << 11); bl = q;
      cl = al; ch = ah;
      q = (al + f5l) | 0; ah = (ah + f5h + (((al & f5l) | ((al | f5l) & ~q)) >>> 31)) | 0; al = q;
      q = (al + f6l) | 0; ah = (ah + f6h + (((al & f6l) | ((al | f6l) & ~q)) >>> 31)) | 0; al = q;
      q = (ah >>> 12) | (al << 20); rh = (al >>> 12) | (ah << 20); rl = q;
      q = (bl + rl) | 0; bh = (bh + rh + (((bl & rl) | ((bl | rl) & ~q)) >>> 31)) | 0; bl = q;
      q = (al + f7l) | 0; w1h = (ah + f7h + (((al & f7l) | ((al | f7l) & ~q)) >>> 31)) | 0; w1l = q;
      q = (bl + cl) | 0; w2h = (bh + ch + (((bl & cl) | ((bl | cl) & ~q)) >>> 31)) | 0; w2l = q;

      s += 128;
    }
    len -= blocks * 128;

    // y += Rotate(w.first, 37) * k0 + z
    t = this.rot(w1l, w1h, 37);
    t = this.mul(t, this.h, K0L, K0H);
    t = this.add(t, this.h, zl, zh);
    yl = this.add(yl, yh, t, this.h);
    yh = this.h;
    // x += Rotate(v.first + z, 49) * k0
    t = this.add(v1l, v1h, zl, zh);
    t = this.rot(t, this.h, 49);
    t = this.mul(t, this.h, K0L, K0H);
    xl = this.add(xl, xh, t, this.h);
    xh = this.h;
    // Up to 4 chunks of 32 bytes from the end of s.
    for (let done = 0; done < len; ) {
      done += 32;
      // y = Rotate(y - x, 42) * k0 + v.second
      t = this.sub(yl, yh, xl, xh);
      t = this.rot(t, this.h, 42);
      t = this.mul(t, this.h, K0L, K0H);
      yl = this.add(t, this.h, v2l, v2h);
      yh = this.h;
      // w.first += Fetch64(s + len - done + 16)
      const p = s + len - done;
      w1l = this.add(w1l, w1h, v.getInt32(p + 16, true), v.getInt32(p + 20, true));
      w1h = this.h;
      // x = Rotate(x, 49) * k0 + w.first
      t = this.rot(xl, xh, 49);
      t = this.mul(t, this.h, K0L, K0H);
      xl = this.add(t, this.h, w1l, w1h);
      xh = this.h;
      // w.first += v.first
      w1l = this.add(w1l, w1h, v1l, v1h);
      w1h = this.h;
      this.weak(p, v1l, v1h, v2l, v2h);
      v1l = this.pl;
      v1h = this.ph;
      v2l = this.ql;
      v2h = this.qh;
    }
    // x = HashLen16(x, v.first); y = HashLen16(y, w.first)
    xl = this.hash16(xl, xh, v1l, v1h);
    xh = this.h;
    yl = this.hash16(yl, yh, w1l, w1h);
    yh = this.h;
    // lo = HashLen16(x + v.second, w.second) + y
    t = this.add(xl, xh, v2l, v2h);
    t = this.hash16(t, this.h, w2l, w2h);
    this.rl0 = this.add(t, this.h, yl, yh);
    this.rh0 = this.h;
    // hi = HashLen16(x + w.second, y + v.second)
    t = this.add(xl, xh, w2l, w2h);
    const th = this.h;
    const u = this.add(yl, yh, v2l, v2h);
    this.rl1 = this.hash16(t, th, u, this.h);
    this.rh1 = this.h;
  }

  /** CityHash128(buf[start, start + len)). */
  hash(start: number, len: number): void {
    const v = this.view;
    if (len >= 16) {
      this.withSeed(
        start + 16,
        len - 16,
        v.getInt32(start, true) ^ K3L,
        v.getInt32(start + 4, true) ^ K3H,
        v.getInt32(start + 8, true),
        v.getInt32(start + 12, true),
      );
    } else if (len >= 8) {
      // Fetch64(s) ^ (len * k0), Fetch64(s + len - 8) ^ k1
      const ml = this.mul(len, 0, K0L, K0H);
      const mh = this.h;
      this.withSeed(
        start,
        0,
        v.getInt32(start, true) ^ ml,
        v.getInt32(start + 4, true) ^ mh,
        v.getInt32(start + len - 8, true) ^ K1L,
        v.getInt32(start + len - 4, true) ^ K1H,
      );
    } else {
      this.withSeed(start, len, K0L, K0H, K1L, K1H);
    }
  }
}

function run(data: Uint8Array, start: number, end: number): City128 {
  if (!(start >= 0 && end >= start && end <= data.length)) {
    throw new RangeError(`cityHash128: range [${start}, ${end}) outside a ${data.length}-byte buffer`);
  }
  const c = new City128(data);
  c.hash(start, end - start);
  return c;
}

/**
 * CityHash128 (v1.0.2) of data[start, end), written as ClickHouse stores it in a
 * compression frame: low 64 bits little-endian, then high 64 bits little-endian.
 */
export function cityHash128Into(
  data: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  outOffset = 0,
): void {
  const c = run(data, start, end);
  const o = new DataView(out.buffer, out.byteOffset + outOffset, 16);
  o.setInt32(0, c.rl0, true);
  o.setInt32(4, c.rh0, true);
  o.setInt32(8, c.rl1, true);
  o.setInt32(12, c.rh1, true);
}

/** True when the 16 bytes at data[hashOffset] equal CityHash128(data[start, end)). */
export function cityHash128Matches(data: Uint8Array, hashOffset: number, start: number, end: number): boolean {
  const c = run(data, start, end);
  const v = new DataView(data.buffer, data.byteOffset + hashOffset, 16);
  return (
    v.getInt32(0, true) === c.rl0 &&
    v.getInt32(4, true) === c.rh0 &&
    v.getInt32(8, true) === c.rl1 &&
    v.getInt32(12, true) === c.rh1
  );
}

/** CityHash128 (v1.0.2) as two unsigned 64-bit halves (for display and tests). */
export function cityHash128(data: Uint8Array, start = 0, end = data.length): { lo: bigint; hi: bigint } {
  const c = run(data, start, end);
  const u = (l: number, h: number) => (BigInt(h >>> 0) << 32n) | BigInt(l >>> 0);
  return { lo: u(c.rl0, c.rh0), hi: u(c.rl1, c.rh1) };
}
