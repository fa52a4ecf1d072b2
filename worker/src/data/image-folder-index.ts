/**
 * The index of an ImageFolder (torchvision layout): <root>/<class>/**\/<image>, classes sorted by name,
 * within a class the directories walked in sorted order and the files of each sorted, as torchvision's
 * `make_dataset` does. Only names are read (no stat, no decode), so a million files index in seconds;
 * the index is cached on disk, keyed by the root, and reused while no directory's mtime has changed
 * (adding, removing or renaming a file changes its directory's mtime).
 *
 * The file names live in shared memory (SharedArrayBuffer) so loader worker threads use the one copy.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { extname, join } from 'node:path';
import { JclError } from '../util/errors.ts';

/** Extensions indexed (lower-cased), the subset of torchvision's IMG_EXTENSIONS that libvips decodes. */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png', '.webp']);

/** Paths and labels of an ImageFolder; every array is backed by shared memory. */
export interface FolderIndex {
  readonly root: string;
  readonly classes: readonly string[];
  /** UTF-8 relative paths, back to back; file i is names[offsets[i], offsets[i + 1]). */
  readonly names: Uint8Array;
  readonly offsets: Uint32Array; // [n + 1]
  readonly labels: Int32Array; // [n]
}

/** Number of files in the index. */
export function indexSize(ix: FolderIndex): number {
  return ix.labels.length;
}

const decoder = new TextDecoder();

/** Absolute path of file i. */
export function indexPath(ix: FolderIndex, i: number): string {
  return join(ix.root, decoder.decode(ix.names.subarray(ix.offsets[i], ix.offsets[i + 1])));
}

/** Directory mtimes the index was built from: [relative dir, mtimeMs]. */
type Signature = [string, number][];

const MAGIC = 'JCLIDX1\n';

/** The default index cache directory: $XDG_CACHE_HOME or ~/.cache, then jcl-operator/image-folder-index. */
export function defaultIndexCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'jcl-operator', 'image-folder-index');
}

/**
 * Indexes `root`, from the cache in `cacheDir` when it is still valid (pass '' for no cache). A cache
 * that cannot be written (read-only file system) is not an error: the next start indexes again.
 */
export function openFolderIndex(
  root: string,
  opts: { cacheDir?: string; log?: (msg: string) => void } = {},
): FolderIndex {
  let rootStat;
  try {
    rootStat = statSync(root);
  } catch {
    throw new JclError('not_found', `data.path: image folder not found, got ${root}`);
  }
  if (!rootStat.isDirectory())
    throw new JclError('not_found', `data.path: image folder not found, got ${root}`);
  const cacheDir = opts.cacheDir ?? defaultIndexCacheDir();
  const cacheFile = cacheDir
    ? join(cacheDir, `${createHash('sha256').update(root).digest('hex').slice(0, 32)}.idx`)
    : '';
  if (cacheFile) {
    const cached = readCache(cacheFile, root);
    if (cached) return cached;
  }
  const { index, signature } = scanFolder(root);
  if (cacheFile) {
    try {
      mkdirSync(cacheDir, { recursive: true });
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, encodeCache(index, signature));
      renameSync(tmp, cacheFile);
    } catch (err) {
      opts.log?.(`image-folder index cache not written to ${cacheFile}: ${(err as Error).message}`);
    }
  }
  return index;
}

function scanFolder(root: string): { index: FolderIndex; signature: Signature } {
  const signature: Signature = [['', statSync(root).mtimeMs]];
  const classes = readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() || (d.isSymbolicLink() && statSync(join(root, d.name)).isDirectory()))
    .map((d) => d.name)
    .sort();
  if (classes.length === 0)
    throw new JclError('invalid_data', `data.path: ${root} has no class sub-directories`);
  const names: string[] = [];
  const labels: number[] = [];
  classes.forEach((cls, label) => {
    const dirs: { rel: string; files: string[] }[] = [];
    walk(root, cls, dirs, signature);
    dirs.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
    for (const d of dirs) {
      for (const f of d.files.sort()) {
        names.push(`${d.rel}/${f}`);
        labels.push(label);
      }
    }
  });
  if (names.length === 0)
    throw new JclError('invalid_data', `data.path: no .jpg/.jpeg/.png/.webp images under ${root}`);
  return { index: buildIndex(root, classes, names, labels), signature };
}

