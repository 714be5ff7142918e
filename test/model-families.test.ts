/**
 * Model families are described in one place each (models/llama.ts, models/gpt2.ts, keyed by model_type in
 * models/families.ts) plus their rows in the config and name tables (engine/config.ts, engine/names.ts).
 * This file checks (1) that no other source file branches on a family name, (2) that the registry covers every
 * supported model_type exactly once, and (3) that each descriptor agrees with what the config and name tables
 * produce for that model_type, so the descriptor's fields cannot drift from the code that loads the model.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseConfig, SUPPORTED_MODEL_TYPES } from '../engine/config.ts';
import { moduleNames } from '../engine/names.ts';
import type { Family, WeightSource } from '../engine/types.ts';
import { FAMILY_DESCRIPTORS, familyDescriptor } from '../models/families.ts';
import { syntheticConfig } from '../models/synthetic.ts';
import { projectRoot } from './helpers/shared.ts';

/** The only files allowed to compare against a family name: the family files and the config/name tables. */
const FAMILY_FILES = ['models/llama.ts', 'models/gpt2.ts', 'models/families.ts', 'engine/config.ts', 'engine/names.ts'];
const SOURCE_DIRS = ['engine', 'kernels', 'models', 'analysis', 'cli', 'bench', 'scripts'];
/** Data, not source: the tiny-chat checkpoint folder and generated build outputs. */
const SKIP_DIRS = new Set(['node_modules', 'dist', 'tiny-chat', 'build']);

const names = SUPPORTED_MODEL_TYPES.join('|');
const q = `['"\`]`;
const FAMILY_BRANCH = new RegExp(
  [
    `[=!]==?\\s*${q}(?:${names})${q}`, // x === 'gpt2'
    `${q}(?:${names})${q}\\s*[=!]==?`, // 'gpt2' === x
    `case\\s+${q}(?:${names})${q}`, // switch (...) { case 'gpt2':
    `\\[[^\\]]*${q}(?:${names})${q}[^\\]]*\\]\\s*\\.\\s*includes\\(`, // ['gpt2', ...].includes(x)
    `\\b(?:config|cfg)\\.(?:family|modelType)\\s*[=!]==?`, // config.family === someVariable
    `switch\\s*\\(\\s*[\\w.]*\\b(?:config|cfg)\\.(?:family|modelType)\\s*\\)`,
  ].join('|'),
);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) {
      if (!SKIP_DIRS.has(name)) out.push(...sourceFiles(full));
    } else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push(full);
  }
  return out;
}

/** Code lines only: comments may name families (they explain the family files' choices). */
function codeLines(text: string): { line: number; text: string }[] {
  const noBlocks = text.replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ' '));
  return noBlocks.split('\n').map((t, i) => ({ line: i + 1, text: t.replace(/(^|[^:])\/\/.*$/, '$1') }));
}

describe('no family-name branches outside the family files and the config/name tables', () => {
  it('the detector flags family comparisons and passes family data', () => {
    for (const bad of [
      "if (config.family === 'gpt2') x();",
      "cfg.family !== 'llama'",
      "'qwen2' === family",
      "case 'mistral':",
      "['gpt2', 'llama'].includes(config.family)",
      'if (config.family === wanted) x();',
      'switch (model.config.family) {',
    ])
      expect(FAMILY_BRANCH.test(bad), bad).toBe(true);
    for (const ok of ["syntheticConfig({ family: 'qwen2' })", "method.family === 'gptq'", 'if (config.capabilities.gatedMlp) x();'])
      expect(FAMILY_BRANCH.test(ok), ok).toBe(false);
  });

  it('the exempt files exist (a rename must update this list, not silently widen it)', () => {
    for (const f of FAMILY_FILES) expect(statSync(path.join(projectRoot, f)).isFile(), f).toBe(true);
  });

  it('finds none in engine, kernels, models, analysis, cli, bench, scripts', () => {
    const exempt = new Set(FAMILY_FILES.map((f) => path.join(projectRoot, f)));
    const hits: string[] = [];
    let scanned = 0;
    for (const dir of SOURCE_DIRS) {
      for (const file of sourceFiles(path.join(projectRoot, dir))) {
        if (exempt.has(file)) continue;
        scanned++;
        for (const { line, text } of codeLines(readFileSync(file, 'utf8')))
          if (FAMILY_BRANCH.test(text)) hits.push(`${path.relative(projectRoot, file)}:${line}: ${text.trim()}`);
      }
    }
    expect(scanned).toBeGreaterThan(50);
    expect(hits, 'use config.capabilities or the family descriptor (models/families.ts) instead').toEqual([]);
  });
});

