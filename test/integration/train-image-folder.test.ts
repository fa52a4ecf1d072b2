/** `jcl train --dataset image-folder` end to end: a generated JPEG/PNG folder, streamed through loader threads. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../worker/src/util/rng.ts';
import { runJcl, tinyTrainArgs } from './support/run-jcl.ts';

/** <root>/{train,val}/{class}/imgN.{jpg,png}: each class a colour, with noise; sizes vary. */
async function writeImageFolder(root: string, perClass: { train: number; val: number }): Promise<void> {
  const rng = new Rng(5);
  const colours = { red: [200, 40, 40], blue: [40, 60, 210] };
  for (const split of ['train', 'val'] as const) {
    for (const [cls, rgb] of Object.entries(colours)) {
      const dir = join(root, split, cls);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perClass[split]; i++) {
        const w = 40 + rng.int(24);
        const h = 32 + rng.int(24);
        const raw = Buffer.alloc(w * h * 3);
        for (let k = 0; k < raw.length; k++)
          raw[k] = Math.max(0, Math.min(255, rgb[k % 3] + rng.int(60) - 30));
        const img = sharp(raw, { raw: { width: w, height: h, channels: 3 } });
        if (i % 5 === 0) await img.png().toFile(join(dir, `img${i}.png`));
        else await img.jpeg({ quality: 90 }).toFile(join(dir, `img${i}.jpg`));
      }
    }
  }
}

const folderArgs = (root: string, out: string) => [
  'train',
  ...tinyTrainArgs(1),
  '--dataset',
  'image-folder',
  '--data-path',
  root,
  '--image-size',
  '16',
  '--out',
  out,
  '--set',
  'data.loaderWorkers=2',
];

describe('jcl train on an ImageFolder', () => {
  let root = '';
  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'train-imgf-'));
    await writeImageFolder(root, { train: 16, val: 8 });
  });

  it('trains from the streamed folder with two loader threads and evaluates k-NN on val/', () => {
    const out = mkdtempSync(join(tmpdir(), 'train-imgf-out-'));
    const r = runJcl(folderArgs(root, out), { HOME: out }); // the index cache goes under $HOME/.cache
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.globalStep).toBe(2); // 32 training images / batch 16
    expect(summary.config.data).toMatchObject({ format: 'image-folder', loaderWorkers: 2, imageSize: 16 });
    const logs = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    expect(logs.find((l) => l.msg === 'data loader started')).toMatchObject({ loaderWorkers: 2 });
    expect(logs.find((l) => l.images === 32)).toMatchObject({ classes: 2 });
    const knn = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((l) => l.type === 'knn');
    expect(knn).toMatchObject({ epoch: 1, k: 5 });
  });

  it('fails with exit code 65 naming an undecodable training file, or skips it when asked', () => {
    const bad = mkdtempSync(join(tmpdir(), 'train-imgf-bad-'));
    const args = (out: string, more: string[] = []) => [...folderArgs(root, out), ...more];
    writeFileSync(join(root, 'train', 'red', 'zz-broken.jpg'), 'not a jpeg');
    const r = runJcl(args(join(bad, 'a')), { HOME: bad });
    expect(r.code).toBe(65);
    expect(r.stdout + r.stderr).toMatch(
      /cannot decode .*train\/red\/zz-broken\.jpg.*set data\.skipBadImages/,
    );
    const s = runJcl(args(join(bad, 'b'), ['--skip-bad-images']), { HOME: bad });
    expect(s.code).toBe(0);
    expect(JSON.parse(readFileSync(join(bad, 'b', 'summary.json'), 'utf8')).globalStep).toBe(2);
  });
});
