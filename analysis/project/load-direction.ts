/**
 * Reads a direction vector for the projection views (Node only).
 *   loadDirectionVector(source, tensor?): { r, source, tensor }
 *     source: a `glassbox direction` folder, its direction.safetensors, or any safetensors file holding a 1-D f32/f16/bf16
 *     vector (the tensor named `tensor`, else `direction`, else the file's only tensor).
 */
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { openSafetensors } from '../../engine/safetensors-reader.ts';
import { DIRECTION_FILE, DIRECTION_TENSOR } from '../direction/direction-io.ts';

export function loadDirectionVector(source: string, tensor?: string): { r: Float32Array; file: string; tensor: string } {
  const isDir = fs.existsSync(source) && fs.statSync(source).isDirectory();
  const file = isDir ? path.join(source, DIRECTION_FILE) : source;
  if (!fs.existsSync(file)) throw new UsageError(`${file}: no such direction file (give a direction folder or a .safetensors vector)`);
  const st = openSafetensors(file);
  try {
    const names = st.tensors.map((t) => t.name);
    const name = tensor ?? (st.has(DIRECTION_TENSOR) ? DIRECTION_TENSOR : names.length === 1 ? names[0] : undefined);
    const some = names.slice(0, 5).join(', ');
    if (name === undefined) throw new UsageError(`${file}: ${names.length} tensors, none named "${DIRECTION_TENSOR}"; name one (${some})`);
    if (!st.has(name)) throw new UsageError(`${file}: no tensor "${name}"`);
    const shape = st.info(name).shape;
    if (shape.filter((s) => s !== 1).length > 1)
      throw new UsageError(`${file}: tensor "${name}" has shape [${shape}], want a vector [d_model]`);
    const r = st.readF32(name);
    for (let i = 0; i < r.length; i++)
      if (!Number.isFinite(r[i])) throw new UsageError(`${file}: tensor "${name}" holds ${r[i]} at index ${i}`);
    return { r, file, tensor: name };
  } finally {
    st.close();
  }
}
