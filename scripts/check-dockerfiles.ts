/**
 * Docker cannot run in CI here, so the images are checked statically (issue 7):
 *   - every FROM is pinned to an explicit version (no `latest`, no bare name);
 *   - every COPY source (from the build context) exists and is not excluded by .dockerignore;
 *   - the ENTRYPOINT script is copied to where the entrypoint (and the operator's default
 *     --worker-command, `node /app/bin/jcl.js`) looks for it, and its sub-command (`operator`, `worker`) exists;
 *   - every file the entrypoint can load (static and dynamic imports, `new URL(..., import.meta.url)`) is
 *     inside what the image copies;
 *   - the final stage runs as a numeric non-root USER (Pod Security "restricted" can verify runAsNonRoot);
 *   - the node_modules an image ships come from `npm ci --omit=dev` (a build stage may install dev tools);
 *     the GPU image pins @tensorflow/tfjs-node-gpu to the peer version, or builds it with
 *     `setup-tensorflow.ts --gpu` (CUDA 12 from the pinned wheels) unless its base is nvidia/cuda 12, and
 *     runs Node >= 24;
 *   - an image may run compiled JS: `COPY --from=<stage> /app/dist/ ./` provides the .js of every .ts under
 *     tsconfig.build.json's include (and the files that stage writes into dist/), and the entrypoint is then
 *     bin/jcl-image.js copied to /app/bin/jcl.js.
 *
 *   npx tsx scripts/check-dockerfiles.ts      exit 1 listing every problem
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DOCKERFILES = ['operator/Dockerfile', 'worker/Dockerfile', 'worker/Dockerfile.gpu'] as const;

/** One parsed instruction (continuation lines joined). */
export interface Instruction {
  op: string;
  args: string;
  line: number;
}

export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let l = lines[i];
    if (/^\s*(#|$)/.test(l)) continue;
    while (l.endsWith('\\') && i + 1 < lines.length) l = l.slice(0, -1) + ' ' + lines[++i].trim();
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(l);
    if (m) out.push({ op: m[1].toUpperCase(), args: m[2].trim(), line: start + 1 });
  }
  return out;
}

/** .dockerignore semantics: patterns relative to the context root, `!` re-includes, the last match wins. */
export function dockerignoreMatcher(text: string): (rel: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pat = (negate ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const re = pat
        .split('/')
        .map((seg) =>
          seg === '**'
            ? '.*'
            : seg
                .replace(/[.+^${}()|[\]\\]/g, '\\$&')
                .replace(/\*/g, '[^/]*')
                .replace(/\?/g, '[^/]'),
        )
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      // A pattern also excludes everything below a matched directory.
      return { negate, re: new RegExp(`^${re}(?:/.*)?$`) };
    });
  return (rel) => {
    let excluded = false;
    for (const r of rules) if (r.re.test(rel)) excluded = !r.negate;
    return excluded;
  };
}

/** Imports and `new URL('x', import.meta.url)` targets of a source file, resolved to absolute paths. */
export function referencedFiles(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [
    ...text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/g),
    ...text.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g),
    ...text.matchAll(/new URL\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g),
  ].map((m) => m[1]);
  return specs.filter((s) => s.startsWith('.')).map((s) => path.resolve(path.dirname(file), s));
}

/** Every repo file reachable from `entry` through relative references (JS/TS imports, URL-loaded files). */
export function reachableFiles(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [path.resolve(REPO, entry)];
  while (todo.length > 0) {
    let f = todo.pop()!;
    // bin/jcl-image.js imports the compiled '../worker/src/cli/main.js': its source is the .ts beside it.
    if (f.endsWith('.js') && !existsSync(f) && existsSync(f.replace(/\.js$/, '.ts')))
      f = f.replace(/\.js$/, '.ts');
    if (seen.has(f)) continue;
    seen.add(f);
    if (/\.(ts|js|cjs|mjs)$/.test(f) && existsSync(f)) todo.push(...referencedFiles(f));
  }
  return seen;
}

