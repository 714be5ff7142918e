/**
 * Cost of the load-time NaN/Inf weight scan (engine/finite-scan.ts), per dtype, against the cost of reading the
 * same bytes from the page cache: `npm run bench:weight-scan` (JSON line, then a table).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { firstNonFinite } from '../engine/finite-scan.ts';

const MB = 256;
const bytes = MB * 2 ** 20;
const f32 = new Float32Array(bytes / 4).map((_, i) => Math.sin(i));
const u16 = new Uint16Array(bytes / 2).map((_, i) => (i * 2654435761) & 0x3fff);
const file = path.join(os.tmpdir(), `glassbox-scan-${process.pid}.bin`);
fs.writeFileSync(file, Buffer.from(f32.buffer));

const best = (fn: () => void, reps = 5) => {
  let b = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    fn();
    b = Math.min(b, performance.now() - t0);
  }
  return b;
};
const gbs = (ms: number) => bytes / 1e9 / (ms / 1000);
const scanF32 = best(() => firstNonFinite('F32', f32));
const scanBf16 = best(() => firstNonFinite('BF16', u16));
const scanF16 = best(() => firstNonFinite('F16', u16));
const read = best(() => {
  const fd = fs.openSync(file, 'r');
  const buf = new Uint8Array(bytes);
  let done = 0;
  while (done < bytes) done += fs.readSync(fd, buf, done, bytes - done, done);
  fs.closeSync(fd);
});
fs.rmSync(file);
const result = {
  mb: MB,
  loadavg: os.loadavg()[0],
  scanGBs: { f32: gbs(scanF32), bf16: gbs(scanBf16), f16: gbs(scanF16) },
  pageCacheReadGBs: gbs(read),
  scanShareOfRead: { f32: scanF32 / (scanF32 + read), bf16: scanBf16 / (scanBf16 + read) },
};
console.log(JSON.stringify(result));
console.table({
  'f32 scan': { 'GB/s': gbs(scanF32).toFixed(2), ms: scanF32.toFixed(1) },
  'bf16 scan': { 'GB/s': gbs(scanBf16).toFixed(2), ms: scanBf16.toFixed(1) },
  'f16 scan': { 'GB/s': gbs(scanF16).toFixed(2), ms: scanF16.toFixed(1) },
  'read (page cache)': { 'GB/s': gbs(read).toFixed(2), ms: read.toFixed(1) },
});
