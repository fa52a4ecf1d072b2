/**
 * The collective algorithms over an abstract Transport: ring all-reduce (reduce-scatter + all-gather) with
 * fused buckets and chunk-level pipelining, ring all-gather, pipelined ring broadcast and a barrier.
 * Orchestration only: schedules come from ring-schedule.ts, bytes move through the Transport.
 */
import { JclError } from '../util/errors.ts';
import { planBuckets, type Bucket } from './buckets.ts';
import type { AllReduceOptions, Collective } from './collective.ts';
import {
  allGatherSchedule,
  allReduceSchedule,
  broadcastRoles,
  chunkRanges,
  ringNeighbours,
  segmentRanges,
  type Range,
  type RingStep,
} from './ring-schedule.ts';
import { addInto, addScaleInto } from './simd-reduce.ts';
import { bytesOf, floatsOf, type Frame, type Transport } from './transport.ts';
import {
  addFromBf16,
  addScaleFromBf16,
  copyFromBf16,
  halvesOf,
  roundToBf16InPlace,
  toBf16,
  wireBytesPerElement,
  type GradientDtype,
} from './bf16.ts';

export interface RingOptions {
  /** Bytes per frame; smaller pipelines better, larger costs less per-frame overhead. Multiple of 4. */
  chunkBytes?: number;
  /** Bytes per fused gradient bucket. */
  bucketBytes?: number;
  /** Called once with the error that broke the ring (logging, status). */
  onFailure?: (err: JclError) => void;
}

export const DEFAULT_CHUNK_BYTES = 1 << 20;
export const DEFAULT_BUCKET_BYTES = 32 << 20;

export class RingCollective implements Collective {
  readonly rank: number;
  readonly worldSize: number;
  private readonly chunkElems: number;
  private readonly bucketElems: number;
  private readonly next: number;
  private readonly prev: number;
  private opId = 0;
  private bucketScratch = new Float32Array(0);
  private readonly alignScratch = { buf: new Float32Array(0) };
  private readonly halfScratch = { buf: new Uint16Array(0) };
  /** bfloat16 send buffers, one per phase: a segment is sent at most once per phase of an all-reduce. */
  private wire: [Uint16Array, Uint16Array] = [new Uint16Array(0), new Uint16Array(0)];
  private failure: JclError | null = null;

  private readonly onFailure: (err: JclError) => void;

  constructor(
    private readonly transport: Transport,
    opts: RingOptions = {},
  ) {
    this.onFailure = opts.onFailure ?? (() => {});
    this.rank = transport.rank;
    this.worldSize = transport.worldSize;
    const chunkBytes = opts.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    const bucketBytes = opts.bucketBytes ?? DEFAULT_BUCKET_BYTES;
    if (chunkBytes < 4 || chunkBytes % 4 !== 0) {
      throw new RangeError(`RingCollective: chunkBytes must be a positive multiple of 4, got ${chunkBytes}`);
    }
    if (bucketBytes < chunkBytes) {
      throw new RangeError(
        `RingCollective: bucketBytes must be >= chunkBytes (${chunkBytes}), got ${bucketBytes}`,
      );
    }
    this.chunkElems = chunkBytes / 4;
    this.bucketElems = Math.floor(bucketBytes / 4);
    ({ next: this.next, prev: this.prev } = ringNeighbours(this.rank, this.worldSize));
  }

  async allReduceMean(buffers: Float32Array[], opts: AllReduceOptions = {}): Promise<void> {
    if (this.worldSize === 1) return;
    const dtype = opts.dtype ?? 'float32';
    const scale = 1 / this.worldSize;
    for (const bucket of planBuckets(
      buffers.map((b) => b.length),
      this.bucketElems,
    )) {
      const data = this.packBucket(buffers, bucket);
      await this.guard(() =>
        this.runRing(
          data,
          segmentRanges(data.length, this.worldSize),
          allReduceSchedule(this.rank, this.worldSize),
          scale,
          dtype,
        ),
      );
      this.unpackBucket(buffers, bucket, data);
    }
  }

