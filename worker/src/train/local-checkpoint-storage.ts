/**
 * Checkpoints in a directory (a local disk, or a ReadWriteOnce/ReadWriteMany claim): temp file, fsync,
 * rename, fsync of the directory, so a checkpoint's name appears only once all its bytes are on disk. A
 * writer killed mid-save leaves only a `.tmp-<pid>` file, which leftovers() reports. I/O edge.
 */
import {
  accessSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { JclError } from '../util/errors.ts';
import { CHECKPOINT_NAME, type CheckpointStorage } from './checkpoint-storage.ts';

const TEMP = /^ckpt-\d{9}\.jclckpt\.tmp-\d+$/;

export class LocalCheckpointStorage implements CheckpointStorage {
  readonly location: string;

  constructor(dir: string) {
    this.location = dir;
  }

  async check(write: boolean): Promise<void> {
    if (!write) return;
    try {
      mkdirSync(this.location, { recursive: true });
      accessSync(this.location, constants.W_OK);
    } catch (cause) {
      throw new JclError(
        'invalid_config',
        `checkpoint directory ${this.location}: not writable (${(cause as Error).message}); mount a writable volume there or change runtime.outDir`,
        { cause },
      );
    }
  }

  async list(): Promise<string[]> {
    return this.names()
      .filter((f) => CHECKPOINT_NAME.test(f))
      .sort()
      .reverse();
  }

  async read(name: string): Promise<Buffer> {
    return readFileSync(this.where(name));
  }

  async publish(name: string, bytes: Buffer): Promise<string> {
    mkdirSync(this.location, { recursive: true });
    const path = this.where(name);
    const tmp = `${path}.tmp-${process.pid}`;
    const fd = openSync(tmp, 'w');
    try {
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    const dfd = openSync(this.location, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
    return path;
  }

  async remove(name: string): Promise<void> {
    unlinkSync(this.where(name));
  }

  async leftovers(): Promise<string[]> {
    return this.names()
      .filter((f) => TEMP.test(f))
      .map((f) => `${this.where(f)} (temporary file of an unfinished save)`);
  }

  async removeLeftovers(): Promise<void> {
    for (const f of this.names().filter((n) => TEMP.test(n))) unlinkSync(this.where(f));
  }

  where(name: string): string {
    return join(this.location, name);
  }

  private names(): string[] {
    return existsSync(this.location) ? readdirSync(this.location) : [];
  }
}
