/**
 * Per-layer, per-row key/value cache: slots [capacity, nKvHeads, headDim]. Every row of a batch shares
 * the same slot layout (left padding makes the rows advance in lockstep), so one `length` serves all.
 */
export interface KvCacheShape {
  nLayers: number;
  /** Sequences (rows) in the batch. */
  batch: number;
  capacity: number;
  nKvHeads: number;
  headDim: number;
}

export class KvCache {
  readonly k: Float32Array[][]; // [layer][row]
  readonly v: Float32Array[][];
  /** keyValid per row over the slots, [capacity]. */
  readonly valid: Uint8Array[];
  length = 0;
  private readonly rowWidth: number;

  readonly batch: number;
  /** Slots per sequence: prompt length + new tokens. */
  readonly capacity: number;

  constructor(shape: KvCacheShape) {
    const { nLayers, batch, capacity, nKvHeads, headDim } = shape;
    this.batch = batch;
    this.capacity = capacity;
    this.rowWidth = nKvHeads * headDim;
    const make = () =>
      Array.from({ length: nLayers }, () => Array.from({ length: batch }, () => new Float32Array(capacity * this.rowWidth)));
    this.k = make();
    this.v = make();
    this.valid = Array.from({ length: batch }, () => new Uint8Array(capacity));
  }

  /** Marks the next `t` slots of every row valid or not (before the layers run). */
  appendMask(rowsValid: Uint8Array[], t: number): void {
    if (this.length + t > this.capacity) throw new RangeError(`KV cache full: ${this.length} + ${t} > ${this.capacity}`);
    for (let b = 0; b < this.batch; b++) this.valid[b].set(rowsValid[b].subarray(0, t), this.length);
  }

  /** Writes layer l's new keys/values of row b ([t, nKv*hd]) at the slots after `length`. */
  write(l: number, b: number, k: Float32Array, v: Float32Array): void {
    this.k[l][b].set(k, this.length * this.rowWidth);
    this.v[l][b].set(v, this.length * this.rowWidth);
  }

  /** Views of row b's keys/values/mask over the first `s` slots. */
  view(l: number, b: number, s: number): { k: Float32Array; v: Float32Array; valid: Uint8Array } {
    return {
      k: this.k[l][b].subarray(0, s * this.rowWidth),
      v: this.v[l][b].subarray(0, s * this.rowWidth),
      valid: this.valid[b].subarray(0, s),
    };
  }

  advance(t: number): void {
    this.length += t;
  }
}
