/**
 * Fuzzing the safetensors parser in memory (the same header/validation code the file reader runs):
 * arbitrary tensors round-trip bit-exactly, and every truncation, byte mutation or semantically odd header
 * either reads cleanly or throws a one-line SafetensorsError naming the file — never another exception, never
 * a read outside the buffer (the memory source throws RangeError on that). ~11,000 cases, a few seconds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SafetensorsError } from '../engine/errors.ts';
import { DTYPES, DTYPE_BYTES, bytesOf, rawFromBytes } from '../engine/dtype.ts';
import { openSafetensors, parseSafetensors } from '../engine/safetensors-reader.ts';
import { serializeSafetensors, writeSafetensors, type TensorToWrite } from '../engine/safetensors-writer.ts';
import type { DType } from '../engine/types.ts';
import { rawFile, tempDir } from './helpers/safetensors-files.ts';

const NAME = 'fuzz.safetensors';

/** Deterministic bytes from a seed (fast-check shrinks the seed, not megabytes of data). */
function bytesFromSeed(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = s & 255;
  }
  return out;
}

const tensorArb = fc
  .record({
    name: fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => s !== '__metadata__'),
    dtype: fc.constantFrom(...DTYPES),
    shape: fc.array(fc.nat(4), { maxLength: 3 }),
    seed: fc.integer(),
    asBytes: fc.boolean(),
  })
  .map(({ name, dtype, shape, seed, asBytes }): TensorToWrite => {
    const bytes = bytesFromSeed(shape.reduce((p, d) => p * d, 1) * DTYPE_BYTES[dtype], seed);
    return { name, dtype, shape, data: asBytes ? bytes : rawFromBytes(dtype, bytes) };
  });

const tensorsArb = fc.uniqueArray(tensorArb, { selector: (t) => t.name, maxLength: 5 });
const metadataArb = fc.option(
  fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 8 }), { maxKeys: 3 }),
  { nil: undefined },
);

/** Outcomes seen, so a property that only ever errors (or never does) is noticed. */
const outcomes = { ok: 0, error: 0 };

/** Parses and reads everything; returns normally or throws only a well-formed SafetensorsError. */
function parseAll(bytes: Uint8Array): void {
  try {
    const st = parseSafetensors(bytes, NAME);
    for (const t of st.tensors) {
      const raw = st.readRaw(t.name);
      expect(raw.byteLength).toBe(t.byteLength);
      expect(st.readF32(t.name).length).toBe(t.shape.reduce((p, d) => p * d, 1));
    }
    outcomes.ok++;
  } catch (e) {
    if (!(e instanceof SafetensorsError)) throw e;
    outcomes.error++;
    expect(e.message.startsWith(`${NAME}: `)).toBe(true);
    expect(e.message).not.toMatch(/[\n\r\u2028\u2029]/);
    expect(e.message.length).toBeGreaterThan(NAME.length + 8);
  }
}

function expectRoundTrip(bytesRead: (name: string) => Uint8Array, tensors: TensorToWrite[]) {
  for (const t of tensors) {
    const want = bytesOf(t.data as Uint8Array);
    expect(Buffer.from(bytesRead(t.name)).equals(Buffer.from(want))).toBe(true);
  }
}

describe('safetensors fuzz', () => {
  beforeEach(() => {
    outcomes.ok = outcomes.error = 0;
  });
  afterEach((ctx) => {
    // Each corruption property must see both clean reads and rejections, or it is not exercising the parser.
    if (outcomes.ok + outcomes.error > 0) {
      expect(outcomes.ok, ctx.task.name).toBeGreaterThan(0);
      expect(outcomes.error, ctx.task.name).toBeGreaterThan(0);
    }
  });
  it('round-trips arbitrary tensors and metadata in memory (3000 cases)', () => {
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        const st = parseSafetensors(serializeSafetensors(tensors, metadata), NAME);
        expect(st.tensors.map((t) => [t.name, t.dtype, t.shape])).toEqual(tensors.map((t) => [t.name, t.dtype, t.shape]));
        expect(st.metadata).toEqual(metadata && Object.keys(metadata).length ? { ...metadata } : {});
        expectRoundTrip((n) => bytesOf(st.readRaw(n)), tensors);
      }),
      { numRuns: 3000 },
    );
  });

  const dir = tempDir('st-fuzz');
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  it('round-trips through real files with atomic writes (100 cases)', () => {
    let i = 0;
    fc.assert(
      fc.property(tensorsArb, metadataArb, (tensors, metadata) => {
        const file = path.join(dir, `t${i++}.safetensors`);
        writeSafetensors(file, tensors, metadata);
        const st = openSafetensors(file);
        expectRoundTrip((n) => bytesOf(st.readRaw(n)), tensors);
        st.close();
        fs.rmSync(file);
      }),
      { numRuns: 100 },
    );
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  const validFile = fc.tuple(tensorsArb, metadataArb).map(([t, m]) => serializeSafetensors(t, m));

  it('survives every truncation (2000 cases)', () => {
    fc.assert(
      fc.property(validFile, fc.double({ min: 0, max: 1, noNaN: true }), (bytes, frac) => {
        const cut = Math.floor(frac * bytes.length);
        parseAll(bytes.subarray(0, cut)); // frac = 1 keeps the whole file: the control case
      }),
      { numRuns: 2000 },
    );
  });

  it('survives single and multi-byte mutations, mostly aimed at the header (4000 cases)', () => {
    const mutation = fc.record({ pos: fc.nat(), byte: fc.nat(255), inHeader: fc.boolean() });
    fc.assert(
      fc.property(validFile, fc.array(mutation, { minLength: 1, maxLength: 4 }), (bytes, muts) => {
        const b = bytes.slice();
        const headerEnd = 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));
        for (const m of muts) b[m.inHeader ? m.pos % headerEnd : m.pos % b.length] = m.byte;
        parseAll(b);
      }),
      { numRuns: 4000 },
    );
  });

  it('survives structurally valid JSON with arbitrary field values (2000 cases)', () => {
    const anyJson = fc.jsonValue({ maxDepth: 2 });
    const field = <T>(good: fc.Arbitrary<T>) => fc.oneof(good, anyJson);
    const entry = fc.record({
      dtype: field(fc.constantFrom<DType | string>(...DTYPES, 'U16', 'f32', '')),
      shape: field(fc.array(fc.oneof(fc.nat(4), fc.constant(-1), fc.constant(1.5), fc.constant(2 ** 60)), { maxLength: 3 })),
      data_offsets: field(fc.tuple(fc.nat(40), fc.nat(40))),
    });
    fc.assert(
      fc.property(
        fc.dictionary(fc.oneof(fc.string({ maxLength: 4 }), fc.constant('__metadata__')), fc.oneof(entry, anyJson), { maxKeys: 4 }),
        fc.nat(48),
        (header, dataLen) => parseAll(rawFile(header, dataLen)),
      ),
      { numRuns: 2000 },
    );
  });
});
