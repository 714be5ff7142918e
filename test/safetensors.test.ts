/**
 * Safetensors reader/writer on disk: exact round trips, laziness, the header rules, and one test per kind of
 * bad input asserting a one-line SafetensorsError that names the file and the problem (and writes nothing).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SafetensorsError, UsageError } from '../engine/errors.ts';
import { bytesOf } from '../engine/dtype.ts';
import { openSafetensors } from '../engine/safetensors-reader.ts';
import { serializeSafetensors, writeSafetensors } from '../engine/safetensors-writer.ts';
import { expectFailure, rawFile, snapshot, tempDir } from './helpers/safetensors-files.ts';

let dir = '';
beforeAll(() => {
  dir = tempDir('st');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const put = (name: string, bytes: Uint8Array) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
};

const f32Header = (offsets: [number, number], shape = [2, 2], extra: Record<string, unknown> = {}) => ({
  'x.weight': { dtype: 'F32', shape, data_offsets: offsets },
  ...extra,
});

describe('round trip', () => {
  it('writes and reads every dtype, scalars and zero-size tensors bit-exactly, with metadata', () => {
    const tensors = [
      { name: 'f64', dtype: 'F64' as const, shape: [3], data: new Float64Array([1e300, -0, NaN]) },
      { name: 'f32', dtype: 'F32' as const, shape: [2, 2], data: new Float32Array([1, -2.5, Infinity, 3e-45]) },
      { name: 'bf16', dtype: 'BF16' as const, shape: [2], data: new Uint16Array([0x3f80, 0xffc1]) },
      { name: 'f16', dtype: 'F16' as const, shape: [], data: new Uint16Array([0x3c00]) },
      { name: 'i64', dtype: 'I64' as const, shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 62n]) },
      { name: 'i32', dtype: 'I32' as const, shape: [1, 1], data: new Int32Array([-7]) },
      { name: 'i16', dtype: 'I16' as const, shape: [1], data: new Int16Array([-300]) },
      { name: 'i8', dtype: 'I8' as const, shape: [2], data: new Int8Array([-128, 127]) },
      { name: 'u8', dtype: 'U8' as const, shape: [0, 5], data: new Uint8Array(0) },
      { name: 'bool', dtype: 'BOOL' as const, shape: [2], data: new Uint8Array([0, 1]) },
      { name: 'e4m3', dtype: 'F8_E4M3' as const, shape: [2], data: new Uint8Array([0x7e, 0xb8]) },
      { name: 'e5m2', dtype: 'F8_E5M2' as const, shape: [1], data: () => new Uint8Array([0x3c]) },
      { name: '__proto__', dtype: 'F32' as const, shape: [1], data: new Uint8Array([0, 0, 0x80, 0x3f]) },
    ];
    const file = path.join(dir, 'all.safetensors');
    writeSafetensors(file, tensors, { format: 'pt', ünï: 'cödé\n' });
    const st = openSafetensors(file);
    expect(st.metadata).toEqual({ format: 'pt', ünï: 'cödé\n' });
    expect(st.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    for (const t of tensors) {
      const info = st.info(t.name);
      expect(info).toMatchObject({ dtype: t.dtype, shape: t.shape, file: path.resolve(file) });
      const raw = st.readRaw(t.name);
      const want = typeof t.data === 'function' ? t.data() : t.data;
      expect(Buffer.from(bytesOf(raw)).equals(Buffer.from(bytesOf(want))), t.name).toBe(true);
      expect(raw.byteOffset % 8).toBe(0);
    }
    expect(st.readRaw('i64')).toBeInstanceOf(BigInt64Array);
    expect(Array.from(st.readF32('e4m3'))).toEqual([448, -1]);
    expect(Array.from(st.readF32('e5m2'))).toEqual([1]);
    expect(Array.from(st.readF32('bf16').subarray(0, 1))).toEqual([1]);
    expect(Array.from(st.readF32('__proto__'))).toEqual([1]);
    st.close();
    expect(() => st.readRaw('f32')).toThrow(SafetensorsError);
  });

  it('pads the header with spaces to a multiple of 8 and accepts padded headers from others', () => {
    const bytes = serializeSafetensors([{ name: 'a', dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) }]);
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    expect(bytes[8 + n - 1]).toBe(0x20);
    const padded = rawFile(null, new Uint8Array([9]), `{"b":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}      `);
    expect(Array.from(openSafetensors(put('padded.safetensors', padded)).readRaw('b') as Uint8Array)).toEqual([9]);
  });

  it('opens lazily: only the header is read until a tensor is asked for', () => {
    const file = put('lazy.safetensors', rawFile(f32Header([0, 16]), 16));
    const st = openSafetensors(file);
    // Truncating after opening shows the data was not read at open time; the read then fails cleanly.
    fs.truncateSync(file, fs.statSync(file).size - 4);
    expect(() => st.readRaw('x.weight')).toThrow(/lazy\.safetensors: file ended at byte/);
    st.close();
  });

  it('reads a tensor at a position beyond 4 GiB (sparse file, when the filesystem allows it)', () => {
    const file = path.join(dir, 'big.safetensors');
    const big = 2 ** 32 + 8; // bytes of padding tensor before the probe
    const header = Buffer.from(
      JSON.stringify({
        pad: { dtype: 'U8', shape: [big], data_offsets: [0, big] },
        probe: { dtype: 'F32', shape: [1], data_offsets: [big, big + 4] },
      }),
    );
    try {
      const fd = fs.openSync(file, 'w');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      fs.writeSync(fd, len, 0, 8, 0);
      fs.writeSync(fd, header, 0, header.length, 8);
      fs.writeSync(fd, Buffer.from(new Float32Array([6.5]).buffer), 0, 4, 8 + header.length + big);
      fs.closeSync(fd);
    } catch (e) {
      console.log(`[safetensors] sparse 4 GiB file not possible here: ${(e as Error).message}`);
      return;
    }
    const st = openSafetensors(file);
    expect(Array.from(st.readF32('probe'))).toEqual([6.5]);
    st.close();
    fs.rmSync(file);
  });
});

describe('bad input: one-line SafetensorsError naming file and problem', () => {
  const fails = (name: string, bytes: Uint8Array, ...patterns: RegExp[]) => {
    const file = put(name, bytes);
    return expectFailure(() => openSafetensors(file), SafetensorsError, [new RegExp(name.replace('.', '\\.')), ...patterns], dir);
  };

  it('truncated file', () => {
    fails('short.safetensors', new Uint8Array(5), /5 bytes, too short/);
    const good = rawFile(f32Header([0, 16]), 16);
    fails('cut.safetensors', good.subarray(0, good.length - 3), /data_offsets \[0, 16\] exceed the 13-byte data region/);
  });
  it('header length larger than the file', () => {
    const b = rawFile(f32Header([0, 16]), 16);
    new DataView(b.buffer).setBigUint64(0, 10n ** 12n, true);
    fails('hlen.safetensors', b, /header length 1000000000000 exceeds/);
    new DataView(b.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    fails('hlen2.safetensors', b, /header length 18446744073709551615 exceeds/);
  });
  it('header over the 100 MB limit', () => {
    // The length check comes before any read, so a sparse file suffices.
    const file = path.join(dir, 'huge.safetensors');
    const fd = fs.openSync(file, 'w');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(100_000_001n);
    fs.writeSync(fd, len, 0, 8, 0);
    fs.ftruncateSync(fd, 100_000_009 + 16);
    fs.closeSync(fd);
    expectFailure(() => openSafetensors(file), SafetensorsError, [/huge\.safetensors/, /exceeds the 100000000-byte limit/], dir);
    fs.rmSync(file);
  });
  it('header not JSON, not an object, not UTF-8', () => {
    fails('notjson.safetensors', rawFile(null, 0, '{"x": nope}'), /header is not JSON/);
    fails('array.safetensors', rawFile(null, 0, '[1, 2]'), /header is not JSON: it does not start with "\{"/);
    fails(
      'utf8.safetensors',
      rawFile(null, 0, '{"\udc00"}').map((b, i) => (i === 10 ? 0xff : b)),
      /not valid UTF-8/,
    );
  });
  it('unknown dtype, bad shape, bad metadata', () => {
    fails('dtype.safetensors', rawFile({ x: { dtype: 'U16', shape: [1], data_offsets: [0, 2] } }, 2), /tensor 'x' has unknown dtype 'U16'/);
    fails(
      'shape.safetensors',
      rawFile({ x: { dtype: 'U8', shape: [-1], data_offsets: [0, 1] } }, 1),
      /tensor 'x' shape is not a list of non-negative integers/,
    );
    fails('meta.safetensors', rawFile({ __metadata__: { a: 1 } }), /__metadata__ field 'a' is not a string/);
  });
  it('data_offsets out of range / inconsistent with shape x dtype / overlapping / leaving gaps', () => {
    fails(
      'model.safetensors',
      rawFile(f32Header([0, 12]), 12),
      /tensor 'x\.weight' data_offsets \[0, 12\] do not match shape \[2, 2\] x F32 \(16 bytes\)/,
    );
    fails('range.safetensors', rawFile(f32Header([4, 20]), 16), /data_offsets \[4, 20\] exceed the 16-byte data region/);
    fails('backwards.safetensors', rawFile(f32Header([16, 0]), 16), /end before they begin/);
    fails('offsets.safetensors', rawFile(f32Header([0, 1.5] as never), 16), /data_offsets is not a pair of non-negative integers/);
    const two = (a: [number, number], b: [number, number], size: number) =>
      rawFile(
        { a: { dtype: 'U8', shape: [a[1] - a[0]], data_offsets: a }, b: { dtype: 'U8', shape: [b[1] - b[0]], data_offsets: b } },
        size,
      );
    fails('overlap.safetensors', two([0, 4], [2, 6], 6), /tensor 'b' overlaps tensor 'a'/);
    fails('gap.safetensors', two([0, 2], [4, 6], 6), /2 unused bytes before tensor 'b'/);
    fails('tail.safetensors', two([0, 2], [2, 4], 7), /3 unused bytes after the last tensor/);
  });
  it('escapes control characters so the message stays on one line', () => {
    fails('ctl.safetensors', rawFile({ 'a\nb': { dtype: 'X', shape: [], data_offsets: [0, 0] } }), /tensor 'a\\nb' has unknown dtype 'X'/);
  });
  it('missing file and missing tensor', () => {
    expectFailure(
      () => openSafetensors(path.join(dir, 'nope.safetensors')),
      SafetensorsError,
      [/nope\.safetensors: cannot open \(ENOENT\)/],
      dir,
    );
    const st = openSafetensors(put('one.safetensors', rawFile(f32Header([0, 16]), 16)));
    expectFailure(() => st.readRaw('y'), SafetensorsError, [/one\.safetensors: no tensor 'y'/], dir);
    st.close();
  });
});

describe('writer', () => {
  const t = (name: string, data: unknown, shape = [2], dtype = 'F32') => ({ name, dtype, shape, data }) as never;
  const fails = (file: string, tensors: never[], ...patterns: RegExp[]) =>
    expectFailure(
      () => writeSafetensors(path.join(dir, file), tensors),
      SafetensorsError,
      [new RegExp(file.replace('.', '\\.')), ...patterns],
      dir,
    );

  it('refuses inconsistent tensors before writing anything', () => {
    fails('w1.safetensors', [t('a', new Float32Array(3))], /tensor 'a' data has 12 bytes, shape \[2\] x F32 needs 8/);
    fails('w2.safetensors', [t('a', new Float64Array(2))], /tensor 'a' data is a Float64Array, not Float32Array/);
    fails('w3.safetensors', [t('a', new Float32Array(2)), t('a', new Float32Array(2))], /tensor 'a' given twice/);
    fails('w4.safetensors', [t('a', new Float32Array(2), [2], 'F4')], /unknown dtype 'F4'/);
    fails('w5.safetensors', [t('__metadata__', new Float32Array(2))], /invalid tensor name/);
  });
  it('leaves no partial file when a tensor fails mid-write, and keeps the old file', () => {
    const file = path.join(dir, 'keep.safetensors');
    writeSafetensors(file, [t('a', new Float32Array([1, 2]))]);
    const boom = () => {
      throw new SafetensorsError('producer failed');
    };
    expectFailure(() => writeSafetensors(file, [t('b', new Float32Array(2)), t('c', boom)]), SafetensorsError, [/producer failed/], dir);
    expectFailure(
      () => writeSafetensors(file, [t('b', () => new Float32Array(5))]),
      SafetensorsError,
      [/keep\.safetensors: tensor 'b' data has 20 bytes/],
      dir,
    );
    expect(Array.from(openSafetensors(file).readF32('a'))).toEqual([1, 2]);
  });
  it('refuses to write into the folder it reads from (realpath, so through a symlink too)', () => {
    const link = path.join(dir, 'alias');
    fs.symlinkSync(dir, link);
    expectFailure(
      () => writeSafetensors(path.join(link, 'out.safetensors'), [], undefined, { sourceDir: dir }),
      UsageError,
      [/out\.safetensors|alias/, /refusing to write into the folder the model is read from/],
      dir,
    );
    fs.unlinkSync(link);
    expect(snapshot(dir).some((l) => l.startsWith('out.'))).toBe(false);
  });
});
