/**
 * The one import of TensorFlow.js for the worker: tfjs-core, plus every op's gradient. tfjs-core alone
 * registers no gradients (its ESM gradient files are for bundlers); the @tensorflow/tfjs umbrella
 * registers them into the process-wide registry, which is also what @tensorflow/tfjs-node builds on.
 * Backends are chosen at start-up by worker/src/backend.
 */
import '@tensorflow/tfjs';

export * from '@tensorflow/tfjs-core';
