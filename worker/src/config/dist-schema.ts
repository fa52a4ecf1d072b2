/**
 * The `dist` section of the training configuration: how data-parallel workers exchange gradients
 * (docs/SCALING.md). Settings of the transport itself (ports, chunk and window sizes, TLS) stay in the
 * worker environment (worker/src/distributed/dist-config.ts); this section holds what changes the numbers
 * a run computes, and so belongs with the rest of the run's configuration.
 */
import { Type } from '@sinclair/typebox';
import { GRADIENT_DTYPES } from '../distributed/bf16.ts';
import { literalUnion } from './literal-union.ts';

export const DistSchema = Type.Object(
  {
    gradientDtype: literalUnion(
      GRADIENT_DTYPES,
      'Element type of gradients on the wire: bfloat16 halves the all-reduce traffic (values rounded to ' +
        'bfloat16 as they are sent, sums accumulated in float32); no effect with one worker.',
      'float32',
    ),
  },
  { default: {}, description: 'Gradient exchange between data-parallel workers.' },
);
