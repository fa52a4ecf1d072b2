/**
 * Our heap kernels on several threads (issue 3). In the threaded tfjs build the heap is a shared
 * WebAssembly.Memory; helper threads (worker_threads) instantiate the same kernel module on it, so a call
 * list run on a helper reads and writes the very tensors the main thread sees. XNNPACK's own threads only
 * run inside XNNPACK's operators; while ours run, the main thread waits for its helpers (Atomics.wait), so
 * the two never compete for the cores.
 *
 * A pass splits its work into independent lists of kernel calls (blocks of images, say), one per thread:
 * `run(lists)` runs lists[0] on the calling thread and the others on helpers, and returns when all are done.
 * Lists must not write the same memory. With one thread (the single-threaded build, or JCL_WASM_THREADS=1)
 * every list runs on the calling thread, in order.
 */
import { Worker } from 'node:worker_threads';
import type { HeapKernels } from './heap-kernels.ts';

/** One kernel call: the export's name and its numeric arguments (pointers, sizes, float parameters). */
export type KernelCall = readonly [name: keyof HeapKernels & string, ...args: number[]];

/** Doubles of call data per helper: [count, then per call: export id, argument count, arguments...]. */
const SLOT_DOUBLES = 1 << 16;

/** Control words (Int32): per helper h, [2h] = its sequence number, [2h + 1] = its finished sequence number. */
/** Status words (Int32): a helper's kernel failed (1) or its module did not load (2); helpers ready. */
const ERROR_FLAG = 0;
const READY_COUNT = 1;
/** How long the constructor waits for the helpers to load the module. */
const START_TIMEOUT_MS = 30_000;

