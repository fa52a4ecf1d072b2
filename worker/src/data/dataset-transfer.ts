/**
 * Hands a dataset to loader worker threads without one copy per thread: the pixels of an in-memory
 * dataset and the index of an ImageFolder go across in shared memory, and each thread rebuilds its view.
 */
import { DenseDataset, type ImageDataset } from './dataset.ts';
import { ImageFolderDataset } from './image-folder.ts';
import type { FolderIndex } from './image-folder-index.ts';

/** A structured-cloneable description of a dataset (its big arrays in SharedArrayBuffers). */
export type DatasetDescriptor =
  | { kind: 'image-folder'; index: FolderIndex; skipBadImages: boolean }
  | {
      kind: 'dense';
      name: string;
      pixels: Uint8Array;
      labels: Int32Array | Uint8Array;
      height: number;
      width: number;
      channels: number;
      numClasses: number;
      mean: readonly number[];
      std: readonly number[];
    };

function shared<T extends Uint8Array | Int32Array>(a: T): T {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const ctor = a.constructor as new (b: SharedArrayBuffer) => T;
  const s = new ctor(new SharedArrayBuffer(a.byteLength));
  s.set(a as never);
  return s;
}

/** Describes `ds` for other threads (copies an in-memory dataset into shared memory once). */
export function describeDataset(ds: ImageDataset, skipBadImages: boolean): DatasetDescriptor {
  if (ds instanceof ImageFolderDataset) return { kind: 'image-folder', index: ds.index, skipBadImages };
  if (ds instanceof DenseDataset) {
    return {
      kind: 'dense',
      name: ds.name,
      pixels: shared(ds.pixels),
      labels: shared(ds.labels),
      height: ds.height,
      width: ds.width,
      channels: ds.channels,
      numClasses: ds.numClasses,
      mean: ds.mean,
      std: ds.std,
    };
  }
  throw new TypeError(
    `dataset ${ds.name}: cannot be handed to loader threads (neither dense nor an ImageFolder)`,
  );
}

/** The dataset a descriptor describes, on this thread. */
export function openDescribed(d: DatasetDescriptor, log?: (msg: string) => void): ImageDataset {
  if (d.kind === 'image-folder')
    return new ImageFolderDataset(d.index, { skipBadImages: d.skipBadImages, log });
  return new DenseDataset(
    d.name,
    d.pixels,
    d.labels,
    d.height,
    d.width,
    d.channels,
    d.numClasses,
    d.mean,
    d.std,
  );
}