/** Problems of one Dockerfile (empty = fine). */
export function checkDockerfile(
  file: string,
  opts: { ignored: (rel: string) => boolean; gpuVersion: string; text?: string },
): string[] {
  const problems: string[] = [];
  const where = (i: Instruction) => `${file}:${i.line}`;
  const ins = parseDockerfile(opts.text ?? readFileSync(path.join(REPO, file), 'utf8'));
  const lastFrom = ins.map((i) => i.op).lastIndexOf('FROM');
  const stages = new Set<string>();
  let stage = '';
  let workdir = '/';
  /** Per stage: `npm ci` lines without --omit=dev, and the files its RUNs write into dist/. */
  const devInstalls = new Map<string, Instruction[]>();
  const distWrites = new Map<string, string[]>();
  const modulesFrom = new Set<string>();
  /** image path -> repo-relative source, for the final stage. */
  const copied: Array<{ dest: string; src: string; compiled?: boolean }> = [];
  for (const [idx, i] of ins.entries()) {
    if (i.op === 'FROM') {
      const [image, , alias] = i.args.split(/\s+/);
      if (alias) stages.add(alias);
      stage = alias ?? `#${idx}`;
      const tag = image.includes(':') ? image.split(':').pop()! : '';
      if (!stages.has(image) && (!/\d/.test(tag) || tag === 'latest'))
        problems.push(`${where(i)}: FROM ${image} is not pinned to a version`);
      workdir = '/';
    } else if (i.op === 'WORKDIR') {
      workdir = path.posix.resolve(workdir, i.args);
    } else if (i.op === 'COPY' || i.op === 'ADD') {
      const parts = i.args.split(/\s+/);
      const fromStage = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
      const paths = parts.filter((p) => !p.startsWith('--'));
      const rawDest = paths.pop()!;
      const dest = path.posix.resolve(workdir, rawDest);
      if (fromStage) {
        if (paths.some((p) => /node_modules\/?$/.test(p))) modulesFrom.add(fromStage);
        if (idx > lastFrom && paths.some((p) => /\/dist\/?$/.test(p))) {
          // The compiled tree: tsconfig.build.json's include, plus what the stage wrote into dist/.
          for (const dir of buildIncludes())
            copied.push({ dest: path.posix.join(dest, dir), src: dir, compiled: true });
          for (const rel of distWrites.get(fromStage) ?? [])
            copied.push({
              dest: path.posix.join(dest, rel),
              src: rel,
              compiled: true,
            });
        }
        continue;
      }
      for (const src of paths) {
        const abs = path.join(REPO, src);
        if (!existsSync(abs)) problems.push(`${where(i)}: COPY source ${src} does not exist`);
        else if (opts.ignored(path.normalize(src)))
          problems.push(`${where(i)}: COPY source ${src} is excluded by .dockerignore`);
        if (idx <= lastFrom || !existsSync(abs)) continue;
        // Docker: a directory's contents land in dest; a file lands at dest, or inside it when dest ends with /
        // or there are several sources.
        const intoDir = statSync(abs).isDirectory() || paths.length > 1 || rawDest.endsWith('/');
        copied.push({
          dest: intoDir && !statSync(abs).isDirectory() ? path.posix.join(dest, path.basename(src)) : dest,
          src: path.normalize(src),
        });
      }
    } else if (i.op === 'RUN') {
      for (const m of i.args.matchAll(/>\s*dist\/(\S+)/g))
        distWrites.set(stage, [...(distWrites.get(stage) ?? []), m[1]]);
      if (/\bnpm ci\b/.test(i.args) && !/npm ci[^&]*--omit=dev/.test(i.args))
        devInstalls.set(stage, [...(devInstalls.get(stage) ?? []), i]);
      const gpu = /@tensorflow\/tfjs-node-gpu@(\S+)/.exec(i.args);
      if (gpu && gpu[1] !== opts.gpuVersion)
        problems.push(
          `${where(i)}: tfjs-node-gpu ${gpu[1]} differs from the peer dependency ${opts.gpuVersion}`,
        );
    }
  }
  const finalStage = stage;
  for (const [st, list] of devInstalls)
    if (st === finalStage || modulesFrom.has(st))
      for (const i of list)
        problems.push(`${where(i)}: npm ci without --omit=dev (its node_modules ship in the image)`);
  const final = ins.slice(lastFrom);
  const user = final.filter((i) => i.op === 'USER').pop();
  if (!user) problems.push(`${file}: the final stage sets no USER (runs as root)`);
  else if (!/^[1-9]\d*(:\d+)?$/.test(user.args))
    problems.push(`${where(user)}: USER ${user.args} must be a numeric non-root UID[:GID]`);
  if (file.endsWith('.gpu')) problems.push(...checkGpuImage(file, ins, lastFrom));

  // Where the image's files come from: /app/<x> -> repo path, via the final stage's COPYs (node_modules from deps).
  const toRepo = (imagePath: string): string | undefined => {
    for (const c of copied) {
      if (imagePath === c.dest) return c.src;
      if (imagePath.startsWith(c.dest.endsWith('/') ? c.dest : `${c.dest}/`))
        return path.join(c.src, imagePath.slice(c.dest.replace(/\/$/, '').length + 1));
    }
    return undefined;
  };
  const entry = final.filter((i) => i.op === 'ENTRYPOINT').pop();
  const cmd = final.filter((i) => i.op === 'CMD').pop();
  if (!entry) {
    problems.push(`${file}: no ENTRYPOINT`);
    return problems;
  }
  let argv: string[];
  try {
    argv = [...(JSON.parse(entry.args) as string[]), ...(cmd ? (JSON.parse(cmd.args) as string[]) : [])];
  } catch {
    problems.push(`${where(entry)}: ENTRYPOINT/CMD must be exec form (a JSON array) so signals reach node`);
    return problems;
  }
  if (argv[0] !== 'node') problems.push(`${where(entry)}: entrypoint starts with ${argv[0]}, expected node`);
  const script = path.posix.resolve(workdir, argv[1] ?? '');
  const scriptRepo = toRepo(script);
  if (!scriptRepo || !existsSync(path.join(REPO, scriptRepo))) {
    problems.push(`${where(entry)}: entrypoint script ${script} is not copied into the image`);
    return problems;
  }
  const compiledImage = copied.some((c) => c.compiled);
  const launcher = compiledImage ? 'bin/jcl-image.js' : 'bin/jcl.js';
  if (toRepo('/app/bin/jcl.js') !== launcher)
    problems.push(`${file}: /app/bin/jcl.js (the operator's default --worker-command) is not ${launcher}`);
  const sub = argv[2];
  const cli = readFileSync(path.join(REPO, 'worker/src/cli/main.ts'), 'utf8');
  if (sub && !new RegExp(`\\b${sub}: \\{`).test(cli))
    problems.push(`${where(entry)}: sub-command ${sub} is not a jcl command (worker/src/cli/main.ts)`);
  // A compiled tree holds the .js of .ts sources (and the files its stage wrote), not other source files.
  const copiedRepoFiles = (rel: string) =>
    copied.some(
      (c) =>
        (rel === c.src || rel.startsWith(`${c.src.replace(/\/$/, '')}/`)) &&
        (!c.compiled || rel.endsWith('.ts') || rel === c.src),
    );
  for (const abs of reachableFiles(scriptRepo)) {
    const rel = path.relative(REPO, abs);
    if (rel.startsWith('node_modules')) continue;
    if (compiledImage && rel === 'bin/jcl.js') continue; // served by the launcher copied to /app/bin/jcl.js
    if (!existsSync(abs)) problems.push(`${file}: ${rel} (loaded from ${scriptRepo}) does not exist`);
    else if (!copiedRepoFiles(rel) || opts.ignored(rel))
      problems.push(`${file}: ${rel} is loaded at run time but not in the image`);
  }
  return problems;
}