const HELPER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { bytes, memory, control, slot, errors, helper, names } = workerData;
const ctl = new Int32Array(control);
const data = new Float64Array(slot);
const err = new Int32Array(errors);
let fns = [];
try {
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
  fns = names.map((n) => instance.exports[n]);
} catch (e) {
  Atomics.store(err, ${ERROR_FLAG}, 2);
} finally {
  Atomics.add(err, ${READY_COUNT}, 1);
  Atomics.notify(err, ${READY_COUNT});
}
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 2 * helper, seen);
  seen = Atomics.load(ctl, 2 * helper);
  try {
    const count = data[0];
    let p = 1;
    for (let c = 0; c < count; c++) {
      const f = fns[data[p]];
      const n = data[p + 1];
      const args = [];
      for (let a = 0; a < n; a++) args.push(data[p + 2 + a]);
      f(...args);
      p += 2 + n;
    }
  } catch (e) {
    Atomics.store(err, ${ERROR_FLAG}, 1);
  }
  Atomics.store(ctl, 2 * helper + 1, seen);
  Atomics.notify(ctl, 2 * helper + 1);
}
`;

/** Doubles one call takes in a slot: its export id, its argument count and its arguments. */
const callDoubles = (call: KernelCall) => 1 + call.length;

/** `list` in consecutive parts that each fit a helper's slot (one part when it fits). */
function slotParts(list: ReadonlyArray<KernelCall>): Array<ReadonlyArray<KernelCall>> {
  const parts: KernelCall[][] = [[]];
  let used = 1; // the call count
  for (const call of list) {
    const need = callDoubles(call);
    if (used + need > SLOT_DOUBLES && parts[parts.length - 1].length > 0) {
      parts.push([]);
      used = 1;
    }
    parts[parts.length - 1].push(call);
    used += need;
  }
  return parts;
}

export class HeapKernelPool {
  private readonly helpers: Worker[] = [];
  private readonly slots: Float64Array[] = [];
  private readonly control: Int32Array;
  private readonly errors: Int32Array;
  private readonly names: string[];
  private readonly ids = new Map<string, number>();
  private sequence = 0;

  /**
   * `threads` in all, the calling thread included: one helper per thread beyond the first, which needs a
   * shared heap (the caller, heapKernelPool, gives 1 for the single-threaded build's heap).
   * `bytes`: the kernel module for that heap; `kernels`: its instance on the calling thread.
   */
  constructor(
    readonly kernels: HeapKernels,
    memory: WebAssembly.Memory,
    bytes: Uint8Array,
    threads: number,
  ) {
    this.names = Object.keys(kernels).filter((n) => typeof (kernels as never)[n] === 'function');
    this.names.forEach((n, i) => this.ids.set(n, i));
    const helpers = Math.max(0, Math.floor(threads) - 1);
    if (helpers > 0 && !(memory.buffer instanceof SharedArrayBuffer)) {
      throw new RangeError(`HeapKernelPool: ${threads} threads need a shared heap (the threaded tfjs build)`);
    }
    this.control = new Int32Array(new SharedArrayBuffer(8 * Math.max(1, helpers)));
    this.errors = new Int32Array(new SharedArrayBuffer(8));
    for (let h = 0; h < helpers; h++) {
      const slot = new SharedArrayBuffer(8 * SLOT_DOUBLES);
      this.slots.push(new Float64Array(slot));
      const worker = new Worker(HELPER_SOURCE, {
        eval: true,
        workerData: {
          bytes,
          memory,
          control: this.control.buffer,
          slot,
          errors: this.errors.buffer,
          helper: h,
          names: this.names,
        },
      });
      worker.unref(); // an idle helper must not keep the process alive
      this.helpers.push(worker);
    }
    // Helpers start on their own threads; wait (bounded) until each has loaded the module.
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const ready = Atomics.load(this.errors, READY_COUNT);
      if (ready >= helpers) break;
      if (Date.now() > deadline) {
        this.close();
        throw new Error(`heap kernel helpers: ${ready} of ${helpers} started within ${START_TIMEOUT_MS} ms`);
      }
      Atomics.wait(this.errors, READY_COUNT, ready, 1000);
    }
    if (Atomics.load(this.errors, ERROR_FLAG) === 2) {
      this.close();
      throw new Error('heap kernel helpers could not instantiate the kernel module on the shared heap');
    }
  }

  /** Stop the helpers (tests; a process that exits needs no call, helpers are unref'ed). */
  close(): void {
    for (const w of this.helpers) void w.terminate();
    this.helpers.length = 0;
  }

  /** Threads a pass may split its work over (1 + helpers). */
  get threads(): number {
    return 1 + this.helpers.length;
  }

  /**
   * Run lists[0] here and lists[i] on helper i - 1 (all here when there are no helpers); wait for all.
   * A list longer than a helper's slot runs in consecutive parts, each thread keeping its order.
   */
  run(lists: ReadonlyArray<ReadonlyArray<KernelCall>>): void {
    if (lists.length > this.threads) {
      throw new RangeError(`HeapKernelPool.run: ${lists.length} lists for ${this.threads} threads`);
    }
    const parts = lists.map((list, i) => (i === 0 ? [list] : slotParts(list)));
    const rounds = Math.max(0, ...parts.map((p) => p.length));
    for (let r = 0; r < rounds; r++) this.runRound(parts.map((p) => p[r] ?? []));
  }

  private runRound(lists: ReadonlyArray<ReadonlyArray<KernelCall>>): void {
    const seq = ++this.sequence;
    const posted: number[] = [];
    for (let i = 1; i < lists.length; i++) {
      if (lists[i].length === 0) continue;
      this.encode(this.slots[i - 1], lists[i]);
      Atomics.store(this.control, 2 * (i - 1), seq);
      Atomics.notify(this.control, 2 * (i - 1));
      posted.push(i - 1);
    }
    for (const call of lists[0]) this.call(call);
    for (const h of posted) {
      for (;;) {
        const done = Atomics.load(this.control, 2 * h + 1);
        if (done === seq) break;
        Atomics.wait(this.control, 2 * h + 1, done);
      }
    }
    if (Atomics.exchange(this.errors, ERROR_FLAG, 0) !== 0) {
      throw new Error('a heap kernel failed on a helper thread (out-of-bounds memory access?)');
    }
  }

  /** Run one call on this thread. */
  call([name, ...args]: KernelCall): void {
    (this.kernels[name] as (...a: number[]) => void)(...args);
  }

  private encode(slot: Float64Array, calls: ReadonlyArray<KernelCall>): void {
    let p = 1;
    for (const [name, ...args] of calls) {
      const id = this.ids.get(name);
      if (id === undefined) throw new Error(`HeapKernelPool: no kernel ${name}`);
      slot[p] = id;
      slot[p + 1] = args.length;
      slot.set(args, p + 2);
      p += 2 + args.length;
    }
    slot[0] = calls.length;
  }
}

/**
 * [start, count] ranges splitting [0, total) into at most `parts` pieces whose starts and counts are
 * multiples of `align` (the last one takes the remainder), skipping empty ones.
 */
export function splitRange(total: number, parts: number, align = 1): Array<[start: number, count: number]> {
  const step = Math.ceil(total / parts / align) * align;
  const out: Array<[number, number]> = [];
  for (let start = 0; start < total; start += step) out.push([start, Math.min(step, total - start)]);
  return out;
}
