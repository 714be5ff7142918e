/**
 * ggml's CPU figures on this machine kind, as measured side by side with Glassbox in
 * ../shared/docs/cpu-performance.md B8 (2026-12-02, one quiet run, load ~1.1; ggml 0.21 AVX-512, llamafile sgemm;
 * decode weights streamed from DRAM, > 1.1 GiB of distinct copies per figure; prefill one weight reused).
 * bench/matmul.ts prints each of its rows' ratio to the matching figure. Only the figures B8 reports are here.
 */
export interface GgmlFigure {
  /** ggml's format the row is compared with. */
  format: string;
  /** Decode: milliseconds per call; prefill: GFLOP/s. [1 thread, 2 threads]. */
  ms?: [number, number];
  gflops?: [number, number];
}

/** Key: `${shape}:${glassbox dtype}` with dtype f32 / int8 / int4 / int4s. */
export const GGML: Record<string, GgmlFigure> = {
  '1x4096x11008:f32': { format: 'f32', ms: [6.71, 3.75] },
  '1x4096x11008:int8': { format: 'q8_0', ms: [2.07, 1.23] },
  '1x4096x11008:int4': { format: 'q4_0 repacked 8x8', ms: [1.46, 0.75] },
  '1x4096x11008:int4s': { format: 'q4_0 repacked 8x8', ms: [1.46, 0.75] },
  '1x2048x8192:int8': { format: 'q8_0', ms: [0.84, 0.54] },
  '1x2048x8192:int4': { format: 'q4_0 repacked', ms: [0.53, 0.3] },
  '1x2048x8192:int4s': { format: 'q4_0 repacked', ms: [0.53, 0.3] },
  '1x896x4864:int8': { format: 'q8_0', ms: [0.18, 0.18] },
  '1x896x4864:int4': { format: 'q4_0 repacked', ms: [0.13, 0.09] },
  '1x896x4864:int4s': { format: 'q4_0 repacked', ms: [0.13, 0.09] },
  '128x2048x2048:f32': { format: 'f32', gflops: [93, 181] },
  '128x2048x2048:int8': { format: 'q8_0', gflops: [111, 176] },
  '128x2048x2048:int4': { format: 'q4_0 repacked', gflops: [226, 366] },
  '128x2048x2048:int4s': { format: 'q4_0 repacked', gflops: [226, 366] },
};

/** The read bandwidth B8 measured in the same run (GB/s, 1 and 2 threads). */
export const GGML_RUN_BANDWIDTH_GBS: [number, number] = [28, 51];