/** tsconfig.build.json's include: the directories the images' compiled tree holds. */
function buildIncludes(): string[] {
  const cfg = JSON.parse(readFileSync(path.join(REPO, 'tsconfig.build.json'), 'utf8')) as {
    include: string[];
  };
  return cfg.include;
}

/**
 * The GPU image (issue 14): CUDA 12 (an nvidia/cuda 12 base, or the pinned wheels through
 * `setup-tensorflow.ts --gpu`), tfjs-node-gpu at the peer version, Node >= 24 in every node base.
 */
function checkGpuImage(file: string, ins: Instruction[], lastFrom: number): string[] {
  const problems: string[] = [];
  const runs = ins.filter((i) => i.op === 'RUN').map((i) => i.args);
  const viaWheels = runs.some((r) => /setup-tensorflow\.ts\b.*--gpu/.test(r));
  const viaNpm = runs.some((r) => r.includes('@tensorflow/tfjs-node-gpu@'));
  const base = ins[lastFrom].args.split(/\s+/)[0];
  if (!viaWheels && !/^nvidia\/cuda:12\./.test(base))
    problems.push(
      `${file}: no CUDA 12: base ${base} is not nvidia/cuda 12 and no RUN builds with setup-tensorflow.ts --gpu`,
    );
  if (!viaWheels && !viaNpm) problems.push(`${file}: does not install @tensorflow/tfjs-node-gpu`);
  for (const i of ins.filter((x) => x.op === 'FROM')) {
    const m = /^node:(\d+)\./.exec(i.args);
    if (m && Number(m[1]) < 24)
      problems.push(`${file}:${i.line}: ${i.args.split(/\s+/)[0]} is older than Node 24 LTS`);
  }
  return problems;
}

/** Problems of every Dockerfile. */
export function checkDockerfiles(): string[] {
  const ignored = dockerignoreMatcher(readFileSync(path.join(REPO, '.dockerignore'), 'utf8'));
  const pkg = JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as {
    peerDependencies: Record<string, string>;
  };
  const gpuVersion = pkg.peerDependencies['@tensorflow/tfjs-node-gpu'];
  return DOCKERFILES.flatMap((f) => checkDockerfile(f, { ignored, gpuVersion }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const problems = checkDockerfiles();
  for (const p of problems) console.error(p);
  if (problems.length === 0) console.log(`${DOCKERFILES.join(', ')}: COPY sources, entrypoints and pins OK`);
  process.exitCode = problems.length > 0 ? 1 : 0;
}
