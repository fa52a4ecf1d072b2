/** Opens the dataset a config names: the one place that maps data.format to a loader. */
import { existsSync, statSync } from 'node:fs';
import type { TrainingConfig } from '../config/schema.ts';
import { loadCifar10 } from './cifar10.ts';
import type { ImageDataset } from './dataset.ts';
import { FASHION_MNIST_DEFAULT_DIR, loadFashionMnist } from './idx.ts';
import { loadImageFolder } from './image-folder.ts';
import { makeSyntheticDataset } from './synthetic.ts';

export function openDataset(
  data: TrainingConfig['data'],
  split: 'train' | 'test',
  seed: number,
  log?: (m: string) => void,
): ImageDataset {
  const format: string = data.format;
  switch (data.format) {
    case 'synthetic':
      return makeSyntheticDataset(
        {
          classes: data.syntheticClasses,
          perClass:
            split === 'train' ? data.syntheticPerClass : Math.max(10, Math.ceil(data.syntheticPerClass / 4)),
          size: data.imageSize,
          channels: 3,
          seed,
        },
        split,
      );
    case 'fashion-mnist':
      return loadFashionMnist(data.path || FASHION_MNIST_DEFAULT_DIR, split);
    case 'cifar10':
      return loadCifar10(data.path, split);
    case 'image-folder': {
      // A folder with train/ and val/ sub-folders is split; otherwise the whole folder serves both.
      const sub = split === 'train' ? 'train' : 'val';
      const candidate = `${data.path.replace(/\/$/, '')}/${sub}`;
      return loadImageFolder(existsDir(candidate) ? candidate : data.path, {
        skipBadImages: data.skipBadImages,
        log,
      });
    }
  }
  throw new Error(`data.format: unsupported, got ${format}`);
}

function existsDir(p: string): boolean {
  return existsSync(p) && statSync(p).isDirectory();
}
