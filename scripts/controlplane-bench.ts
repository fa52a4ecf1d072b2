/**
 * Warm-cache startup benchmark of the test control plane (docs/BENCHMARKS.md, "Control plane"):
 * starts and stops the plane `runs` times (default 5) and prints min/median/max time-to-ready and stop time.
 * Usage: npx tsx scripts/controlplane-bench.ts [runs]
 * Time-to-ready = PKI generation + etcd /health + apiserver /readyz + controller-manager /healthz + the
 * default ServiceAccount, i.e. what every e2e run pays once before its first test.
 */
import os from 'node:os';
import { startControlPlane } from '../test/harness/control-plane.ts';

const runs = Number(process.argv[2] ?? 5);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(
    `usage: npx tsx scripts/controlplane-bench.ts [runs], runs must be an integer >= 1, got '${process.argv[2]}'`,
  );
  process.exit(2);
}

const startMs: number[] = [];
const stopMs: number[] = [];
for (let i = 0; i < runs; i += 1) {
  const t0 = performance.now();
  const plane = await startControlPlane();
  const t1 = performance.now();
  await plane.stop();
  const t2 = performance.now();
  startMs.push(t1 - t0);
  stopMs.push(t2 - t1);
  console.error(
    `run ${i + 1}/${runs}: ready in ${((t1 - t0) / 1000).toFixed(2)}s, stopped in ${((t2 - t1) / 1000).toFixed(2)}s`,
  );
}

const summary = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  const fmt = (ms: number): string => `${(ms / 1000).toFixed(2)}s`;
  return `min ${fmt(s[0])}, median ${fmt(s[Math.floor(s.length / 2)])}, max ${fmt(s[s.length - 1])}`;
};
console.log(
  `control plane warm start (${runs} runs, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}): ready ${summary(startMs)}; stop ${summary(stopMs)}`,
);
