/**
 * Reads an SAELens folder from disk (Node only; the compute in sae.ts takes the parsed pieces).
 *   loadSae(dir): Sae — `cfg.json` + `sae_weights.safetensors`; typed one-line errors naming the file/field/tensor.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, SafetensorsError } from '../../engine/errors.ts';
import { openSafetensors } from '../../engine/safetensors-reader.ts';
import { parseSaeConfig } from './config.ts';
import { makeSae, type Sae, type SaeTensor } from './sae.ts';

export const SAE_CFG_FILE = 'cfg.json';
export const SAE_WEIGHTS_FILE = 'sae_weights.safetensors';
const TENSORS = ['W_enc', 'b_enc', 'W_dec', 'b_dec', 'threshold'];

export function loadSae(dir: string): Sae {
  const cfgFile = path.join(dir, SAE_CFG_FILE);
  const wFile = path.join(dir, SAE_WEIGHTS_FILE);
  let text: string;
  try {
    text = fs.readFileSync(cfgFile, 'utf8');
  } catch (e) {
    throw new ConfigError(`${cfgFile}: cannot read the SAE config (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${cfgFile}: invalid JSON (${(e as Error).message.replace(/\s+/g, ' ')})`);
  }
  const cfg = parseSaeConfig(json, cfgFile);
  if (!fs.existsSync(wFile)) throw new SafetensorsError(`${wFile}: no SAE weights file`);
  const st = openSafetensors(wFile);
  try {
    const tensors = new Map<string, SaeTensor>();
    for (const name of TENSORS) if (st.has(name)) tensors.set(name, { shape: st.info(name).shape, data: st.readF32(name) });
    return makeSae(cfg, tensors, wFile);
  } finally {
    st.close();
  }
}
