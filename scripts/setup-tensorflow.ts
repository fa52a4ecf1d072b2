/**
 * `npm run setup:tensorflow [-- --gpu] [--skip-selftest]`: a reproducible install of the native TensorFlow
 * backend with no download outside the package registries (issue 14). Pins: scripts/tensorflow-pins.ts.
 *
 *   1. wheels   pip download --no-deps the pinned TensorFlow wheel (GPU: + the nvidia-*-cu12 runtime wheels)
 *               into $JCL_CACHE_DIR/tensorflow/wheels (once; ~274 MB CPU, ~3 GB GPU)
 *   2. layout   the C libraries and C API headers, and the CUDA libraries, as in site-packages, under
 *               $JCL_CACHE_DIR/tensorflow/<version>/<cpu|gpu>/site
 *   3. package  @tensorflow/tfjs-node(-gpu)@<peer version> into .../npm with --ignore-scripts (its install
 *               script would download libtensorflow 2.9.1 from an unreachable host)
 *   4. binding  its N-API binding built by npm's bundled node-gyp against the layout (--nodedir = this Node's
 *               prefix, whose headers come with it); deps/lib and deps/include point into the layout
 *   5. install  the package and the dependencies the project lacks copied into ./node_modules: `npm ci`
 *               wipes them, so scripts/test-all.sh runs this after it (a warm run takes seconds)
 *   6. check    `jcl selftest --backend tensorflow` (GPU visible: `--backend tensorflow-gpu --require-gpu`)
 *
 * Every step is skipped when its stamp matches the pins. Env: JCL_CACHE_DIR, JCL_PIP (default `pip3`/`pip`),
 * JCL_PYTHON (default `python3`, for unzipping).
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_RECORD } from '../worker/src/backend/load-native-backend.ts';
import {
  cacheLayout,
  KEPT_MEMBERS,
  npmPackageFor,
  stamp,
  TENSORFLOW_VERSION,
  WHEEL_PLATFORMS,
  WHEEL_PYTHON,
  wheelFilePrefix,
  wheelsFor,
  type Flavour,
} from './tensorflow-pins.ts';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const STAMP_FILE = '.jcl-setup.json';
/** TensorFlow's tensorflow/python/platform/build_info.py as JSON (is_cuda_build, cuda_version, cudnn_version...). */
const BUILD_INFO = 'build-info.json';

class SetupError extends Error {}

function say(msg: string): void {
  process.stdout.write(`setup:tensorflow: ${msg}\n`);
}

