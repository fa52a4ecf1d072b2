/**
 * The one import of TensorFlow.js for the worker: tfjs-core, plus every op's gradient. tfjs-core alone
 * registers no gradients (its ESM gradient files are for bundlers); the @tensorflow/tfjs umbrella
 * registers them into the process-wide registry, which is also what @tensorflow/tfjs-node builds on.
 * Backends are chosen at start-up by worker/src/backend.
 */
import '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

export * from '@tensorflow/tfjs-core';

// Production mode: no debug checks, and no "install tfjs-node" banner on the cpu backend (we choose
// backends deliberately, see worker/src/backend/select-backend.ts).
tf.env().set('PROD', true);
