import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTrainingConfig } from '../config/parse-config.ts';
import { Rng } from '../util/rng.ts';
import { BatchLoader, resolveLoaderWorkers, type BatchRequest } from './batch-loader.ts';
import type { ImageDataset } from './dataset.ts';
import { loadImageFolder } from './image-folder.ts';
import type { CropBatch } from './make-batch.ts';
import { makeSyntheticDataset } from './synthetic.ts';

/** A small ImageFolder of JPEGs and a PNG of several sizes, one large enough to be shrunk on load. */
async function writeFolder(): Promise<string> {
  const root = mkdtempSync(join(tmpdir(), 'loader-pool-'));
  const rng = new Rng(3);
  const sizes = [
    [90, 120],
    [120, 90],
    [64, 64],
    [900, 1200],
    [75, 100],
    [100, 75],
    [50, 80],
  ];
  for (let i = 0; i < sizes.length; i++) {
    const [h, w] = sizes[i];
    const raw = Buffer.alloc(h * w * 3);
    for (let k = 0; k < raw.length; k++) raw[k] = ((k * 7) % 200) + rng.int(56);
    const dir = join(root, i % 2 === 0 ? 'even' : 'odd');
    mkdirSync(dir, { recursive: true });
    const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
    if (i === 4) await img.png().toFile(join(dir, `img${i}.png`));
    else await img.jpeg({ quality: 90 }).toFile(join(dir, `img${i}.jpg`));
  }
  return root;
}

const requests = (size: number): BatchRequest[] =>
  [0, 1, 2, 3].map((s) => ({
    epoch: Math.floor(s / 2),
    indices: Int32Array.from({ length: 4 }, (_, i) => (s * 3 + i * 2) % size),
  }));

async function runAll(ds: ImageDataset, data: object, reqs: BatchRequest[]): Promise<CropBatch[]> {
  const cfg = parseTrainingConfig({ data: { imageSize: 32, ...data } });
  const loader = new BatchLoader(ds, { data: cfg.data, seed: 11, m: 2 });
  try {
    const out: CropBatch[] = [];
    for (let s = 0; s < reqs.length; s++) out.push(await loader.next(reqs[s], reqs.slice(s + 1)));
    return out;
  } finally {
    await loader.close();
  }
}

const plain = (b: CropBatch) => ({
  query: Array.from(b.query),
  keys: Array.from(b.keys),
  labels: Array.from(b.labels),
});

describe('BatchLoader with loader threads', () => {
  let root = '';
  beforeAll(async () => {
    root = await writeFolder();
  });

  it.each([
    ['an ImageFolder', 'folder'],
    ['the synthetic dataset', 'synthetic'],
  ])('makes bitwise the same batches, in order, inline and with 1 or 3 threads: %s', async (_, kind) => {
    const ds =
      kind === 'folder'
        ? loadImageFolder(root, { skipBadImages: false, indexCacheDir: '' })
        : makeSyntheticDataset({ classes: 3, perClass: 4, size: 32, channels: 3, seed: 0 }, 'train');
    const reqs = requests(ds.size);
    const inline = await runAll(ds, { prefetchBatches: 0 }, reqs);
    const one = await runAll(ds, { prefetchBatches: 2, loaderWorkers: 1 }, reqs);
    const three = await runAll(ds, { prefetchBatches: 2, loaderWorkers: 3 }, reqs);
    expect(one.map(plain)).toEqual(inline.map(plain));
    expect(three.map(plain)).toEqual(inline.map(plain));
    // In order: batch s holds the labels of request s's images.
    reqs.forEach((r, s) =>
      expect(Array.from(three[s].labels)).toEqual(Array.from(r.indices, (i) => ds.label(i))),
    );
    expect(inline[0].query.some((v) => v !== 0)).toBe(true);
    expect(plain(inline[0])).not.toEqual(plain(inline[2])); // other images, other epoch
  });

  it('reports an undecodable file from a loader thread with its name and the invalid_data code', async () => {
    const bad = await writeFolder();
    writeFileSync(join(bad, 'odd', 'img9.jpg'), 'not a jpeg'); // the last of 8: index 7
    const ds = loadImageFolder(bad, { skipBadImages: false, indexCacheDir: '' });
    const cfg = parseTrainingConfig({ data: { imageSize: 16, prefetchBatches: 1, loaderWorkers: 2 } });
    const loader = new BatchLoader(ds, { data: cfg.data, seed: 1, m: 1 });
    try {
      await expect(loader.next({ epoch: 0, indices: Int32Array.from([5, 6, 7]) }, [])).rejects.toMatchObject({
        code: 'invalid_data',
        message: expect.stringMatching(/cannot decode .*odd\/img9\.jpg.*set data\.skipBadImages/),
      });
    } finally {
      await loader.close();
    }
    const skipping = await runAll(
      loadImageFolder(bad, { skipBadImages: true, indexCacheDir: '' }),
      { prefetchBatches: 1, loaderWorkers: 2, skipBadImages: true },
      [{ epoch: 0, indices: Int32Array.from([5, 6, 7]) }],
    );
    expect(skipping[0].skipped).toBe(1);
    // odd/img3, odd/img5, then img9 replaced by the next file, wrapping round to even/img0.
    expect(Array.from(skipping[0].labels)).toEqual([1, 1, 0]);
  });

  it.each([
    ['exits', 'parentPort.on("message", () => process.exit(3));', /died \(it exited with code 3\)/],
    [
      'throws',
      'parentPort.on("message", () => { throw new Error("decoder blew up"); });',
      /died \(it threw decoder blew up\)/,
    ],
  ])('fails, never hangs, when a loader thread %s', async (_, body, why) => {
    const ds = makeSyntheticDataset({ classes: 2, perClass: 4, size: 16, channels: 3, seed: 0 }, 'train');
    const cfg = parseTrainingConfig({ data: { imageSize: 16, prefetchBatches: 1, loaderWorkers: 2 } });
    const workerUrl = new URL(
      `data:text/javascript,import { parentPort } from "node:worker_threads"; ${body}`,
    );
    const loader = new BatchLoader(ds, { data: cfg.data, seed: 1, m: 1, workerUrl });
    try {
      const req = { epoch: 0, indices: Int32Array.from([0, 1]) };
      await expect(loader.next(req, [])).rejects.toThrow(
        new RegExp(
          `data loader: worker thread [12] of 2 ${why.source}.*lower data\\.prefetchBatches or data\\.loaderWorkers`,
        ),
      );
      // Later batches fail at once with the same explanation.
      await expect(loader.next({ epoch: 0, indices: Int32Array.from([2, 3]) }, [])).rejects.toThrow(why);
    } finally {
      await loader.close();
    }
  });

  it('sizes the pool to the CPUs the process may use unless data.loaderWorkers is set', () => {
    expect([resolveLoaderWorkers(0, 6), resolveLoaderWorkers(0, 1.5), resolveLoaderWorkers(3, 6)]).toEqual([
      6, 1, 3,
    ]);
  });
});