/** Run a command; on failure throw a SetupError naming the step, the command and what to do next. */
function run(step: string, cmd: string, args: string[], opts: { cwd?: string; hint: string }): string {
  const r = spawnSync(cmd, args, { cwd: opts.cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.error || r.status !== 0) {
    const out = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    const why = r.error ? r.error.message : `exit ${r.status}`;
    throw new SetupError(`${step}: \`${cmd} ${args.join(' ')}\` failed (${why})\n${out}\n-> ${opts.hint}`);
  }
  return r.stdout;
}

function which(candidates: string[]): string | undefined {
  return candidates.find((c) => spawnSync(c, ['--version'], { stdio: 'ignore' }).status === 0);
}

function readStamp(dir: string): string | undefined {
  const f = path.join(dir, STAMP_FILE);
  return existsSync(f) ? readFileSync(f, 'utf8') : undefined;
}

/** 1. The pinned wheels, downloaded once. Returns their paths, in pin order. */
function fetchWheels(flavour: Flavour, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const find = () =>
    wheelsFor(flavour).map((pin) => {
      const f = readdirSync(dir).find((n) => n.startsWith(wheelFilePrefix(pin)) && n.endsWith('.whl'));
      return { pin, file: f && path.join(dir, f) };
    });
  const missing = find().filter((w) => !w.file);
  if (missing.length > 0) {
    const pip = process.env.JCL_PIP ?? which(['pip3', 'pip']);
    if (!pip)
      throw new SetupError(
        'wheels: no pip found (tried pip3, pip); install it (apt-get install python3-pip) or set JCL_PIP',
      );
    const specs = missing.map((w) => `${w.pin.name}==${w.pin.version}`);
    say(`downloading ${specs.join(' ')} into ${dir}`);
    const platforms = WHEEL_PLATFORMS.flatMap((p) => ['--platform', p]);
    run(
      'wheels',
      pip,
      [
        'download',
        '--no-deps',
        '--only-binary=:all:',
        '--python-version',
        WHEEL_PYTHON,
        ...platforms,
        '-d',
        dir,
        ...specs,
      ],
      {
        hint: 'check that PyPI is reachable (pip config, proxy) and that the pins in scripts/tensorflow-pins.ts exist',
      },
    );
  }
  return find().map((w) => {
    if (!w.file)
      throw new SetupError(`wheels: pip reported success but no ${wheelFilePrefix(w.pin)}*.whl in ${dir}`);
    return w.file;
  });
}

/** 2. Lay out the libraries and headers (scripts/tensorflow-pins.ts keepsMember) under `site`. */
function layOut(wheels: string[], site: string, want: string): void {
  if (readStamp(site) === want) return;
  const python = process.env.JCL_PYTHON ?? which(['python3', 'python']);
  if (!python)
    throw new SetupError('layout: no python3 found to unzip the wheels; install python3 or set JCL_PYTHON');
  rmSync(site, { recursive: true, force: true });
  mkdirSync(site, { recursive: true });
  // keepsMember's patterns, applied by Python's zipfile (Node has no unzip).
  const unzip = String.raw`
import json, re, sys, zipfile
keep = [re.compile(p) for p in json.loads(sys.argv[1])]
for whl in sys.argv[3:]:
    with zipfile.ZipFile(whl) as z:
        z.extractall(sys.argv[2], [m for m in z.namelist() if any(k.search(m) for k in keep)])
        if "tensorflow/python/platform/build_info.py" in z.namelist():  # the TensorFlow wheel's build facts
            scope = {}
            exec(z.read("tensorflow/python/platform/build_info.py"), scope)
            print(json.dumps(dict(scope["build_info"])))
`;
  say(`unpacking ${wheels.length} wheel(s) into ${site}`);
  const buildInfo = run('layout', python, ['-c', unzip, JSON.stringify(KEPT_MEMBERS), site, ...wheels], {
    hint: 'a wheel may be truncated: delete it and re-run',
  });
  writeFileSync(path.join(site, BUILD_INFO), buildInfo.trim() || '{}');
  const tf = path.join(site, 'tensorflow');
  for (const lib of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) {
    if (!existsSync(path.join(tf, lib))) throw new SetupError(`layout: ${lib} is not in ${wheels[0]}`);
  }
  // The binding links -ltensorflow -ltensorflow_framework: the linker's names for the wheel's libraries.
  symlinkSync('libtensorflow_cc.so.2', path.join(tf, 'libtensorflow.so'));
  symlinkSync('libtensorflow_framework.so.2', path.join(tf, 'libtensorflow_framework.so'));
  writeFileSync(path.join(site, STAMP_FILE), want);
}

/** 3 + 4. The npm package without its install script, and its binding built against the layout. */
function buildPackage(
  flavour: Flavour,

  pkg: string,
  version: string,
  layout: { site: string; npm: string },
  want: string,
): string {
  const pkgDir = path.join(layout.npm, 'node_modules', pkg);
  if (readStamp(pkgDir) === want) return pkgDir;
  mkdirSync(layout.npm, { recursive: true });
  writeFileSync(path.join(layout.npm, 'package.json'), '{"private": true}\n');
  say(`installing ${pkg}@${version} (--ignore-scripts) into ${layout.npm}`);
  run(
    'package',
    'npm',
    ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', `${pkg}@${version}`],
    {
      cwd: layout.npm,
      hint: 'check that the npm registry is reachable',
    },
  );
  // The binding's -L and $ORIGIN/../../deps/lib rpath see the layout; for the GPU build, the libraries'
  // own $ORIGIN/../nvidia RUNPATH then resolves through this link to site/nvidia.
  const deps = path.join(pkgDir, 'deps');
  rmSync(deps, { recursive: true, force: true });
  mkdirSync(deps);
  symlinkSync(path.join(layout.site, 'tensorflow'), path.join(deps, 'lib'));
  symlinkSync(path.join(layout.site, 'tensorflow', 'include'), path.join(deps, 'include'));
  const nodeGyp = path.join(
    path.dirname(process.execPath),
    '..',
    'lib',
    'node_modules',
    'npm',
    'node_modules',
    'node-gyp',
    'bin',
    'node-gyp.js',
  );
  if (!existsSync(nodeGyp))
    throw new SetupError(
      `binding: npm's bundled node-gyp is not at ${nodeGyp}; install npm with this Node (${process.execPath})`,
    );
  const nodedir = path.resolve(path.dirname(process.execPath), '..');
  if (!existsSync(path.join(nodedir, 'include', 'node', 'node_api.h')))
    throw new SetupError(
      `binding: no Node headers in ${nodedir}/include/node; install this Node's headers (Debian: nodejs ships them)`,
    );
  // node-pre-gyp's binary.find picks the highest N-API version the package lists that this Node supports.
  const napi = Math.min(8, Number(process.versions.napi));
  say(
    `building the N-API ${napi} binding against TensorFlow ${TENSORFLOW_VERSION} (node-gyp, --nodedir=${nodedir})`,
  );
  run(
    'binding',
    process.execPath,
    [
      nodeGyp,
      'rebuild',
      `--nodedir=${nodedir}`,
      `--jobs=${Math.max(1, os.availableParallelism())}`,
      `--napi_build_version=${napi}`,
      '--module_name=tfjs_binding',
      `--module_path=${path.join(pkgDir, 'lib', `napi-v${napi}`)}`,
    ],
    { cwd: pkgDir, hint: 'needs make, g++ and python3 (apt-get install build-essential python3)' },
  );
  // How this binding was built, for `jcl selftest` and the worker's start-up log (load-native-backend.ts).
  const record = {
    tensorflow: TENSORFLOW_VERSION,
    flavour,
    wheels: wheelsFor(flavour).map((w) => `${w.name}==${w.version}`),
    buildInfo: JSON.parse(readFileSync(path.join(layout.site, BUILD_INFO), 'utf8')) as unknown,
    node: process.version,
    napi,
    layout: layout.site,
  };
  writeFileSync(path.join(pkgDir, BUILD_RECORD), JSON.stringify(record, null, 2) + '\n');
  writeFileSync(path.join(pkgDir, STAMP_FILE), want);
  return pkgDir;
}

/** 5. Copy the package, and each dependency ./node_modules lacks, into the project. */
function installIntoProject(pkg: string, npmDir: string, want: string): void {
  const target = path.join(REPO, 'node_modules', pkg);
  if (!existsSync(path.join(REPO, 'node_modules', '@tensorflow', 'tfjs-core')))
    throw new SetupError('install: ./node_modules has no @tensorflow/tfjs-core; run `npm ci` first');
  if (readStamp(target) === want) return;
  const from = path.join(npmDir, 'node_modules');
  const names = readdirSync(from).flatMap((n) =>
    n.startsWith('@') ? readdirSync(path.join(from, n)).map((s) => `${n}/${s}`) : [n],
  );
  let copied = 0;
  for (const name of names) {
    if (name.startsWith('.')) continue;
    const dest = path.join(REPO, 'node_modules', name);
    if (name !== pkg && existsSync(dest)) {
      const mine = JSON.parse(readFileSync(path.join(dest, 'package.json'), 'utf8')) as { version: string };
      const theirs = JSON.parse(readFileSync(path.join(from, name, 'package.json'), 'utf8')) as {
        version: string;
      };
      if (mine.version === theirs.version) continue;
      // One TensorFlow.js in the process: the binding registers its kernels in the project's tfjs-core.
      if (name.startsWith('@tensorflow/'))
        throw new SetupError(
          `install: ${pkg} wants ${name}@${theirs.version}, the project has ${mine.version}; align package.json`,
        );
      cpSync(path.join(from, name), path.join(target, 'node_modules', name), {
        recursive: true,
        verbatimSymlinks: true,
      });
    } else if (name !== pkg) {
      cpSync(path.join(from, name), dest, { recursive: true, verbatimSymlinks: true });
    } else continue;
    copied++;
  }
  rmSync(target, { recursive: true, force: true });
  cpSync(path.join(from, pkg), target, { recursive: true, verbatimSymlinks: true });
  say(`installed ${pkg} into ./node_modules (+${copied} dependencies)`);
}

/** 6. The selftest on the new backend: golden vectors, TF build info, devices. */
function selftest(flavour: Flavour): void {
  const gpuVisible = existsSync('/dev/nvidia0');
  const args =
    flavour === 'gpu' && gpuVisible
      ? ['--backend', 'tensorflow-gpu', '--require-gpu']
      : ['--backend', 'tensorflow'];
  if (flavour === 'gpu' && !gpuVisible)
    say('no GPU visible (/dev/nvidia0): checking that the GPU build runs on the CPU');
  const out = run('check', process.execPath, [path.join(REPO, 'bin', 'jcl.js'), 'selftest', ...args], {
    hint: `run \`node bin/jcl.js selftest ${args.join(' ')}\` for the details`,
  });
  process.stdout.write(out);
}

function main(argv: string[]): number {
  const unknown = argv.filter((a) => !['--gpu', '--skip-selftest'].includes(a));
  if (unknown.length > 0) {
    process.stderr.write(
      `setup:tensorflow: unknown argument ${JSON.stringify(unknown[0])} (expected --gpu, --skip-selftest)\n`,
    );
    return 2;
  }
  const flavour: Flavour = argv.includes('--gpu') ? 'gpu' : 'cpu';
  const cacheDir = process.env.JCL_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'jcl-operator');
  const layout = cacheLayout(cacheDir, flavour);
  const pkg = npmPackageFor(flavour);
  const peers = (
    JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
      peerDependencies: Record<string, string>;
    }
  ).peerDependencies;
  const version = peers[pkg];
  if (!version) throw new SetupError(`package.json: no peerDependencies entry for ${pkg}`);
  const want = stamp(flavour, version);
  const t0 = Date.now();
  const wheels = fetchWheels(flavour, layout.wheels);
  layOut(wheels, layout.site, want);
  buildPackage(flavour, pkg, version, layout, want);
  installIntoProject(pkg, layout.npm, want);
  say(
    `${pkg}@${version} on TensorFlow ${TENSORFLOW_VERSION} (${flavour}) ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  if (!argv.includes('--skip-selftest')) selftest(flavour);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof SetupError)) throw err;
  process.stderr.write(`setup:tensorflow: FAILED at ${err.message}\n`);
  process.exitCode = 1;
}
