/**
 * Standalone all-reduce benchmark until `jcl bench allreduce` is wired:
 *   node --import tsx bench/allreduce.ts [workers=2] [mb=45] [iters=10]
 * Extra JCL_* variables in the environment (e.g. JCL_CHUNK_BYTES) are passed to the workers.
 */
import { runAllReduceBench } from '../worker/src/dist/bench-allreduce.ts';

const [workers = '2', mb = '45', iters = '10'] = process.argv.slice(2);
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    (e): e is [string, string] =>
      /^JCL_((CHUNK|BUCKET|WINDOW)_BYTES|DATA_PLANE)$/.test(e[0]) && e[1] !== undefined,
  ),
);
const result = await runAllReduceBench({
  workers: Number(workers),
  mb: Number(mb),
  iters: Number(iters),
  env,
});
console.log(JSON.stringify(result, null, 2));
