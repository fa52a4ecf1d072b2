/**
 * The stand-in `jcl worker` of the operator e2e tests (a `node -e` script; FAKE_* env decides how it
 * ends): without the file FAKE_REQUIRE_FILE names (e.g. one an init container writes) it exits 66; `eval`
 * writes a result (or exits FAKE_EVAL_EXIT with a message); otherwise it prints FAKE_LOG_LINES pino-style
 * log lines, then exits FAKE_EXIT_CODE after FAKE_EXIT_AFTER_MS (only in generation FAKE_ONLY_GENERATION
 * when set), or runs until killed.
 */
export const FAKE_WORKER = `
const fs = require('fs'); const e = process.env; const a = process.argv.slice(1);
if (e.FAKE_REQUIRE_FILE && !fs.existsSync(e.FAKE_REQUIRE_FILE)) { fs.writeFileSync(e.JCL_TERMINATION_LOG, 'missing ' + e.FAKE_REQUIRE_FILE); process.exit(66); }
if (a[0] === 'eval') {
  if (e.FAKE_EVAL_EXIT) { fs.writeFileSync(e.JCL_TERMINATION_LOG, 'eval crashed: ' + a[1]); process.exit(Number(e.FAKE_EVAL_EXIT)); }
  fs.writeFileSync(e.JCL_TERMINATION_LOG, JSON.stringify({ top1: 0.5, kind: a[1] })); process.exit(0);
}
for (let i = 1; i <= Number(e.FAKE_LOG_LINES || 0); i++) console.log(JSON.stringify({ level: 30, time: Date.now(), msg: 'training step ' + i }));
const failGen = e.FAKE_ONLY_GENERATION === undefined || e.FAKE_ONLY_GENERATION === e.JCL_RESTART_GENERATION;
const after = Number(e.FAKE_EXIT_AFTER_MS || 0);
if (after > 0 && failGen) setTimeout(() => { if (e.FAKE_MESSAGE) fs.writeFileSync(e.JCL_TERMINATION_LOG, e.FAKE_MESSAGE); process.exit(Number(e.FAKE_EXIT_CODE || 0)); }, after);
else setInterval(() => {}, 1000);
`;

/** A 2-worker spec running FAKE_WORKER with `env`, plus `extra` top-level spec fields. */
export const fakeSpec = (extra: Record<string, unknown> = {}, env: Record<string, string> = {}) => ({
  workers: 2,
  template: {
    image: 'jcl-e2e/node:local',
    command: ['node', '-e', FAKE_WORKER],
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
  },
  training: { model: { arch: 'resnet-tiny' }, optim: { batchSize: 8, epochs: 1 }, jcl: { queueSize: 64 } },
  ...extra,
});
