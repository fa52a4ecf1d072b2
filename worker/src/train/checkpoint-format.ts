/**
 * Pure (de)serialisation of a training checkpoint: magic, a JSON header, float32 tensor payloads and a
 * SHA-256 of everything before it. Both encoders, the SGD momentum buffers, the queue and its pointer,
 * epoch/step, RNG state and the config (shared/docs/JCL.md, "Distributed details").
 */
import { createHash } from 'node:crypto';
import { JclError } from '../util/errors.ts';

const MAGIC = Buffer.from('JCLCKPT1', 'ascii');
const HASH_BYTES = 32;

export interface TensorRecord {
  shape: number[];
  data: Float32Array;
}

export interface CheckpointHeader {
  version: 1;
  /** Epoch to continue in and the step within it (the checkpoint is taken after step-1 completed). */
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
  queuePointer: number;
  rngState: [number, number, number, number];
  sgdSteps: number;
  config: unknown;
  createdAt: string;
  /** Free-form facts for people (loss at save time, world size, backend). */
  info: Record<string, unknown>;
}

export interface Checkpoint {
  header: CheckpointHeader;
  /** Names like query/conv1.weight, key/..., sgd/..., queue. */
  tensors: Map<string, TensorRecord>;
}

interface TensorIndexEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export function encodeCheckpoint(ckpt: Checkpoint): Buffer {
  const index: TensorIndexEntry[] = [];
  let offset = 0;
  for (const [name, t] of ckpt.tensors) {
    index.push({ name, shape: t.shape, offset, length: t.data.length });
    offset += t.data.length * 4;
  }
  const headerBytes = Buffer.from(JSON.stringify({ ...ckpt.header, tensors: index }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(headerBytes.length);
  // Pad the header so the payload is 4-byte aligned and can be viewed as Float32Array on read.
  const pad = Buffer.alloc((4 - ((MAGIC.length + 4 + headerBytes.length) % 4)) % 4, 0x20);
  const parts: Buffer[] = [MAGIC, len, headerBytes, pad];
  for (const t of ckpt.tensors.values())
    parts.push(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  const body = Buffer.concat(parts);
  const hash = createHash('sha256').update(body).digest();
  return Buffer.concat([body, hash]);
}

export function decodeCheckpoint(buf: Buffer, source: string): Checkpoint {
  const bad = (why: string) => new JclError('checkpoint_corrupt', `${source}: ${why}`);
  if (buf.length < MAGIC.length + 4 + HASH_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC))
    throw bad('not a JCL checkpoint (bad magic or too short)');
  const body = buf.subarray(0, buf.length - HASH_BYTES);
  const want = buf.subarray(buf.length - HASH_BYTES);
  if (!createHash('sha256').update(body).digest().equals(want))
    throw bad('checksum mismatch (truncated or corrupt)');
  const hlen = body.readUInt32LE(MAGIC.length);
  const hstart = MAGIC.length + 4;
  let parsed: CheckpointHeader & { tensors: TensorIndexEntry[] };
  try {
    parsed = JSON.parse(body.subarray(hstart, hstart + hlen).toString('utf8'));
  } catch (cause) {
    throw new JclError('checkpoint_corrupt', `${source}: unreadable header`, { cause });
  }
  if (parsed.version !== 1) throw bad(`unsupported checkpoint version ${parsed.version}`);
  const payloadStart = hstart + hlen + ((4 - ((hstart + hlen) % 4)) % 4);
  const payload = body.subarray(payloadStart);
  const aligned = new Uint8Array(payload.length);
  aligned.set(payload);
  const tensors = new Map<string, TensorRecord>();
  for (const t of parsed.tensors) {
    if (t.offset + t.length * 4 > aligned.length) throw bad(`tensor ${t.name} runs past the end`);
    tensors.set(t.name, { shape: t.shape, data: new Float32Array(aligned.buffer, t.offset, t.length) });
  }
  const { tensors: _index, ...header } = parsed;
  return { header, tensors };
}
