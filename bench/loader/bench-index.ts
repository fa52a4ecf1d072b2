/**
 * How long opening an ImageFolder of a million files takes (issue 15: "indexing a million files takes
 * seconds"), beside torchvision's ImageFolder indexing the same folder in the same run:
 *
 *   npx tsx bench/loader/bench-index.ts --root /tmp/jcl-imgf-1m --images 1000000 --classes 1000 [--reps 2]
 *
 * The folder is made on first use: `--classes` directories of empty `.JPEG` files named as ImageNet's
 * (n00000000_123.JPEG); indexing reads names only, so empty files index exactly like real ones. Each rep
 * times, in a fresh process state for the cache: a scan with no cache, a scan that writes the cache, a
 * start from the cache; then torchvision.datasets.ImageFolder(root) (its `make_dataset`, which also reads
 * names only) with Debian's python3. Prints one JSON line per measurement.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { indexSize, openFolderIndex } from '../../worker/src/data/image-folder-index.ts';

const { values: o } = parseArgs({
  options: {
    root: { type: 'string' },
    images: { type: 'string', default: '1000000' },
    classes: { type: 'string', default: '1000' },
    reps: { type: 'string', default: '2' },
    python: { type: 'string', default: '/usr/bin/python3' },
  },
});
if (!o.root) throw new Error('--root: required (a directory outside the repository, e.g. /tmp/jcl-imgf-1m)');
const root = o.root;
const [images, classes, reps] = [o.images, o.classes, o.reps].map(Number);
const python = o.python;

function makeFolder(): void {
  const perClass = Math.ceil(images / classes);
  const wnid = (c: number) => `n${String(c).padStart(8, '0')}`;
  const last = join(root, wnid(classes - 1));
  if (existsSync(last) && readdirSync(last).length === images - perClass * (classes - 1)) return;
  const t0 = performance.now();
  for (let c = 0; c < classes; c++) {
    const dir = join(root, wnid(c));
    mkdirSync(dir, { recursive: true });
    const n = Math.min(perClass, images - c * perClass);
    for (let i = 0; i < n; i++) writeFileSync(join(dir, `${wnid(c)}_${i}.JPEG`), '');
    if (c % 100 === 99) console.error(`made ${c + 1}/${classes} class folders`);
  }
  console.error(`folder made in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

function timed(what: string, f: () => number): void {
  const t0 = performance.now();
  const n = f();
  const ms = performance.now() - t0;
  const rssMB = Math.round(process.memoryUsage().rss / 2 ** 20);
  console.log(JSON.stringify({ what, images: n, ms: Math.round(ms), rssMB }));
}

makeFolder();
const torchvision = `
import json, sys, time, torchvision
t0 = time.perf_counter()
ds = torchvision.datasets.ImageFolder(sys.argv[1], loader=lambda p: p)
print(json.dumps({"what": "torchvision ImageFolder", "images": len(ds.samples),
                  "ms": round((time.perf_counter() - t0) * 1000)}))
`;
for (let rep = 1; rep <= reps; rep++) {
  console.error(`# rep ${rep}`);
  timed('jcl scan, no cache', () => indexSize(openFolderIndex(root, { cacheDir: '' })));
  const cacheDir = mkdtempSync(join(tmpdir(), 'jcl-index-cache-'));
  timed('jcl scan, writing the cache', () => indexSize(openFolderIndex(root, { cacheDir })));
  timed('jcl from the cache', () => indexSize(openFolderIndex(root, { cacheDir })));
  rmSync(cacheDir, { recursive: true, force: true });
  process.stdout.write(execFileSync(python, ['-c', torchvision, root], { encoding: 'utf8' }));
}
