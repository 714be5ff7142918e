import { GlassboxError } from '../../engine/errors.ts';

/** Bad arguments to the wasm-simd backend (wrong sizes, foreign handle, weight that cannot be placed). */
export class WasmKernelError extends GlassboxError {}
