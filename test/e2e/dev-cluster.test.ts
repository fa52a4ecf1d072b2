/**
 * `npm run dev:cluster` as a user runs it (issue 16): start it, take the KUBECONFIG and PATH it prints,
 * `kubectl apply -f manifests/examples/jcljob-tiny-synthetic.yaml`, watch the job progress in
 * `kubectl get jcljob`, then Ctrl-C (SIGINT) it and check that it stopped cleanly: npm ended, its
 * apiserver gone, its plane and node directories removed, no process of it left. It starts its own
 * plane (not the suite's).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/control-plane.ts';
import { probe } from '../harness/http-probe.ts';
import { pollUntil } from '../harness/wait.ts';

const run = promisify(execFile);
let child: ChildProcess | undefined;
let stdout = '';
let stderr = '';

/** True while a process with this pid exists. */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

afterAll(async () => {
  // Only if the test failed before its own Ctrl-C: stop the whole group it started.
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    process.kill(-child.pid, 'SIGINT');
    await new Promise((r) => setTimeout(r, 20_000));
    if (alive(child.pid)) process.kill(-child.pid, 'SIGKILL');
  }
});

describe('npm run dev:cluster', () => {
  it('prints a KUBECONFIG under which the tiny example trains, and stops cleanly on Ctrl-C', async () => {
    const devNodes = path.join(os.homedir(), '.cache', 'jcl-operator', 'dev-nodes');
    const nodeDirsBefore = existsSync(devNodes) ? readdirSync(devNodes) : [];
    child = spawn('npm', ['run', '--silent', 'dev:cluster'], {
      cwd: REPO_ROOT,
      env: { ...process.env, NODES: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, like a shell job: Ctrl-C reaches npm, node and tsx alike
    });
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child?.once('exit', (code, signal) => resolve({ code, signal })),
    );
    const diagnose = () => `--- stdout ---\n${stdout}\n--- stderr ---\n${stderr.slice(-4000)}`;

    const exports = await pollUntil(
      () => {
        if (child?.exitCode !== null) throw new Error(`dev:cluster exited early:\n${diagnose()}`);
        const kubeconfig = /^export KUBECONFIG=(\S+)$/m.exec(stdout)?.[1];
        const binDir = /^export PATH=([^:\s]+):\$PATH/m.exec(stdout)?.[1];
        return kubeconfig && binDir ? { kubeconfig, binDir } : undefined;
      },
      { timeoutMs: 240_000, description: 'dev:cluster printing its export lines', diagnose },
    );
    expect(stderr).toMatch(/dev-cluster: ready in/);
    const env = {
      ...process.env,
      KUBECONFIG: exports.kubeconfig,
      PATH: `${exports.binDir}:${process.env.PATH}`,
    };
    const kubectl = (...args: string[]) => run('kubectl', args, { env, cwd: REPO_ROOT, timeout: 60_000 });

    await kubectl('apply', '-f', 'manifests/examples/jcljob-tiny-synthetic.yaml');
    // What `kubectl get jcljob -w` shows a user: the row moves to Running with an epoch, then Succeeded.
    const rows: string[] = [];
    const row = async () => {
      const out = (await kubectl('get', 'jcljob', 'tiny-synthetic', '--no-headers')).stdout.trim();
      if (rows.at(-1) !== out) rows.push(out);
      return out;
    };
    const header = (await kubectl('get', 'jcljob', 'tiny-synthetic')).stdout.split('\n')[0];
    expect(header).toMatch(/NAME\s+PHASE\s+READY\s+EPOCH\s+LOSS/);
    const opLog = () => {
      const file = /operator log (\S+)/.exec(stderr)?.[1];
      try {
        return file ? readFileSync(file, 'utf8').split('\n').slice(-30).join('\n') : '';
      } catch {
        return '';
      }
    };
    await pollUntil(async () => (/^tiny-synthetic\s+Succeeded\b/.test(await row()) ? true : undefined), {
      timeoutMs: 600_000,
      intervalMs: 2_000,
      description: 'tiny-synthetic Succeeded in kubectl get jcljob',
      diagnose: () => `rows seen:\n${rows.join('\n')}\n--- operator ---\n${opLog()}\n${diagnose()}`,
    });
    // It progressed on the way: a Running row with an epoch and a loss before the end.
    expect(
      rows.some((r) => /^tiny-synthetic\s+Running\s+\S+\s+\d+\s+\d/.test(r)),
      rows.join('\n'),
    ).toBe(true);
    const server = /server: (\S+)/.exec(readFileSync(exports.kubeconfig, 'utf8'))?.[1] ?? '';
    expect(server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

    // Ctrl-C: the group gets SIGINT, as from a terminal.
    const pid = child.pid as number;
    process.kill(-pid, 'SIGINT');
    const ended = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 60_000))]);
    // npm itself ends by the SIGINT, as under a shell's Ctrl-C; dev-cluster's own shutdown is what must run.
    expect(
      [
        { code: 0, signal: null },
        { code: null, signal: 'SIGINT' },
      ],
      diagnose(),
    ).toContainEqual(ended);
    // Its shutdown (which may outlive npm by a moment) removes the plane's directory, and no process of it
    // is left: neither in its group (npm, tsx, node) nor one naming that directory (etcd, apiserver,
    // controller manager, scheduler and the operator run in process groups of their own).
    const planeDir = path.dirname(exports.kubeconfig);
    const leftovers = async () =>
      (await run('ps', ['-eo', 'pgid=,pid=,args='])).stdout
        .split('\n')
        .filter((l) => (l.trim().startsWith(`${pid} `) || l.includes(planeDir)) && !l.includes(' ps -eo '));
    await pollUntil(
      async () => (!existsSync(planeDir) && (await leftovers()).length === 0 ? true : undefined),
      {
        timeoutMs: 60_000,
        description: `dev:cluster stopped: ${planeDir} removed, none of its processes left`,
        diagnose: async () => `${(await leftovers()).join('\n')}\n${diagnose()}`,
      },
    );
    const after = await probe(`${server}/readyz`, { insecure: true }, 2_000);
    expect(after, 'nothing listens on the plane port any more').toMatchObject({ status: 0 });
    expect(after.error).toMatch(/ECONNREFUSED/);
    expect(stderr).not.toMatch(/dev-cluster: FAILED/);
    expect(readdirSync(devNodes).sort(), 'its node directory removed').toEqual(nodeDirsBefore.sort());
  }, 900_000);
});
