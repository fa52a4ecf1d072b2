import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { describe, expect, it } from 'vitest';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { Rng } from '../util/rng.ts';
import { augmentInto } from './augment.ts';
import { loadCifar10 } from './cifar10.ts';
import { loadFashionMnist, parseIdx } from './idx.ts';
import { loadImageFolder } from './image-folder.ts';
import { makeCropBatch } from './make-batch.ts';
import { makeSyntheticDataset } from './synthetic.ts';

function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt32BE(0x0800 | dims.length, 0);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

function writeMnist(dir: string, n: number, gz: boolean) {
  const imgs = idx(
    [n, 28, 28],
    Uint8Array.from({ length: n * 784 }, (_, i) => i % 251),
  );
  const lbls = idx(
    [n],
    Uint8Array.from({ length: n }, (_, i) => i % 10),
  );
  writeFileSync(join(dir, `train-images-idx3-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(imgs) : imgs);
  writeFileSync(join(dir, `train-labels-idx1-ubyte${gz ? '.gz' : ''}`), gz ? gzipSync(lbls) : lbls);
  return { imgs, lbls };
}

describe('datasets', () => {
  it('reads Fashion-MNIST IDX files, plain and gzipped, identically', () => {
    const a = mkdtempSync(join(tmpdir(), 'idx-'));
    const b = mkdtempSync(join(tmpdir(), 'idx-'));
    writeMnist(a, 12, false);
    writeMnist(b, 12, true);
    const da = loadFashionMnist(a, 'train');
    const db = loadFashionMnist(b, 'train');
    expect([da.size, da.channels, da.numClasses]).toEqual([12, 1, 10]);
    expect(Array.from(da.image(5).data)).toEqual(Array.from(db.image(5).data));
    expect(da.label(7)).toBe(7);
  });

  it('rejects a truncated IDX file naming the file and the sizes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    const { imgs } = writeMnist(dir, 4, false);
    writeFileSync(join(dir, 'train-images-idx3-ubyte'), imgs.subarray(0, imgs.length - 100));
    expect(() => loadFashionMnist(dir, 'train')).toThrow(
      /expected 3136 data bytes .* got 3036 \(truncated or corrupt\)/,
    );
    expect(() => parseIdx(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), 'x')).toThrow(/not a uint8 IDX file/);
  });

  it('names a missing dataset path', () => {
    expect(() => loadFashionMnist('/nonexistent/fmnist', 'train')).toThrow(
      /data\.path: file not found, got \/nonexistent\/fmnist\/train-images-idx3-ubyte or .*\.gz/,
    );
    expect(() => loadCifar10('/nonexistent/cifar', 'train')).toThrow(/CIFAR-10 directory not found/);
  });

  it('reads CIFAR-10 binary batches into HWC and rejects a partial record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cifar-'));
    const rec = new Uint8Array(3073);
    rec[0] = 3;
    rec[1] = 10; // R of pixel 0
    rec[1 + 1024] = 20; // G of pixel 0
    rec[1 + 2048] = 30; // B of pixel 0
    for (let i = 1; i <= 5; i++) writeFileSync(join(dir, `data_batch_${i}.bin`), rec);
    const ds = loadCifar10(dir, 'train');
    expect(ds.size).toBe(5);
    expect(Array.from(ds.image(0).data.subarray(0, 3))).toEqual([10, 20, 30]);
    expect(ds.label(4)).toBe(3);
    writeFileSync(join(dir, 'data_batch_2.bin'), rec.subarray(0, 3000));
    expect(() => loadCifar10(dir, 'train')).toThrow(/not a multiple of the 3073-byte record/);
  });

  it('indexes an ImageFolder at open, decodes on read, and errors or counts a skip on a bad file', async () => {
    const root = mkdtempSync(join(tmpdir(), 'imgf-'));
    for (const cls of ['dog', 'cat']) {
      mkdirSync(join(root, cls));
      const png = new PNG({ width: 5, height: 4 });
      png.data.fill(cls === 'cat' ? 50 : 200);
      writeFileSync(join(root, cls, 'a.png'), PNG.sync.write(png));
    }
    writeFileSync(join(root, 'dog', 'broken.jpg'), Buffer.from('not a jpeg'));
    const strict = loadImageFolder(root, { skipBadImages: false, indexCacheDir: '' });
    // Classes sorted by name (cat = 0, dog = 1), files sorted within a class; nothing decoded yet.
    expect([strict.size, strict.numClasses, strict.skipped]).toEqual([3, 2, 0]);
    expect([0, 1, 2].map((i) => strict.label(i))).toEqual([0, 1, 1]);
    await expect(strict.read(2)).rejects.toThrow(
      /cannot decode .*dog\/broken\.jpg: .* \(set data\.skipBadImages/,
    );
    expect(await strict.read(1)).toMatchObject({ height: 4, width: 5, label: 1 });
    expect((await strict.read(1)).data[0]).toBe(200);
    const lenient = loadImageFolder(root, { skipBadImages: true, indexCacheDir: '' });
    const replaced = await lenient.read(2); // broken.jpg: replaced by the next decodable file, cat/a.png
    expect([replaced.label, replaced.data[0], lenient.skipped]).toEqual([0, 50, 1]);
  });

  it('synthetic data is deterministic and the two splits differ', () => {
    const a = makeSyntheticDataset({ classes: 5, perClass: 4, size: 12, channels: 3, seed: 9 }, 'train');
    const b = makeSyntheticDataset({ classes: 5, perClass: 4, size: 12, channels: 3, seed: 9 }, 'train');
    const t = makeSyntheticDataset({ classes: 5, perClass: 4, size: 12, channels: 3, seed: 9 }, 'test');
    expect(Array.from(a.image(3).data)).toEqual(Array.from(b.image(3).data));
    expect(Array.from(a.image(3).data)).not.toEqual(Array.from(t.image(3).data));
    expect(new Set(Array.from({ length: a.size }, (_, i) => a.label(i))).size).toBe(5);
  });
});

describe('augmentation', () => {
  const cfg = parseTrainingConfig({});
  const ds = makeSyntheticDataset({ classes: 5, perClass: 4, size: 20, channels: 3, seed: 1 }, 'train');

  it('is reproducible from (seed, epoch, index) and differs between crops of one image', async () => {
    const opts = { epoch: 2, seed: 5, m: 3, size: 16, augment: cfg.data.augment };
    const a = await makeCropBatch(ds, Int32Array.from([0, 3]), opts);
    const b = await makeCropBatch(ds, Int32Array.from([0, 3]), opts);
    expect(Array.from(a.keys)).toEqual(Array.from(b.keys));
    expect(a.keys.length).toBe(3 * 2 * 16 * 16 * 3);
    const pix = 16 * 16 * 3;
    expect(Array.from(a.keys.subarray(0, pix))).not.toEqual(Array.from(a.keys.subarray(2 * pix, 3 * pix))); // crop 1 vs crop 2 of image 0
    const c = await makeCropBatch(ds, Int32Array.from([0, 3]), { ...opts, epoch: 3 });
    expect(Array.from(a.query)).not.toEqual(Array.from(c.query));
  });

  it('handles 1-channel images (colour ops degrade to brightness/contrast) and normalises', () => {
    const gray = {
      data: Uint8Array.from({ length: 28 * 28 }, (_, i) => (i * 7) % 256),
      height: 28,
      width: 28,
    };
    const out = new Float32Array(28 * 28);
    augmentInto(
      gray,
      1,
      28,
      { ...cfg.data.augment, jitterProb: 1, grayscaleProb: 1 },
      { mean: [0.5], std: [0.25] },
      new Rng(1),
      out,
      0,
    );
    expect(out.every((v) => Number.isFinite(v) && v >= -2.0001 && v <= 2.0001)).toBe(true);
    expect(new Set(out).size).toBeGreaterThan(10);
  });
});
