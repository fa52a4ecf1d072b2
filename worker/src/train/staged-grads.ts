/**
 * The building block of an overlapped step (issue 17, docs/SCALING.md "Status"): the gradients of a scalar
 * loss with respect to groups of variables ("stages", e.g. the ResNet's head, layer4 .. layer1), handed
 * out one stage at a time as the backward pass completes them, from ONE recorded forward (no recompute).
 *
 * tf.variableGrads records the forward on a tape and walks it backwards in a single call. This records the
 * same tape (the engine's own startTape/endTape) and walks it with tfjs-core's own backpropagateGradients
 * (tfjs-core/dist/tape.js, what engine.gradients calls; not public API, pinned by the equivalence test),
 * but in slices: a stage's weight gradients are final once every tape node from the first use of any of
 * its variables onwards has been walked, so the tape is cut there, latest stage first. The arithmetic and
 * its order are variableGrads' own: the gradients are bitwise equal (staged-grads.test.ts).
 */
import {
  backpropagateGradients,
  getFilteredNodesXToY,
  type TapeNode,
} from '@tensorflow/tfjs-core/dist/tape.js';
import * as tf from '../tf.ts';

/** The engine members used here (public in the JavaScript, private in tfjs-core's typings). */
interface EngineTape {
  scopedRun<T>(start: () => void, end: () => void, f: () => T): T;
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
}

export interface StagedGrads {
  value: tf.Scalar;
  /** By variable name, as tf.variableGrads returns them (variables without a gradient are absent). */
  grads: tf.NamedTensorMap;
}

/**
 * Like tf.variableGrads(f, stages.flat()), calling `onStage(s, grads)` for each stage as soon as its
 * gradients are final, later stages first (in the order backward produces them; a stage no gradient
 * reaches, e.g. an empty one, right away). `grads` are those of `stages[s]` in order (null where a
 * variable does not affect the loss); they stay owned by the result.
 */
export function stagedVariableGrads(
  f: () => tf.Scalar,
  stages: readonly (readonly tf.Variable[])[],
  onStage: (stage: number, grads: (tf.Tensor | null)[]) => void = () => {},
): StagedGrads {
  const engine = tf.engine() as unknown as EngineTape;
  const vars = stages.flat().filter((v) => v.trainable);
  if (vars.length === 0) throw new RangeError('stagedVariableGrads: no trainable variable in any stage');
  const value = engine.scopedRun(
    () => engine.startTape(),
    () => engine.endTape(),
    () => engine.tidy('forward', f),
  );
  if (!(value instanceof tf.Tensor) || value.rank !== 0)
    throw new RangeError('stagedVariableGrads: f must return a scalar tensor');
  const tape = getFilteredNodesXToY(engine.state.activeTape ?? [], vars, value);
  // Where each stage's variables are first used: its gradients are final once the tape from there is walked.
  const stageOf = new Map<number, number>();
  stages.forEach((vs, s) => vs.forEach((v) => stageOf.set(v.id, s)));
  const cut = stages.map(() => tape.length);
  tape.forEach((node, i) => {
    for (const t of Object.values(node.inputs)) {
      const s = stageOf.get(t.id);
      if (s !== undefined && i < cut[s]) cut[s] = i;
    }
  });
  const order = stages.map((_, s) => s).sort((a, b) => cut[b] - cut[a] || b - a);
  const grads = engine.tidy('backward', () => {
    const acc: Record<number, tf.Tensor> = { [value.id]: tf.ones(value.shape) };
    let end = tape.length;
    for (const s of order) {
      if (cut[s] < end) {
        backpropagateGradients(
          acc,
          tape.slice(cut[s], end),
          (g) => engine.tidy('grad', g as () => tf.Tensor),
          tf.add,
        );
        end = cut[s];
      }
      onStage(
        s,
        stages[s].map((v) => acc[v.id] ?? null),
      );
    }
    const out: tf.NamedTensorMap = {};
    for (const v of vars) if (acc[v.id] !== undefined) out[v.name] = acc[v.id];
    return out;
  });
  if (engine.state.gradientDepth === 0) {
    for (const node of engine.state.activeTape ?? []) for (const t of node.saved ?? []) t.dispose();
    engine.state.activeTape = null;
  }
  return { value, grads };
}

/** ResNet parameter names to stages in backward order: head, layer4 .. layer1 (the stem goes with layer1). */
export const RESNET_STAGES = ['layer1', 'layer2', 'layer3', 'layer4', 'head'] as const;

/** Group named variables by RESNET_STAGES (by their name's first component). */
export function resnetStages(params: readonly { name: string; variable: tf.Variable }[]): tf.Variable[][] {
  const stages: tf.Variable[][] = RESNET_STAGES.map(() => []);
  for (const p of params) {
    const i = (RESNET_STAGES as readonly string[]).indexOf(p.name.split('.')[0]);
    stages[i >= 0 ? i : 0].push(p.variable);
  }
  return stages;
}
