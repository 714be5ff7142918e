/**
 * Arena placement keeps every placed weight's I/O room: a weight with a small reserve placed after one with a large
 * reserve must not take the large one's room (a study on a 0.5B model filled an arena that way and its gate|up matmul
 * then had "no room for activations").
 */
import { describe, expect, it } from 'vitest';
import { Arena } from '../kernels/wasm/memory.ts';

const PAGE = 65536;

describe('Arena.alloc reserves', () => {
  it('a later, smaller reserve cannot eat an earlier, larger one', () => {
    const a = new Arena(4 * PAGE, PAGE, 1024, false);
    // Weight A: 64 KiB with 2 pages of I/O room above it.
    const wa = a.alloc([PAGE], 2 * PAGE);
    expect(wa).not.toBeNull();
    // Weight B: 64 KiB asking for almost nothing. Before the fix it fit (A's room shrank below 2 pages); now it does not.
    expect(a.alloc([PAGE], 64)).toBeNull();
    expect(a.capacity - a.top).toBeGreaterThanOrEqual(2 * PAGE);
    // A small weight still fits as long as A's room stays free.
    expect(a.alloc([PAGE / 2], 64)).not.toBeNull();
    expect(a.capacity - a.top).toBeGreaterThanOrEqual(2 * PAGE);
  });

  it('a larger reserve than any before is checked and kept', () => {
    const a = new Arena(4 * PAGE, PAGE, 1024, false);
    expect(a.alloc([PAGE], 64)).not.toBeNull();
    expect(a.alloc([PAGE], 3 * PAGE)).toBeNull();
    expect(a.alloc([PAGE / 4], 2 * PAGE)).not.toBeNull();
    expect(a.alloc([PAGE / 4], 0)).not.toBeNull();
    expect(a.capacity - a.top).toBeGreaterThanOrEqual(2 * PAGE);
  });
});
