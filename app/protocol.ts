/** Messages between the page (app/client.ts) and the engine worker (app/worker.ts). Plain data only. */

export type ModelSource = { kind: 'url'; base: string } | { kind: 'files'; label: string; files: Array<{ name: string; file: Blob }> };

export interface OpenArgs {
  source: ModelSource;
  /** Kernel threads (default: 1, or up to 4 when the page is cross-origin isolated). */
  threads?: number;
  /**
   * 'wasm-simd' (default), 'webgpu' (the browser's navigator.gpu: the whole model resident on the device,
   * models/resident.ts, one submit per decode step) or 'reference' (plain TS).
   */
  backend?: 'wasm-simd' | 'webgpu' | 'reference';
  /** Int32 flag the page sets to stop a generation (SharedArrayBuffer, cross-origin-isolated pages only). */
  stopFlag?: SharedArrayBuffer;
  /** Time every backend op (kernels/profile.ts); `generate` then returns the per-op times (bench:browser --profile). */
  profile?: boolean;
}

export interface ModelInfo {
  label: string;
  family: string;
  nLayers: number;
  dModel: number;
  nHeads: number;
  vocabSize: number;
  hasChatTemplate: boolean;
  backend: string;
  /** webgpu: the model runs resident on the device (models/resident.ts), not op by op. */
  resident: boolean;
  threads: number;
  crossOriginIsolated: boolean;
  loadMs: number;
}

/** Which model a request runs on: the loaded one, or the compressed copy made by `compress`. */
export type ModelChoice = 'original' | 'compressed';

export interface Addition {
  direction: number[];
  coeff: number;
  layer: number;
  promptOnly?: boolean;
}

export interface PromptArgs {
  prompt?: string;
  /** Token ids instead of a prompt. */
  ids?: number[];
  /** Wrap the prompt in the chat template (default true when the model has one). */
  chat?: boolean;
  model?: ModelChoice;
  /** Ablate this direction (any norm) at every layer and position, as `eval --ablate`. */
  ablate?: number[] | null;
  add?: Addition | null;
}

export interface GenerateArgs extends PromptArgs {
  maxTokens?: number;
  /** Do not stop at end-of-sequence tokens (benchmarks decode a fixed number of tokens). */
  ignoreEos?: boolean;
}

export interface GenerateOutput {
  promptIds: number[];
  ids: number[];
  text: string;
  finish: 'stop' | 'length';
  tokensPerSecond: number;
  prefillMs: number;
  decodeMs: number;
  /** With `profile` at open: wall time per backend op during this generation (ms, calls). */
  ops?: Record<string, { calls: number; ms: number }>;
  /** webgpu (resident): GPU command submits and compute dispatches this generation made. */
  gpu?: { submits: number; dispatches: number };
}

export interface TraceArgs extends PromptArgs {
  /** Hook point names or globs (`blocks.*.hook_resid_pre`). */
  hooks: string[];
  /** Positions to keep (negative from the end; default all). */
  positions?: number[];
}

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

export interface TraceOutput {
  promptIds: number[];
  /** The prompt's tokens as text, one per id. */
  tokens: string[];
  activations: Record<string, Tensor>;
  /** Logits at the last position [vocab]. */
  lastLogits: Float32Array;
}

export interface DirectionArgs {
  harmful: string[];
  harmless: string[];
  layer: number;
  /** Post-instruction position, from the end (default -1). */
  position?: number;
}

export interface DirectionsArgs {
  harmful: string[];
  harmless: string[];
  position?: number;
  chat?: boolean;
  model?: ModelChoice;
}

export type LensArgs = PromptArgs;

export interface LensOutput {
  promptIds: number[];
  tokens: string[];
  /** Row labels: `L{l} resid_pre` for each block's input (L0 = the embeddings), then `output`. */
  rows: string[];
  /** [row][position]: the top token of the lens there and its probability. */
  layers: Array<Array<{ id: number; token: string; prob: number }>>;
}

export interface CompressArgs {
  /** A `--methods` name: int8, int4-g128, wanda-50, ... */
  method: string;
  calibration?: string[];
}

export interface CompressOutput {
  method: string;
  bitsPerWeight: number;
  sparsity: number;
  seconds: number;
}

/** A patching metric: token ids, or text whose first token is meant (the CLI's --answer / --wrong). */
export type PatchMetricArgs =
  | { kind: 'logit-diff'; answer: number | string; wrong: number | string }
  /** refusalTokens default: the first tokens of "I" and "As" (the CLI's default). */
  | { kind: 'refusal-score'; refusalTokens?: Array<number | string> };

