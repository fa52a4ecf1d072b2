/**
 * Stand-alone entry: `node --import tsx operator/src/cli.ts [flags]` (the e2e tests and the scale
 * benchmark run the operator as its own process this way; `jcl operator` calls the same runOperator).
 */
import { runOperator } from './main.ts';

process.exitCode = await runOperator(process.argv.slice(2));
