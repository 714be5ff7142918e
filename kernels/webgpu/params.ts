/**
 * The parameter block every resident WGSL shader declares: 12 u32 then 4 f32 (64 bytes). A file of its own so the
 * shaders (ops.ts, linear.ts) do not import runtime.ts, whose device comes from gpu.js: a page bundling the model
 * code then loads gpu.js only when it opens a webgpu backend.
 */
export const PARAMS_WGSL = `struct P { a: u32, b: u32, c: u32, d: u32, e: u32, f: u32, g: u32, h: u32, i: u32, j: u32, k: u32, l: u32,
  x: f32, y: f32, z: f32, w: f32 }
@group(0) @binding(0) var<uniform> p: P;`;
