/**
 * `jcl`: the command-line entry. Each subcommand lives in its own module and is loaded on demand so
 * that `jcl operator` does not load TensorFlow.js and `jcl train` does not load the Kubernetes client.
 */
import { describeError, JclError } from '../util/errors.ts';

const COMMANDS: Record<
  string,
  { summary: string; load: () => Promise<{ run(argv: string[]): Promise<number> }> }
> = {
  train: {
    summary: 'train locally (embedded demo by default; --workers N for data-parallel processes)',
    load: () => import('./cmd-train.ts'),
  },
  worker: {
    summary: 'the pod entrypoint: train as one rank of a job, configured from JCL_* env',
    load: () => import('./cmd-worker.ts'),
  },
  eval: { summary: 'evaluate a checkpoint: knn, linear, features', load: () => import('./cmd-eval.ts') },
  report: {
    summary: 'write RUN_DIR/report.html (charts of a run, no network)',
    load: () => import('./cmd-report.ts'),
  },
  selftest: {
    summary: "check the active backend's numerics against the golden JCL vectors",
    load: () => import('./cmd-selftest.ts'),
  },
  bench: {
    summary: 'benchmarks: step (one JCL step), allreduce (collective bandwidth)',
    load: () => import('./cmd-bench.ts'),
  },
  operator: { summary: 'run the JCLTrainingJob operator', load: () => import('./cmd-operator.ts') },
};

export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`);
  return `usage: jcl <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nRun 'jcl <command> --help' for a command's options.`;
}

/** Runs the CLI and returns the process exit code (see worker/src/util/errors.ts EXIT_CODES). */
export async function main(
  argv: string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name === undefined ? 64 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`jcl: unknown command ${JSON.stringify(name)}\n\n${usage()}\n`);
    return 64;
  }
  try {
    return await (await cmd.load()).run(rest);
  } catch (err) {
    const code = err instanceof JclError ? err.exitCode : 1;
    process.stderr.write(`jcl ${name}: ${describeError(err)}\n`);
    // A JclError says what to do; anything else is a bug: the stack trace on request, not by default.
    if (!(err instanceof JclError) && err instanceof Error && err.stack) {
      if (env.JCL_DEBUG === '1') process.stderr.write(`${err.stack}\n`);
      else
        process.stderr.write('(an unexpected error: JCL_DEBUG=1 shows the stack trace; please report it)\n');
    }
    return code;
  }
}