/** A minimal config.json per family layout (the test may name families: it is the table's check). */
function rawConfig(modelType: Family): Record<string, unknown> {
  if (familyDescriptor(modelType).positions === 'learned')
    return { model_type: modelType, n_embd: 64, n_layer: 2, n_head: 4, vocab_size: 100 };
  return {
    model_type: modelType,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 100,
  };
}

const allNames: WeightSource = {
  path: 'test',
  names: () => [],
  has: () => true,
  info: () => {
    throw new Error('unused');
  },
  readRaw: () => {
    throw new Error('unused');
  },
  readF32: () => {
    throw new Error('unused');
  },
  metadata: () => ({}),
  close: () => {},
};

describe('family registry (models/families.ts)', () => {
  it('serves every supported model_type from exactly one descriptor', () => {
    const served = FAMILY_DESCRIPTORS.flatMap((d) => d.modelTypes);
    expect([...served].sort()).toEqual([...SUPPORTED_MODEL_TYPES].sort());
    for (const t of SUPPORTED_MODEL_TYPES) expect(familyDescriptor(t).modelTypes).toContain(t);
  });

  for (const modelType of SUPPORTED_MODEL_TYPES) {
    it(`${modelType}: the descriptor agrees with the config table, the name table and syntheticConfig`, () => {
      const d = familyDescriptor(modelType);
      const c = parseConfig(rawConfig(modelType));
      expect(c.norm).toBe(d.norm);
      expect(c.act).toBe(d.mlp === 'gated-silu' ? 'silu' : 'gelu_new');
      expect(c.capabilities.gatedMlp).toBe(d.mlp === 'gated-silu');
      expect(c.capabilities.gatedMlp).toBe(d.linearRoles.includes('gate'));
      expect(c.capabilities.learnedPositions).toBe(d.positions === 'learned');
      expect(c.capabilities.learnedPositions).toBe(d.embedding === 'token+learned-positions');
      expect(c.rope === null).toBe(d.positions === 'learned');
      expect(d.contextLimit === 'max-positions').toBe(d.positions === 'learned');
      expect(c.tiedEmbeddings).toBe(d.tiedEmbeddingsDefault);
      for (const r of d.residualWriters) expect(d.linearRoles).toContain(r);

      const layer = moduleNames(c, allNames).layers[1];
      expect(c.capabilities.fusedQkv).toBe(layer.qkv !== null);
      for (const role of d.linearRoles) {
        const module = c.capabilities.fusedQkv && (role === 'q' || role === 'k' || role === 'v') ? layer.qkv : layer[role];
        expect(module, role).toMatch(new RegExp(`\\.1\\.${d.linearNames[role]!.replace('.', '\\.')}$`));
      }
      if (!d.linearRoles.includes('gate')) expect(layer.gate).toBeNull();

      const s = syntheticConfig({ family: modelType, nLayers: 1, dModel: 64, nHeads: 4, nKvHeads: 2, dMlp: 128, vocabSize: 100 });
      expect(s.capabilities).toEqual(c.capabilities);
      expect({ norm: s.norm, act: s.act, qkvBias: s.qkvBias, rope: s.rope === null }).toEqual({
        norm: c.norm,
        act: c.act,
        qkvBias: c.qkvBias,
        rope: c.rope === null,
      });
    });
  }
});