function walk(root: string, rel: string, out: { rel: string; files: string[] }[], sig: Signature): void {
  const abs = join(root, rel);
  sig.push([rel, statSync(abs).mtimeMs]);
  const files: string[] = [];
  for (const e of readdirSync(abs, { withFileTypes: true })) {
    const isDir = e.isDirectory() || (e.isSymbolicLink() && statSync(join(abs, e.name)).isDirectory());
    if (isDir) walk(root, `${rel}/${e.name}`, out, sig);
    else if (IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) files.push(e.name);
  }
  out.push({ rel, files });
}

function buildIndex(root: string, classes: string[], names: string[], labels: number[]): FolderIndex {
  // One encode of all names (a million small encodes cost as much as the directory scan itself); the
  // offsets are the names' lengths when every name is ASCII (each char one byte), else encoded one by one.
  const all = names.join('');
  const enc = new TextEncoder();
  const scratch = new Uint8Array(all.length * 3);
  const { written } = enc.encodeInto(all, scratch);
  const ascii = written === all.length;
  const ix = allocIndex(root, classes, names.length, written);
  ix.names.set(scratch.subarray(0, written));
  let at = 0;
  for (let i = 0; i < names.length; i++) {
    ix.offsets[i] = at;
    at += ascii ? names[i].length : enc.encode(names[i]).length;
    ix.labels[i] = labels[i];
  }
  ix.offsets[names.length] = at;
  return ix;
}

function allocIndex(root: string, classes: string[], n: number, nameBytes: number): FolderIndex {
  return {
    root,
    classes,
    names: new Uint8Array(new SharedArrayBuffer(Math.max(1, nameBytes))).subarray(0, nameBytes),
    offsets: new Uint32Array(new SharedArrayBuffer(4 * (n + 1))),
    labels: new Int32Array(new SharedArrayBuffer(4 * n)),
  };
}

// Cache file: MAGIC, uint32 header length, JSON header, then offsets, labels and names as raw bytes.
function encodeCache(ix: FolderIndex, signature: Signature): Buffer {
  const header = Buffer.from(
    JSON.stringify({
      root: ix.root,
      classes: ix.classes,
      n: ix.labels.length,
      nameBytes: ix.names.length,
      signature,
    }),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const raw = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  return Buffer.concat([Buffer.from(MAGIC), len, header, raw(ix.offsets), raw(ix.labels), raw(ix.names)]);
}

function readCache(file: string, root: string): FolderIndex | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  try {
    if (buf.subarray(0, MAGIC.length).toString() !== MAGIC) return undefined;
    const hlen = buf.readUInt32LE(MAGIC.length);
    let at = MAGIC.length + 4;
    const h = JSON.parse(buf.subarray(at, at + hlen).toString()) as {
      root: string;
      classes: string[];
      n: number;
      nameBytes: number;
      signature: Signature;
    };
    at += hlen;
    if (h.root !== root || buf.length !== at + 8 * h.n + 4 + h.nameBytes) return undefined;
    if (!h.signature.every(([rel, mtime]) => dirMtime(join(root, rel)) === mtime)) return undefined;
    const ix = allocIndex(root, h.classes, h.n, h.nameBytes);
    const take = (dst: ArrayBufferView) => {
      new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength).set(buf.subarray(at, at + dst.byteLength));
      at += dst.byteLength;
    };
    take(ix.offsets);
    take(ix.labels);
    take(ix.names);
    return ix;
  } catch {
    return undefined; // a torn or foreign file: index again
  }
}

function dirMtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}
