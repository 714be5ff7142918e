/**
 * Output arrays reused across layers and forward steps. Every op returns a fresh Float32Array otherwise, and fresh
 * memory is dear: a browser worker pays ~18× Node's cost per byte at decode (docs/app.md), and on this VM a fresh
 * large array costs ~14 ns per float in page faults when first written (a 1280-row prefill spent more time there
 * than in its matmuls). A step whose arrays nobody outside can keep (no hook without a declared op: a hook may keep
 * the array it is shown) draws its intermediates from a StepScope; the decoder hands a block's arrays back once the
 * next block has run, and closing the scope hands back the rest.
 *
 * Concurrency: two forward calls of one model may interleave at their awaits. Each scope owns the arrays it lent
 * until it closes, so two open scopes never share one; only the free list is common.
 */

/**
 * Largest per-layer working set a scope takes on: the decoder hands each block's intermediates back when the next
 * block is done (releaseSince), so a scope holds about two blocks' worth, and the pool keeps that much between calls.
 */
export const MAX_SCOPE_BYTES = 256 * 1024 * 1024;

export class StepBuffers {
  private free = new Map<number, Float32Array[]>();
  /** Arrays handed out, and how many of them were reused rather than allocated (tests and profiles read these). */
  readonly stats = { lent: 0, reused: 0 };

  /** A scope for one step, or null when the step's intermediates (estimated by the caller) are too big to hold. */
  open(estimatedBytes: number): StepScope | null {
    return estimatedBytes <= MAX_SCOPE_BYTES ? new StepScope(this) : null;
  }

  /** Takes a free array of length n, if any. */
  take(n: number): Float32Array | undefined {
    const a = this.free.get(n)?.pop();
    this.stats.lent++;
    if (a) this.stats.reused++;
    return a;
  }

  /** Returns one dead array to the free list. */
  put(a: Float32Array): void {
    const list = this.free.get(a.length);
    if (list) list.push(a);
    else this.free.set(a.length, [a]);
  }

  /**
   * Returns a closed scope's arrays. Lengths the scope did not ask for are dropped from the free list, so what it
   * keeps is bounded by one step's worth (prefill lengths differ from call to call; decode's repeat).
   */
  giveBack(lent: Float32Array[], asked: ReadonlySet<number>): void {
    for (const n of [...this.free.keys()]) if (!asked.has(n)) this.free.delete(n);
    for (const a of lent) this.put(a);
  }
}

export class StepScope {
  private lent: Float32Array[] = [];
  private readonly asked = new Set<number>();
  private closed = false;

  constructor(private readonly owner: StepBuffers) {}

  /** An array of length n whose contents are unspecified (ops overwrite every element: kernels/types.ts `out`). */
  f32(n: number): Float32Array {
    if (this.closed) throw new Error('StepScope: used after close');
    const a = this.owner.take(n) ?? new Float32Array(n);
    this.lent.push(a);
    this.asked.add(n);
    return a;
  }

  /** Position in the lent list: releaseSince(mark) hands back what was lent after it. */
  mark(): number {
    return this.lent.length;
  }

  /** Hands back, for reuse now, every array lent since `mark` except `keep` (which stays lent). */
  releaseSince(mark: number, keep: readonly Float32Array[] = []): void {
    const kept = new Set(keep.map((a) => a.buffer));
    const done = this.lent.splice(mark);
    for (const a of done) {
      if (kept.has(a.buffer)) this.lent.push(a);
      else this.owner.put(a);
    }
  }

  /** Hands back one array this scope lent (the caller knows it is dead). */
  release(a: Float32Array): void {
    const i = this.lent.indexOf(a);
    if (i < 0) return;
    this.lent.splice(i, 1);
    this.owner.put(a);
  }

  /** Ends the step. `keep` (e.g. logits returned to the caller) stays the caller's and is never reused. */
  close(keep: readonly Float32Array[] = []): void {
    if (this.closed) return;
    this.closed = true;
    const kept = new Set(keep.map((a) => a.buffer));
    this.owner.giveBack(
      this.lent.filter((a) => !kept.has(a.buffer)),
      this.asked,
    );
    this.lent = [];
  }
}
