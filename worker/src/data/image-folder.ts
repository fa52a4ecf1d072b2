/**
 * A streaming ImageFolder: opening it only indexes the files (see image-folder-index.ts); an image is
 * read and decoded (libvips, shrink-on-load) when a batch asks for it, so memory does not depend on the
 * dataset's size. An undecodable image is an error that names the file, or, with `skipBadImages`, a
 * counted skip: the next decodable image (in index order) takes its place, so batches keep their size.
 */
import { readFile } from 'node:fs/promises';
import { JclError } from '../util/errors.ts';
import type { ImageDataset, LabeledImage } from './dataset.ts';
import { decodeImage, type ShrinkLimit } from './decode-image.ts';
import { indexPath, indexSize, openFolderIndex, type FolderIndex } from './image-folder-index.ts';

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];
/** How many following files a skipped image may be replaced by before the read fails. */
const MAX_SUBSTITUTES = 64;

export interface ImageFolderOptions {
  skipBadImages: boolean;
  log?: (msg: string) => void;
  /** Where the index cache lives ('' for none; default ~/.cache/jcl-operator/image-folder-index). */
  indexCacheDir?: string;
}

/** An ImageFolder read on demand. Build it from an index so loader threads can share one. */
export class ImageFolderDataset implements ImageDataset {
  readonly channels = 3;
  readonly mean = IMAGENET_MEAN;
  readonly std = IMAGENET_STD;
  readonly name: string;
  skipped = 0;

  constructor(
    readonly index: FolderIndex,
    private readonly opts: Pick<ImageFolderOptions, 'skipBadImages' | 'log'>,
  ) {
    this.name = `image-folder:${index.root}`;
  }

  get size(): number {
    return indexSize(this.index);
  }

  get numClasses(): number {
    return this.index.classes.length;
  }

  label(i: number): number {
    return this.index.labels[i];
  }

  async read(i: number, maxShrink?: ShrinkLimit): Promise<LabeledImage> {
    const n = this.size;
    for (let k = 0; k < Math.min(n, MAX_SUBSTITUTES + 1); k++) {
      const j = (i + k) % n;
      const file = indexPath(this.index, j);
      try {
        const img = await decodeImage(await readFile(file), maxShrink);
        return { ...img, label: this.index.labels[j] };
      } catch (cause) {
        if (!this.opts.skipBadImages) {
          throw new JclError(
            'invalid_data',
            `data.path: cannot decode ${file}: ${(cause as Error).message} (set data.skipBadImages to skip such files)`,
            { cause },
          );
        }
        this.skipped++;
        this.opts.log?.(`skipping undecodable image ${file}`);
      }
    }
    throw new JclError(
      'invalid_data',
      `data.path: no decodable image among ${indexPath(this.index, i)} and the ${MAX_SUBSTITUTES} files after it`,
    );
  }
}

/** Indexes `root` (or reuses its cached index) and returns the dataset; nothing is decoded yet. */
export function loadImageFolder(root: string, opts: ImageFolderOptions): ImageFolderDataset {
  return new ImageFolderDataset(openFolderIndex(root, { cacheDir: opts.indexCacheDir, log: opts.log }), opts);
}
