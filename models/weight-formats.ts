/**
 * The weight formats a Model's Linears hold (LayerWeight), re-exported for analysis/: compression and AIRD build and
 * read these values, while analysis never touches a backend or a kernel. Definitions: kernels/types.ts (layouts),
 * kernels/formats.ts (reference dequantize, sizes), kernels/quantize.ts (RTN quantizers).
 */
export type { Bf16Weight, F32Weight, Int4Weight, Int8Weight, LinearWeight } from '../kernels/types.ts';
export { bf16Narrow, bf16Widen, dequantize, weightBytes } from '../kernels/formats.ts';
export { packInt4, quantizeInt4, quantizeInt8 } from '../kernels/quantize.ts';
