/**
 * Per-forward hook dispatch: runs the user's hooks on an activation, checks it for NaN/Inf, and copies
 * the requested ones into the activation cache. One instance lives for one forward call.
 */
import { NonFiniteError, UsageError } from '../engine/errors.ts';
import { globToRegExp, matchesAny } from './hook-names.ts';
import type { CachedActivation, Hook, HookContext } from './types.ts';

export interface HookSite {
  name: string;
  layer: number | null;
  batch: number;
  pos: number;
  width: number;
}

export interface HookRunnerOptions {
  /** User hooks; each runs at the hook points its glob `name` matches. */
  hooks?: Hook[];
  /** Globs of the hook points whose activations are copied into `cache` (none when undefined). */
  cacheGlobs?: string[];
  /** Positions kept in cached activations (negative: from the end); all positions when undefined. */
  cachePositions?: number[];
  /** Throw NonFiniteError on NaN/Inf in any activation passing a hook point. */
  checkFinite: boolean;
  /** Absolute position of every (row, pos) of this call [batch·t], -1 at padding (hooks see it). */
  positions: Int32Array;
  /** Generation step: 0 for the prompt forward, k for the k-th decoded token (hooks see it). */
  step: number;
}

export class HookRunner {
  private readonly hooks: { re: RegExp; hook: Hook }[];
  private readonly cacheGlobs: RegExp[];
  private readonly cachePositions: number[] | undefined;
  readonly checkFinite: boolean;
  readonly positions: Int32Array;
  readonly step: number;
  readonly cache = new Map<string, CachedActivation>();

  constructor(opts: HookRunnerOptions) {
    this.hooks = (opts.hooks ?? []).map((hook) => ({ re: globToRegExp(hook.name), hook }));
    this.cacheGlobs = (opts.cacheGlobs ?? []).map(globToRegExp);
    this.cachePositions = opts.cachePositions;
    this.checkFinite = opts.checkFinite;
    this.positions = opts.positions;
    this.step = opts.step;
  }

  /**
   * True when a hook may keep the array it is shown, so the step cannot reuse that memory: any hook without a
   * declared `op`. Declared ops (ablation, addition, patching) edit in place and keep nothing.
   */
  get mayRetain(): boolean {
    return this.hooks.some((h) => !h.hook.op);
  }

  /** True when `name` is hooked or cached: optional activations (hook_pattern) are computed only then. */
  wants(name: string): boolean {
    return matchesAny(name, this.cacheGlobs) || this.hooks.some((h) => h.re.test(name));
  }

  /** True when a user hook (not just caching) matches `name`: it may edit the activation. */
  hooked(name: string): boolean {
    return this.hooks.some((h) => h.re.test(name));
  }

  /** The hooks matching `name`, in registration order. */
  matching(name: string): Hook[] {
    return this.hooks.filter((h) => h.re.test(name)).map((h) => h.hook);
  }

  /** True when `name` is to be cached. */
  caches(name: string): boolean {
    return matchesAny(name, this.cacheGlobs);
  }

  /** The [0, pos) positions kept when caching `name` (all when no cachePositions; hook_pattern: all). */
  cachedPositions(name: string, pos: number): number[] {
    if (name.endsWith('hook_pattern') || !this.cachePositions) return Array.from({ length: pos }, (_, i) => i);
    const ps = this.cachePositions.map((p) => (p < 0 ? pos + p : p));
    for (const p of ps)
      if (p < 0 || p >= pos) throw new UsageError(`cachePositions: position ${p} is outside the ${pos} positions of ${name}`);
    return ps;
  }

  /** Stores an activation a device gathered itself (already position-selected). */
  store(name: string, act: CachedActivation): void {
    if (this.checkFinite) assertFinite(act.data, name);
    this.cache.set(name, act);
  }

  /** One activation passes a hook point: runs hooks, checks and caches; returns the (possibly replaced) activation. */
  fire(site: HookSite, act: Float32Array): Float32Array {
    let cur = act;
    let ctx: HookContext | null = null;
    for (const { re, hook } of this.hooks) {
      if (!re.test(site.name)) continue;
      ctx ??= { ...site, positions: this.positions, step: this.step };
      const out = hook.fn(cur, ctx);
      if (out !== undefined && out !== null) {
        if (!(out instanceof Float32Array) || out.length !== cur.length)
          throw new UsageError(
            `hook '${hook.name}' at ${site.name} returned ${describe(out)}, expected Float32Array of length ${cur.length}`,
          );
        cur = out;
      }
    }
    if (this.checkFinite) assertFinite(cur, site.name);
    if (matchesAny(site.name, this.cacheGlobs)) this.cache.set(site.name, this.select(site, cur));
    return cur;
  }

  /** Copies [batch, pos, width] keeping only the requested positions (hook_pattern is kept whole). */
  private select(site: HookSite, act: Float32Array): CachedActivation {
    const { batch, pos, width } = site;
    if (site.name.endsWith('hook_pattern')) {
      const heads = act.length / (batch * pos * width);
      return { data: act.slice(), shape: [batch, heads, pos, width] };
    }
    if (!this.cachePositions) return { data: act.slice(), shape: [batch, pos, width] };
    const ps = this.cachePositions.map((p) => (p < 0 ? pos + p : p));
    for (const p of ps)
      if (p < 0 || p >= pos) throw new UsageError(`cachePositions: position ${p} is outside the ${pos} positions of ${site.name}`);
    const out = new Float32Array(batch * ps.length * width);
    for (let b = 0; b < batch; b++)
      for (let i = 0; i < ps.length; i++)
        out.set(act.subarray((b * pos + ps[i]) * width, (b * pos + ps[i] + 1) * width), (b * ps.length + i) * width);
    return { data: out, shape: [batch, ps.length, width] };
  }
}

function describe(x: unknown): string {
  if (x && typeof x === 'object' && 'length' in x) return `${(x as object).constructor.name} of length ${(x as { length: number }).length}`;
  return typeof x;
}

export function assertFinite(a: Float32Array, name: string): void {
  if (allFinite(a)) return;
  for (let i = 0; i < a.length; i++) {
    // x - x is NaN exactly for NaN and ±Inf.
    if (a[i] - a[i] !== 0) throw new NonFiniteError(`non-finite value ${a[i]} in ${name} at flat index ${i}`);
  }
}

/**
 * Whether every element is finite: x·0 is ±0 for finite x and NaN for NaN and ±Inf, and a sum of ±0 is ±0 while one
 * NaN makes it NaN. Four branch-free accumulators run ~2× faster than a test per element (0.39 against 0.85 ns per
 * element: npm run bench:elementwise), and every forward checks every hook point: ~5% of a 0.5B prefill went to the
 * per-element test.
 */
export function allFinite(a: Float32Array): boolean {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * 0;
    s1 += a[i + 1] * 0;
    s2 += a[i + 2] * 0;
    s3 += a[i + 3] * 0;
  }
  for (; i < n; i++) s0 += a[i] * 0;
  return s0 + s1 + s2 + s3 === 0;
}
