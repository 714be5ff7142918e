/** `glassbox inspect <model-dir> [--json] [--tensors]`: what a model folder holds and what running it takes. */
import type { Command } from 'commander';
import { inspectModel, type InspectReport } from '../../engine/inspect.ts';
import { describeAdapter, webgpuAdapter } from '../../kernels/gpujs/webgpu.ts';
import { resolveBackendName } from '../../kernels/select.ts';
import { formatBytes, formatCount, printResult, table } from '../output.ts';

export type InspectResult = InspectReport & {
  backend: string;
  /** The WebGPU adapter a webgpu run would use ("none" without one), and whether it is software (never auto-chosen). */
  webgpuAdapter: string;
};

export function register(program: Command): void {
  program
    .command('inspect')
    .description('show a model folder: architecture, parameters, dtypes, size on disk, memory estimates, tokenizer, quantization')
    .argument('<model-dir>', 'Hugging Face model folder (config.json + safetensors)')
    .option('--json', 'print one JSON object on stdout')
    .option('--tensors', 'also list every tensor (name, dtype, shape, bytes, file)')
    .action(async (dir: string, opts: { json?: boolean; tensors?: boolean }) => {
      const report = inspectModel(dir, { tensors: opts.tensors ?? false });
      // The backend a run would pick now (env override, else a hardware GPU, else the best CPU kernels).
      const backend = await resolveBackendName();
      const result: InspectResult = { ...report, backend, webgpuAdapter: describeAdapter(await webgpuAdapter()) };
      printResult(result, opts.json ?? false, formatInspect);
    });
}

export function formatInspect(r: InspectResult): string {
  const rope = r.rope
    ? `theta ${r.rope.theta}, scaling ${r.rope.scaling.type}${'factor' in r.rope.scaling ? ` x${r.rope.scaling.factor}` : ''}`
    : 'none (learned positions)';
  const q = r.quantization;
  const quant = q
    ? `${q.method} ${q.bits}-bit, group ${q.groupSize === -1 ? 'K (per channel)' : q.groupSize}, ${q.sym ? 'symmetric' : 'asymmetric'}` +
      `${q.descAct ? ', act-order' : ''}${q.checkpointFormat ? `, format ${q.checkpointFormat}` : ''}` +
      `${q.notConverted.length ? `; not converted: ${q.notConverted.join(', ')}` : ''}`
    : 'none';
  const dtypes = Object.entries(r.dtypes)
    .map(([d, v]) => `${d} x${v.tensors} (${formatBytes(v.bytes)})`)
    .join(', ');
  const rows = [
    ['model', `${r.dir}`],
    ['family', `${r.family} (${r.architectures.join(', ') || r.modelType})`],
    ['layers', `${r.layers}`],
    ['d_model', `${r.dModel}`],
    ['heads', `${r.heads} query / ${r.kvHeads} kv, head_dim ${r.headDim}`],
    ['d_mlp', `${r.dMlp}`],
    ['vocab', `${r.vocabSize}`],
    ['max positions', `${r.maxPositions}${r.slidingWindow ? `, sliding window ${r.slidingWindow}` : ''}`],
    ['embeddings', r.tiedEmbeddings ? 'tied (no separate lm_head)' : 'untied (lm_head stored)'],
    ['norm / act', `${r.norm === 'rms' ? 'RMSNorm' : 'LayerNorm'} / ${r.act}`],
    ['rope', rope],
    ['parameters', formatCount(r.parameters)],
    ['tensors', `${r.tensorCount}: ${dtypes}`],
    ['on disk', `${formatBytes(r.bytesOnDisk)} (${r.weightFiles.join(', ')})`],
    [
      'memory (est.)',
      `f32 ${formatBytes(r.memory.f32)}, int8 ${formatBytes(r.memory.int8)}, int4 ${formatBytes(r.memory.int4)}; KV cache ${formatBytes(r.memory.kvCacheBytesPerToken)}/token`,
    ],
    ['tokenizer', r.tokenizer ? `yes, chat template ${r.chatTemplate ? 'yes' : 'no'}` : 'none (ids only)'],
    ['quantization', quant],
    ['backend', r.backend],
    ['webgpu adapter', r.webgpuAdapter],
  ];
  let out = table(rows);
  if (r.tensors) {
    out +=
      '\n\n' +
      table(
        r.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, formatBytes(t.bytes), t.file]),
        ['tensor', 'dtype', 'shape', 'bytes', 'file'],
      );
  }
  return out;
}
