/**
 * Shared wasm memories ("arenas") holding resident weights. One WebAssembly.Memory is at most 4 GiB
 * (wasm32), so a backend owns a list of arenas and places each weight in the first with room, adding
 * arenas as needed. Weights are bump-allocated from the bottom and never move; the space above them
 * is the per-call I/O region (x, y, per-thread scratch), which a later upload may overwrite (calls
 * are synchronous, so no call is in flight then).
 */
const PAGE = 65536;
export const MAX_MEMORY_BYTES = 65536 * PAGE;

/** v rounded up to a multiple of a (offsets and sizes in the arenas). */
export const align = (v: number, a: number) => Math.ceil(v / a) * a;

export class Arena {
  readonly memory: WebAssembly.Memory;
  /** End of the resident weights (start of the I/O region). */
  top = 1024;

  /** firstOffset: where weights start (tests use > 2 GiB to exercise unsigned pointers). */
  /** shared: false only where SharedArrayBuffer is unavailable (a browser page without cross-origin isolation). */
  constructor(
    readonly maxBytes: number,
    initialBytes = 16 * PAGE,
    firstOffset = 1024,
    shared = true,
  ) {
    const maximum = Math.max(1, Math.floor(maxBytes / PAGE));
    const initial = Math.min(maximum, Math.max(1, Math.ceil(initialBytes / PAGE)));
    this.memory = new WebAssembly.Memory({ initial, maximum, shared });
    this.top = Math.max(1024, firstOffset);
  }

  get capacity(): number {
    return Math.floor(this.maxBytes / PAGE) * PAGE;
  }

  /** The largest I/O region any weight placed here needs: later placements must leave it free too. */
  private reserved = 0;

  /**
   * Byte offsets for the given sizes (each 64-byte aligned), keeping free above them `reserve` bytes and the reserve
   * of every weight placed before (a small weight placed after a wide one must not eat the wide one's I/O room); null
   * if they do not fit.
   */
  alloc(sizes: number[], reserve: number): number[] | null {
    let p = this.top;
    const offs = sizes.map((s) => {
      const o = align(p, 64);
      p = o + s;
      return o;
    });
    const keep = Math.max(reserve, this.reserved);
    if (align(p, 64) + keep > this.capacity) return null;
    this.ensure(p);
    this.top = align(p, 64);
    this.reserved = keep;
    return offs;
  }

  /** Grows the memory to at least `bytes` (with headroom, to avoid a grow on every larger call). */
  ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const want = Math.min(this.capacity, Math.max(bytes, Math.floor(have * 1.25)));
    this.memory.grow(Math.ceil((want - have) / PAGE));
  }

  /** A fresh view (the buffer object changes when the memory grows). */
  f32(off: number, len: number): Float32Array {
    return new Float32Array(this.memory.buffer, off, len);
  }
}
