/**
 * Saves a compressed Model as an HF-style folder Glassbox loads back: config.json (+ glassbox
 * quantization_config when any block linear is quantized), tokenizer/generation files copied, and
 * model.safetensors holding each block linear in the Glassbox packed format (engine/glassbox-format.ts: int8,
 * int4, LLM.int8() mixed) or dense f32 with its zeros (pruned), each block norm as the model holds it (AWQ
 * folds its scales into them) in F32, and the original folder's other tensors (embeddings, final norm) as
 * they were: compression leaves those alone.
 */
import { copyFolderFile, folderFileNames } from '../../engine/folder-files.ts';
import path from 'node:path';
import { UsageError } from '../../engine/errors.ts';
import { glassboxQuantizationConfig, linearToTensors } from '../../engine/glassbox-format.ts';
import { openModelFolder, WEIGHT_FILES } from '../../engine/model-folder.ts';
import { writeCheckpoint, type TensorToWrite } from '../../engine/safetensors-writer.ts';
import type { DType } from '../../engine/types.ts';
import type { LinearRole, Model, NormWhich } from '../../models/types.ts';
import { linearRoles } from '../compress/apply.ts';
import { writeJson } from '../direction/direction-io.ts';

export function saveCompressedModel(srcDir: string, model: Model, outDir: string): { files: string[] } {
  const folder = openModelFolder(srcDir);
  try {
    if (folder.config.capabilities.fusedQkv)
      throw new UsageError(`${srcDir}: saving compressed ${folder.config.modelType} models (fused c_attn) is not supported`);
    const roles = linearRoles(model);
    const modules = new Map<string, { layer: number; role: LinearRole }>();
    folder.names.layers.forEach((ln, layer) => {
      for (const role of roles) {
        const m = ln[role];
        if (m) modules.set(m, { layer, role });
      }
    });
    const norms = new Map<string, { layer: number; which: NormWhich }>();
    folder.names.layers.forEach((ln, layer) => {
      norms.set(ln.attnNorm, { layer, which: 'attn' });
      norms.set(ln.mlpNorm, { layer, which: 'mlp' });
    });
    const moduleOf = (name: string) => name.slice(0, name.lastIndexOf('.'));
    const tensors: TensorToWrite[] = [];
    for (const name of folder.weights.names()) {
      if (modules.has(moduleOf(name)) || norms.has(moduleOf(name))) continue;
      const info = folder.weights.info(name);
      tensors.push({ name, dtype: info.dtype, shape: info.shape, data: () => folder.weights.readRaw(name) });
    }
    const formats = new Set<string>();
    let quant: { bits: number; groupSize: number; sym: boolean } | null = null;
    for (const [module, { layer, role }] of modules) {
      const lin = model.getLinear(layer, role);
      const w = lin.weight;
      formats.add(w.format);
      if (w.format !== 'f32' && w.format !== 'bf16' && !quant) {
        const q = w.format === 'mixed' ? w.main : w.format === 'w8a8' ? w.weight : w;
        quant = { bits: q.format === 'int8' ? 8 : 4, groupSize: q.groupSize, sym: q.format === 'int8' || q.zeros === null };
      }
      tensors.push(...linearToTensors(module, w).map((t) => ({ ...t, dtype: t.dtype as DType })));
      if (lin.bias) tensors.push({ name: `${module}.bias`, dtype: 'F32', shape: [lin.bias.length], data: lin.bias });
    }
    for (const [module, { layer, which }] of norms) {
      const nw = model.getNorm(layer, which);
      tensors.push({ name: `${module}.weight`, dtype: 'F32', shape: [nw.w.length], data: nw.w });
      if (nw.b) tensors.push({ name: `${module}.bias`, dtype: 'F32', shape: [nw.b.length], data: nw.b });
    }
    const ck = writeCheckpoint(outDir, tensors, { sourceDir: srcDir, metadata: { format: 'pt', producer: 'glassbox study' } });
    const config = { ...folder.config.raw } as Record<string, unknown>;
    delete config.quantization_config;
    if (quant) config.quantization_config = glassboxQuantizationConfig(quant.bits, quant.groupSize, quant.sym);
    writeJson(path.join(outDir, 'config.json'), config);
    const copied: string[] = [];
    // Symlinks are resolved and must stay inside the source (or its hub cache's blobs/): engine/folder-files.ts.
    for (const f of folderFileNames(srcDir)) {
      if (f === 'config.json' || (WEIGHT_FILES as readonly string[]).includes(f) || f.endsWith('.safetensors')) continue;
      copyFolderFile(srcDir, f, outDir);
      copied.push(path.join(outDir, f));
    }
    return { files: [...ck.files, path.join(outDir, 'config.json'), ...copied] };
  } finally {
    folder.close();
  }
}
