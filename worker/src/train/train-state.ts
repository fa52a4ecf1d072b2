/**
 * The trainable state of a JCL run (both encoders, optimizer, queue, RNG) and its conversion to and
 * from checkpoints, so that save -> load restores every bit the next step depends on.
 */
import type { TrainingConfig } from '../config/schema.ts';
import type { Collective } from '../distributed/collective.ts';
import { buildEncoder } from '../model/encoder.ts';
import { JclError } from '../util/errors.ts';
import { Rng } from '../util/rng.ts';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  type Checkpoint,
  type CheckpointHeader,
  type TensorRecord,
} from './checkpoint-format.ts';
import { KeyQueue } from './key-queue.ts';
import { Sgd } from './sgd.ts';
import type { StepState } from './train-step.ts';

export interface Position {
  epoch: number;
  stepInEpoch: number;
  globalStep: number;
}

/** Fresh state: query and key encoders from the same seed (identical), a random unit queue. */
export function createTrainState(cfg: TrainingConfig, channels: number, collective: Collective): StepState {
  const seed = cfg.runtime.seed;
  return {
    query: buildEncoder(cfg.model, channels, seed),
    key: buildEncoder(cfg.model, channels, seed),
    queue: new KeyQueue(cfg.model.embedDim, cfg.jcl.queueSize, seed + 1),
    sgd: new Sgd(cfg.optim.momentum, cfg.optim.weightDecay),
    collective,
    gradientDtype: cfg.dist.gradientDtype,
    shuffleRng: new Rng(seed + 2),
  };
}

export async function captureCheckpoint(
  st: StepState,
  cfg: TrainingConfig,
  pos: Position,
  info: Record<string, unknown>,
): Promise<Checkpoint> {
  const tensors = new Map<string, TensorRecord>();
  for (const [n, v] of await st.query.params.read()) tensors.set(`query/${n}`, v);
  for (const [n, v] of await st.key.params.read()) tensors.set(`key/${n}`, v);
  const sgd = await st.sgd.readState();
  for (const [n, v] of sgd.buffers) tensors.set(`sgd/${n}`, v);
  const q = await st.queue.read();
  tensors.set('queue', { shape: [st.queue.dim, st.queue.size], data: q.data });
  const header: CheckpointHeader = {
    version: 1,
    ...pos,
    queuePointer: q.pointer,
    rngState: st.shuffleRng.getState(),
    sgdSteps: sgd.steps,
    config: cfg,
    createdAt: new Date().toISOString(),
    info,
  };
  return { header, tensors };
}

export function restoreCheckpoint(st: StepState, ckpt: Checkpoint): Position {
  const pick = (prefix: string) => {
    const out = new Map<string, TensorRecord>();
    for (const [n, v] of ckpt.tensors) if (n.startsWith(prefix)) out.set(n.slice(prefix.length), v);
    return out;
  };
  st.query.params.write(pick('query/'));
  st.key.params.write(pick('key/'));
  st.sgd.writeState({ steps: ckpt.header.sgdSteps, buffers: pick('sgd/') });
  const queue = ckpt.tensors.get('queue');
  if (!queue) throw new JclError('checkpoint_corrupt', 'checkpoint has no queue tensor');
  st.queue.write(queue.data, ckpt.header.queuePointer);
  st.shuffleRng = new Rng(ckpt.header.rngState);
  const { epoch, stepInEpoch, globalStep } = ckpt.header;
  return { epoch, stepInEpoch, globalStep };
}

/**
 * Makes every rank hold rank 0's state: rank 0 serialises its (fresh or resumed) state and broadcasts
 * it, the others restore it. Covers initial weights of both encoders and, on resume, queue + pointer.
 */
export async function syncStateFromRankZero(
  st: StepState,
  cfg: TrainingConfig,
  pos: Position,
): Promise<Position> {
  const c = st.collective;
  if (c.worldSize === 1) return pos;
  const bytes =
    c.rank === 0 ? new Uint8Array(encodeCheckpoint(await captureCheckpoint(st, cfg, pos, {}))) : null;
  const received = await c.broadcast(bytes, 0);
  if (c.rank === 0) return pos;
  return restoreCheckpoint(
    st,
    decodeCheckpoint(
      Buffer.from(received.buffer, received.byteOffset, received.byteLength),
      'broadcast from rank 0',
    ),
  );
}

export function disposeTrainState(st: StepState): void {
  st.query.params.dispose();
  st.key.params.dispose();
  st.sgd.dispose();
  st.queue.dispose();
}
