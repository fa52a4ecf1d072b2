/**
 * `jcl selftest`: the JCL loss and gradient on the active backend against golden float64 vectors; on the
 * native backend also the TensorFlow version, how its binding was built (CUDA/cuDNN) and the device it
 * places ops on. `--require-gpu` fails unless that device is a GPU, so a pod can prove its GPU is used.
 */
import { readFileSync } from 'node:fs';
import { initBackend } from '../backend/select-backend.ts';
import { BACKENDS, type BackendName } from '../config/schema.ts';
import { checkGoldenCase, DEFAULT_TOLERANCE, parseGoldenCases } from '../jcl/golden-check.ts';
import { JclError } from '../util/errors.ts';
import { parseFlags } from './parse-flags.ts';

const BUNDLED = new URL('../../../test/fixtures/jcl_loss_cases.json', import.meta.url);

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, {
    cases: { type: 'string' },
    json: { type: 'boolean' },
    backend: { type: 'string' },
    'require-gpu': { type: 'boolean' },
  });
  if (values.help) {
    process.stdout.write(
      'usage: jcl selftest [--cases FILE] [--json] [--backend auto|tensorflow-gpu|tensorflow|wasm|cpu] [--require-gpu]\n',
    );
    return 0;
  }
  const requested = (values.backend ??
    process.env.JCL_BACKEND ??
    process.env.JCL_IMAGE_BACKEND ??
    'auto') as BackendName;
  if (!BACKENDS.includes(requested))
    throw new JclError(
      'invalid_config',
      `--backend: expected one of ${BACKENDS.join(', ')}, got ${JSON.stringify(requested)}`,
    );
  const backend = await initBackend(requested);
  if (values['require-gpu'] && backend.detail.device !== 'GPU:0') {
    throw new JclError(
      'invalid_config',
      `--require-gpu: TensorFlow places ops on ${String(backend.detail.device ?? `the ${backend.name} backend (not TensorFlow)`)}, not a GPU; ` +
        `check the node's NVIDIA driver (nvidia-smi), that the pod requests nvidia.com/gpu, and run with --backend tensorflow-gpu`,
    );
  }
  const source = (values.cases as string | undefined) ?? BUNDLED.pathname;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(source, 'utf8'));
  } catch (cause) {
    throw new JclError(
      (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'not_found' : 'invalid_data',
      `--cases: cannot read ${source} as JSON`,
      { cause },
    );
  }
  const reports = parseGoldenCases(json, source).map((c) => checkGoldenCase(c));
  const ok = reports.every((r) => r.ok);
  if (values.json) {
    process.stdout.write(
      JSON.stringify({ ok, backend, tolerance: DEFAULT_TOLERANCE, cases: reports }, null, 2) + '\n',
    );
  } else {
    process.stdout.write(
      `backend: ${backend.name} (requested ${backend.requested})  tolerance: rtol ${DEFAULT_TOLERANCE.rtol}, atol ${DEFAULT_TOLERANCE.atol}\n`,
    );
    if (backend.name === 'tensorflow') {
      const { package: pkg, nativeVersion, tensorflow, device, build } = backend.detail;
      process.stdout.write(
        `  ${String(pkg)} ${String(nativeVersion)} on TensorFlow ${String(tensorflow)}, ops on ${String(device)}\n  build: ${String(build)}\n`,
      );
    }
    for (const r of reports) {
      const worst = r.checks.reduce((a, b) => (b.maxAbsErr > a.maxAbsErr ? b : a));
      const bad = r.checks.filter((c) => !c.ok).map((c) => c.name);
      process.stdout.write(
        `  case seed=${r.seed} (${r.shape}): ${r.ok ? 'ok' : 'MISMATCH in ' + bad.join(', ')}  largest error ${worst.maxAbsErr.toExponential(2)} (${worst.name})\n`,
      );
    }
    process.stdout.write(
      ok
        ? `all ${reports.length} cases match\n`
        : 'numerics mismatch: this backend does not compute the JCL loss correctly\n',
    );
  }
  return ok ? 0 : 70;
}
