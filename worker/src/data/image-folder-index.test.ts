import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { indexPath, indexSize, openFolderIndex } from './image-folder-index.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A folder of empty files at the given relative paths (indexing reads names only). */
function folder(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'jcl-ix-'));
  dirs.push(root);
  for (const f of files) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return root;
}

const all = (root: string, ix = openFolderIndex(root, { cacheDir: '' })) =>
  Array.from({ length: indexSize(ix) }, (_, i) => [indexPath(ix, i).slice(root.length + 1), ix.labels[i]]);

describe('openFolderIndex', () => {
  it('orders classes, sub-directories and files as torchvision does, images only', () => {
    const root = folder([
      'b/2.jpg',
      'b/1.PNG',
      'a/z/3.jpeg',
      'a/10.webp',
      'a/9.jpg',
      'a/notes.txt',
      'c/x.gif', // not an extension libvips decodes here: class c exists but is empty
    ]);
    const ix = openFolderIndex(root, { cacheDir: '' });
    expect(ix.classes).toEqual(['a', 'b', 'c']);
    expect(all(root, ix)).toEqual([
      ['a/10.webp', 0],
      ['a/9.jpg', 0],
      ['a/z/3.jpeg', 0],
      ['b/1.PNG', 1],
      ['b/2.jpg', 1],
    ]);
  });

  it.each([
    ['ASCII only', ['k/a.jpg', 'k/bb.jpg', 'l/ccc.jpg']],
    ['non-ASCII names (multi-byte UTF-8)', ['k/é.jpg', 'k/日本語.jpg', 'l/x.jpg', 'l/ü/ä.png', 'm/😀.jpg']],
  ])('round-trips every path with %s, from a scan and from the cache', (_name, files) => {
    const root = folder(files);
    const cacheDir = mkdtempSync(join(tmpdir(), 'jcl-ix-cache-'));
    dirs.push(cacheDir);
    const scanned = all(root, openFolderIndex(root, { cacheDir }));
    expect(readdirSync(cacheDir)).toHaveLength(1);
    expect(scanned.map(([p]) => p).sort()).toEqual([...files].sort());
    expect(all(root, openFolderIndex(root, { cacheDir }))).toEqual(scanned);
  });

  it('indexes again when a directory changed since the cache was written', () => {
    const root = folder(['a/1.jpg', 'b/1.jpg']);
    const cacheDir = mkdtempSync(join(tmpdir(), 'jcl-ix-cache-'));
    dirs.push(cacheDir);
    expect(indexSize(openFolderIndex(root, { cacheDir }))).toBe(2);
    writeFileSync(join(root, 'b', '2.jpg'), '');
    expect(all(root, openFolderIndex(root, { cacheDir }))).toEqual([
      ['a/1.jpg', 0],
      ['b/1.jpg', 1],
      ['b/2.jpg', 1],
    ]);
  });

  it.each([
    [
      'a missing folder',
      (root: string) => join(root, 'nope'),
      /data\.path: image folder not found, got .*nope/,
    ],
    ['no class directories', (root: string) => root, /has no class sub-directories/],
  ])('names the problem for %s', (_name, pick, message) => {
    const root = folder([]);
    expect(() => openFolderIndex(pick(root), { cacheDir: '' })).toThrow(message);
  });
});