interface PatchPrompts {
  /** The clean prompt (patched from). */
  clean?: string;
  /** The corrupted prompt (patched into): same number of tokens as the clean one. */
  corrupted?: string;
  cleanIds?: number[];
  corruptedIds?: number[];
  /** Wrap both prompts in the chat template (default true when the model has one). */
  chat?: boolean;
  model?: ModelChoice;
  metric: PatchMetricArgs;
}

/** Activation patching (analysis/patch activationPatching): the heatmaps of the metric after each single patch. */
export interface PatchArgs extends PatchPrompts {
  /** Default: every site (resid_pre, attn_out, mlp_out, heads). */
  sites?: Array<'resid_pre' | 'attn_out' | 'mlp_out' | 'heads'>;
  batchSize?: number;
}

/** analysis/patch's PatchResult, as plain data. */
export interface PatchOutput {
  metric: string;
  clean: number;
  corrupted: number;
  resid_pre: number[][];
  attn_out: number[];
  mlp_out: number[];
  heads: number[][];
  tokens: { clean: string[]; corrupted: string[] };
  forwards: number;
  cleanIds: number[];
  corruptedIds: number[];
}

/** One patch (clean → corrupted at one hook point), then greedy generation without and with it. */
export interface PatchGenerateArgs extends PatchPrompts {
  site: 'resid_pre' | 'attn_out' | 'mlp_out' | 'heads';
  layer: number;
  /** resid_pre: the position (negative from the end; omitted: every position). */
  pos?: number;
  /** heads: the head. */
  head?: number;
  maxTokens?: number;
}

export interface PatchGenerateOutput {
  hook: string;
  patch: { site: string; layer: number; pos?: number; head?: number };
  metric: string;
  /** The metric at the last prompt position: corrupted, clean, corrupted with the patch (= the heatmap's cell). */
  corruptedMetric: number;
  cleanMetric: number;
  patchedMetric: number;
  before: { ids: number[]; text: string };
  after: { ids: number[]; text: string };
  tokens: { clean: string[]; corrupted: string[] };
}

export type Request =
  | { id: number; op: 'open'; args: OpenArgs }
  | { id: number; op: 'generate'; args: GenerateArgs }
  | { id: number; op: 'trace'; args: TraceArgs }
  | { id: number; op: 'direction'; args: DirectionArgs }
  | { id: number; op: 'directions'; args: DirectionsArgs }
  | { id: number; op: 'lens'; args: LensArgs }
  | { id: number; op: 'compress'; args: CompressArgs }
  | { id: number; op: 'patch'; args: PatchArgs }
  | { id: number; op: 'patchGenerate'; args: PatchGenerateArgs }
  | { id: number; op: 'decode'; args: { ids: number[] } }
  | { id: number; op: 'abort' };

export type Reply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: string; errorName: string }
  /** text: the decoded continuation so far, sent at most every 50 ms (undefined in between). */
  | { id: number; event: 'token'; token: number; text?: string; step: number }
  | { id: number; event: 'progress'; message: string };

/** `window.glassbox`: the page's engine, scriptable (tests, bench:browser, users' own scripts). */
export interface GlassboxApi {
  /** Resolves with the model's facts once the default (or URL-given) model is loaded. */
  ready: Promise<ModelInfo>;
  info: ModelInfo | null;
  open(source: ModelSource, opts?: Omit<OpenArgs, 'source'>): Promise<ModelInfo>;
  generate(args: GenerateArgs, onToken?: (t: { token: number; text?: string; step: number }) => void): Promise<GenerateOutput>;
  trace(args: TraceArgs): Promise<TraceOutput>;
  direction(args: DirectionArgs): Promise<number[]>;
  /** Every layer's direction [nLayers][dModel]. */
  directions(args: DirectionsArgs): Promise<number[][]>;
  lens(args: LensArgs): Promise<LensOutput>;
  compress(args: CompressArgs, onProgress?: (m: string) => void): Promise<CompressOutput>;
  /** Activation patching, as `glassbox patch --json` (analysis/patch). */
  patch(args: PatchArgs, onProgress?: (m: string) => void): Promise<PatchOutput>;
  /** One patch, then the corrupted prompt's greedy continuation without and with it. */
  patchGenerate(args: PatchGenerateArgs): Promise<PatchGenerateOutput>;
  decode(ids: number[]): Promise<string>;
  abort(): void;
}