  async allGather(local: Float32Array): Promise<Float32Array> {
    const n = this.worldSize;
    const out = new Float32Array(n * local.length);
    out.set(local, this.rank * local.length);
    if (n === 1) return out;
    const blocks = Array.from({ length: n }, (_, i) => ({
      start: i * local.length,
      end: (i + 1) * local.length,
    }));
    await this.guard(() => this.runRing(out, blocks, allGatherSchedule(this.rank, n)));
    return out;
  }

  async broadcast(data: Uint8Array | null, root = 0): Promise<Uint8Array> {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) {
      throw new RangeError(`broadcast: root must be a rank in [0, ${this.worldSize}), got ${root}`);
    }
    if (this.rank === root && data === null)
      throw new RangeError('broadcast: the root must pass data, got null');
    if (this.worldSize === 1) return data as Uint8Array;
    return this.guard(() => this.runBroadcast(data, root));
  }

  async barrier(): Promise<void> {
    // An all-gather completes only after every rank has contributed, i.e. entered the barrier.
    await this.allGather(new Float32Array([this.rank]));
  }

  /** Fail every later call with the same error; a broken ring cannot be resumed (the gang restarts). */
  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    if (this.failure !== null) throw this.failure;
    try {
      return await fn();
    } catch (err) {
      const jcl =
        err instanceof JclError ? err : new JclError('internal', 'collective failed', { cause: err });
      if (this.failure === null) {
        this.failure = jcl;
        this.onFailure(jcl);
        this.transport.abort(jcl);
      }
      throw jcl;
    }
  }

  private packBucket(buffers: Float32Array[], bucket: Bucket): Float32Array {
    if (bucket.pieces.length === 1) {
      const p = bucket.pieces[0];
      return buffers[p.buffer].subarray(p.srcOffset, p.srcOffset + p.length);
    }
    if (this.bucketScratch.length < bucket.length) this.bucketScratch = new Float32Array(this.bucketElems);
    const data = this.bucketScratch.subarray(0, bucket.length);
    for (const p of bucket.pieces)
      data.set(buffers[p.buffer].subarray(p.srcOffset, p.srcOffset + p.length), p.bucketOffset);
    return data;
  }

  private unpackBucket(buffers: Float32Array[], bucket: Bucket, data: Float32Array): void {
    // A single piece is a view of the caller's buffer (packBucket): the result is already in place.
    if (bucket.pieces.length === 1) return;
    for (const p of bucket.pieces) {
      buffers[p.buffer].set(data.subarray(p.bucketOffset, p.bucketOffset + p.length), p.srcOffset);
    }
  }

  /**
   * Run ring steps over `data` split into `segments`. The segment received at step t is the one sent at
   * t+1 (ring-schedule.ts), so each chunk is forwarded the moment it has been received and combined.
   * `finalScale` multiplies each segment once, by its owner at its last reduce step, so the mean costs no
   * extra pass over the buffer and every rank receives the same scaled bits in the all-gather.
   *
   * With `dtype` bfloat16 each chunk is rounded to bfloat16 as it is sent and added into the float32
   * `data` as it arrives (float32 accumulation); the owner of a segment rounds its final mean to bfloat16
   * in place, so that every rank ends with the same bits as the ones it sent in the all-gather.
   */
  private async runRing(
    data: Float32Array,
    segments: Range[],
    steps: RingStep[],
    finalScale = 1,
    dtype: GradientDtype = 'float32',
  ): Promise<void> {
    const opId = this.nextOpId();
    const sends: Promise<void>[] = [];
    const sendChunks = steps.map((s) => chunkRanges(segments[s.send], this.chunkElems));
    const recvChunks = steps.map((s) => chunkRanges(segments[s.recv], this.chunkElems));
    const half = dtype === 'bfloat16';
    if (half && this.wire[0].length < data.length)
      this.wire = [new Uint16Array(data.length), new Uint16Array(data.length)];
    const sendChunk = (t: number, k: number): void => {
      const c = sendChunks[t][k];
      let payload: Uint8Array;
      if (half) {
        const w = this.wire[steps[t].op === 'reduce' ? 0 : 1].subarray(c.start, c.end);
        toBf16(data.subarray(c.start, c.end), w);
        payload = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
      } else payload = bytesOf(data.subarray(c.start, c.end));
      track(sends, this.transport.send(this.next, { opId, step: t, chunk: k, payload }));
    };
    const elemBytes = wireBytesPerElement(dtype);
    if (steps.length > 0) for (let k = 0; k < sendChunks[0].length; k++) sendChunk(0, k);
    for (let t = 0; t < steps.length; t++) {
      const { op } = steps[t];
      const lastReduce = op === 'reduce' && (t + 1 === steps.length || steps[t + 1].op !== 'reduce');
      const chunks = recvChunks[t];
      for (let k = 0; k < chunks.length; k++) {
        const frame = await this.transport.recv(this.prev);
        const c = chunks[k];
        this.checkFrame(frame, opId, t, k, (c.end - c.start) * elemBytes);
        const dst = data.subarray(c.start, c.end);
        if (half) {
          const incoming = halvesOf(frame.payload, this.halfScratch);
          if (lastReduce) {
            addScaleFromBf16(dst, incoming, finalScale);
            roundToBf16InPlace(dst);
          } else if (op === 'reduce') addFromBf16(dst, incoming);
          else copyFromBf16(dst, incoming);
          if (t + 1 < steps.length) sendChunk(t + 1, k);
          continue;
        }
        const incoming = floatsOf(frame.payload, this.alignScratch);
        if (lastReduce && finalScale !== 1) addScaleInto(dst, incoming, finalScale);
        else if (op === 'reduce') addInto(dst, incoming);
        else dst.set(incoming);
        if (t + 1 < steps.length) sendChunk(t + 1, k);
      }
    }
    await Promise.all(sends);
  }

  private async runBroadcast(data: Uint8Array | null, root: number): Promise<Uint8Array> {
    const opId = this.nextOpId();
    const { receives, forwards } = broadcastRoles(this.rank, this.worldSize, root);
    const sends: Promise<void>[] = [];
    const chunkBytes = this.chunkElems * 4;
    // Step 0 carries the byte length (little-endian float64) so receivers can allocate; step 1 the chunks.
    let header: Uint8Array;
    if (receives) {
      const frame = await this.transport.recv(this.prev);
      this.checkFrame(frame, opId, 0, 0, 8);
      // A copy: the header is forwarded after later receives, which may reuse the payload's memory.
      header = Uint8Array.prototype.slice.call(frame.payload);
    } else {
      header = new Uint8Array(8);
      new DataView(header.buffer).setFloat64(0, (data as Uint8Array).byteLength, true);
    }
    if (forwards) track(sends, this.transport.send(this.next, { opId, step: 0, chunk: 0, payload: header }));
    const length = new DataView(header.buffer, header.byteOffset, 8).getFloat64(0, true);
    const out = receives ? new Uint8Array(length) : (data as Uint8Array);
    for (let k = 0, off = 0; off < length; k++, off += chunkBytes) {
      const end = Math.min(length, off + chunkBytes);
      if (receives) {
        const frame = await this.transport.recv(this.prev);
        this.checkFrame(frame, opId, 1, k, end - off);
        out.set(frame.payload, off);
      }
      if (forwards)
        track(
          sends,
          this.transport.send(this.next, { opId, step: 1, chunk: k, payload: out.subarray(off, end) }),
        );
    }
    await Promise.all(sends);
    return out;
  }

  private checkFrame(frame: Frame, opId: number, step: number, chunk: number, bytes: number): void {
    if (
      frame.opId !== opId ||
      frame.step !== step ||
      frame.chunk !== chunk ||
      frame.payload.byteLength !== bytes
    ) {
      throw new JclError(
        'internal',
        `rank ${this.rank}: out-of-order frame from rank ${this.prev}: expected op ${opId} step ${step} chunk ${chunk} ` +
          `(${bytes} B), got op ${frame.opId} step ${frame.step} chunk ${frame.chunk} (${frame.payload.byteLength} B); ` +
          'ranks are not calling the same collectives in the same order',
      );
    }
  }

  private nextOpId(): number {
    this.opId = (this.opId + 1) >>> 0;
    return this.opId;
  }

  /** The error that broke the ring, if any. */
  get failed(): JclError | null {
    return this.failure;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }
}

/** Keep a send promise for a later Promise.all without an unhandled rejection if a receive fails first. */
function track(sends: Promise<void>[], p: Promise<void>): void {
  p.catch(() => {});
  sends.push(p);
}
