/**
 * Output arrays reused across forward steps. At decode every op of a step returns a small fresh Float32Array
 * (~125 per tiny-chat token). Node's allocator shrugs at that; a browser worker's does not (about 18× dearer per
 * byte, docs/app.md), and the tab's decode spent much of its time there. A step that nobody can observe from
 * outside (no hooks: a hook may keep the array it is shown) draws its intermediates from a StepScope; closing the
 * scope after the step hands them back for the next one.
 *
 * Concurrency: two forward calls of one model may interleave at their awaits. Each scope owns the arrays it lent
 * until it closes, so two open scopes never share one; only the free list is common.
 */

/** Reuse is for small steps: a scope holds all of a step's intermediates until it closes (GC frees them earlier). */
export const MAX_SCOPE_BYTES = 32 * 1024 * 1024;

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

  /**
   * Returns a closed scope's arrays. Lengths the scope did not ask for are dropped from the free list, so what it
   * keeps is bounded by one step's worth (prefill lengths differ from call to call; decode's repeat).
   */
  giveBack(lent: Float32Array[]): void {
    const next = new Map<number, Float32Array[]>();
    for (const a of lent) {
      let list = next.get(a.length);
      if (!list) {
        list = this.free.get(a.length) ?? [];
        next.set(a.length, list);
      }
      list.push(a);
    }
    this.free = next;
  }
}

export class StepScope {
  private lent: Float32Array[] = [];
  private closed = false;

  constructor(private readonly owner: StepBuffers) {}

  /** An array of length n whose contents are unspecified (ops overwrite every element: kernels/types.ts `out`). */
  f32(n: number): Float32Array {
    if (this.closed) throw new Error('StepScope: used after close');
    const a = this.owner.take(n) ?? new Float32Array(n);
    this.lent.push(a);
    return a;
  }

  /** Ends the step. `keep` (e.g. logits returned to the caller) stays the caller's and is never reused. */
  close(keep: readonly Float32Array[] = []): void {
    if (this.closed) return;
    this.closed = true;
    const kept = new Set(keep.map((a) => a.buffer));
    this.owner.giveBack(this.lent.filter((a) => !kept.has(a.buffer)));
    this.lent = [];
  }
}
