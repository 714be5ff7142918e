/**
 * The relaxed-SIMD kernels (relaxed.wat, assembled with matmul.wat as "matmul-relaxed"): loaded only when asked
 * for, and trusted only after a known-answer test of the one relaxed instruction they use, as XNNPACK does.
 * Relaxed SIMD lets an engine pick the faster of several results per instruction (here: pmaddubsw's saturation
 * and operand signedness), so the test runs the exact operand ranges the kernel feeds it. On Node 20 the
 * feature sits behind --experimental-wasm-relaxed-simd: we set that V8 flag at run time (before compiling the
 * module; V8 reads wasm feature flags at compile time), only when the plain compile fails.
 */
import { setFlagsFromString } from 'node:v8';
import { loadKernelModule } from './assemble.ts';

export interface RelaxedKernels {
  /** The combined module (every baseline kernel plus i4q_mv), or null when unusable. */
  module: WebAssembly.Module | null;
  /** Why not (compile error or the self-test's first mismatch); null when usable. */
  reason: string | null;
}

/** pmaddubsw-style pairwise dot, i16 result with the exact (unsaturated) sum: the reference for the probe. */
function exactPairDots(a: Int8Array, b: Int8Array): number[] {
  const out: number[] = [];
  for (let l = 0; l < 8; l++) out.push(a[2 * l] * b[2 * l] + a[2 * l + 1] * b[2 * l + 1]);
  return out;
}

/** Operand pairs the kernel produces (a: activations in [-127, 127]; b: nibbles in [0, 15]) plus the extremes. */
export function probeCases(): Array<[Int8Array, Int8Array]> {
  const cases: Array<[Int8Array, Int8Array]> = [];
  const fill = (fa: (i: number) => number, fb: (i: number) => number) =>
    cases.push([Int8Array.from({ length: 16 }, (_, i) => fa(i)), Int8Array.from({ length: 16 }, (_, i) => fb(i))]);
  fill(
    () => -127,
    () => 15,
  );
  fill(
    () => 127,
    () => 15,
  );
  fill(
    (i) => (i & 1 ? 127 : -127),
    (i) => i,
  );
  fill(
    () => -128,
    () => 127,
  ); // the instruction's own extremes: 2 * -128 * 127 fits i16
  fill(
    () => 127,
    () => 127,
  );
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 2 ** 24;
  for (let t = 0; t < 64; t++)
    fill(
      () => Math.floor(rnd() * 255) - 127,
      () => Math.floor(rnd() * 16),
    );
  return cases;
}

/** Checks a pairwise-dot implementation on every probe case; returns the first mismatch as text, or null. */
export function checkPairDots(run: (a: Int8Array, b: Int8Array) => ArrayLike<number>): string | null {
  for (const [a, b] of probeCases()) {
    const got = run(a, b);
    const want = exactPairDots(a, b);
    for (let l = 0; l < 8; l++)
      if (got[l] !== want[l]) return `i16x8.relaxed_dot_i8x16_i7x16_s gave ${got[l]} for lane ${l} of a=[${a}] b=[${b}] (exact ${want[l]})`;
  }
  return null;
}

/** The known-answer test of the module's relaxed_probe export. */
export function relaxedDotSelfTest(module: WebAssembly.Module): string | null {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  const probe = (new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, (...a: number[]) => void>).relaxed_probe;
  const bytes = new Int8Array(memory.buffer);
  const out = new Int16Array(memory.buffer, 64, 8);
  return checkPairDots((a, b) => {
    bytes.set(a, 0);
    bytes.set(b, 16);
    probe(0, 16, 64);
    return Array.from(out);
  });
}

let loaded: RelaxedKernels | null = null;

/** The relaxed kernels if this engine compiles them and they pass the self-test (cached per process). */
export function loadRelaxedKernels(test: (m: WebAssembly.Module) => string | null = relaxedDotSelfTest): RelaxedKernels {
  if (loaded && test === relaxedDotSelfTest) return loaded;
  let module: WebAssembly.Module;
  try {
    try {
      module = loadKernelModule('matmul-relaxed');
    } catch (e) {
      if ((e as Error).name !== 'CompileError') throw e;
      setFlagsFromString('--experimental-wasm-relaxed-simd');
      module = loadKernelModule('matmul-relaxed');
    }
  } catch (e) {
    return { module: null, reason: `relaxed SIMD unavailable: ${(e as Error).message.split('\n')[0]}` };
  }
  const failure = test(module);
  const result = failure ? { module: null, reason: `relaxed SIMD self-test failed: ${failure}` } : { module, reason: null };
  if (test === relaxedDotSelfTest) loaded = result;
  return result;
}
