/**
 * The scaling model of docs/SCALING.md: predicted step time and scaling efficiency of data-parallel
 * training with a ring all-reduce, sequential (backward, then one all-reduce) or overlapped (backward in
 * segments in reverse stage order, each segment's gradient bucket reduced as soon as it exists while
 * later segments still compute, one bucket on the wire at a time, as DDP does). Pure: no I/O.
 *
 * A ring all-reduce of B bytes over n ranks moves 2(n-1)/n * B per rank (nccl-tests' bus bandwidth),
 * in 2(n-1) steps each paying a hop latency; a link of L Gb/s delivers `busEfficiency` * L of it (the
 * ratio our `jcl bench allreduce` measures against the raw TCP ceiling).
 */

/** One segment of the backward pass, in the order the backward pass produces them (output side first). */
export interface Segment {
  name: string;
  /** Backward compute of the segment, ms. */
  backwardMs: number;
  /** Gradient elements of the segment. */
  elements: number;
}

export interface Network {
  workers: number;
  linkGbps: number;
  /** Achieved bus bandwidth / line rate (0..1]. */
  busEfficiency: number;
  /** Latency per ring step (one hop), microseconds. */
  hopLatencyUs: number;
}

export interface Exchange {
  /** 4 (float32) or 2 (bfloat16) bytes per element on the wire. */
  bytesPerElement: number;
  /** CPU time per gradient element to convert for the wire and back (0 for float32), ns. */
  convertNsPerElement: number;
  overlap: boolean;
}

export interface StepPrediction {
  stepMs: number;
  /** Time of all the step's all-reduces, ms. */
  commMs: number;
  /** The part of commMs not hidden behind compute, ms. */
  exposedMs: number;
  /** Single-worker step time / this step time: the per-worker throughput kept. */
  efficiency: number;
}

/** Time of one ring all-reduce of `elements` gradient elements, ms. */
export function allReduceMs(elements: number, net: Network, x: Exchange): number {
  const n = net.workers;
  if (n <= 1 || elements === 0) return 0;
  const busBytes = ((2 * (n - 1)) / n) * elements * x.bytesPerElement;
  const bytesPerMs = (net.linkGbps * 1e9 * net.busEfficiency) / 8 / 1e3;
  const latencyMs = (2 * (n - 1) * net.hopLatencyUs) / 1e3;
  return busBytes / bytesPerMs + latencyMs + (elements * x.convertNsPerElement) / 1e6;
}

/**
 * Predict one step: `forwardMs` (forward passes, loss, optimizer: not overlappable here) plus the
 * backward segments and their all-reduces.
 */
export function predictStep(
  forwardMs: number,
  segments: readonly Segment[],
  net: Network,
  x: Exchange,
): StepPrediction {
  const backwardMs = segments.reduce((a, s) => a + s.backwardMs, 0);
  const single = forwardMs + backwardMs;
  const commMs = x.overlap
    ? segments.reduce((a, s) => a + allReduceMs(s.elements, net, x), 0)
    : allReduceMs(
        segments.reduce((a, s) => a + s.elements, 0),
        net,
        x,
      );
  let end = backwardMs + commMs;
  if (x.overlap) {
    // Bucket i can start once its backward is done and the previous bucket has left the wire.
    let ready = 0;
    let wire = 0;
    for (const s of segments) {
      ready += s.backwardMs;
      wire = Math.max(wire, ready) + allReduceMs(s.elements, net, x);
    }
    end = Math.max(backwardMs, wire);
  }
  const stepMs = forwardMs + end;
  return { stepMs, commMs, exposedMs: end - backwardMs, efficiency: single / stepMs };
}
