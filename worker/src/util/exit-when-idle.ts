/**
 * The last step of a command: set the exit code and let the process end by itself, and if something still
 * holds the event loop shortly after (a connection someone else keeps open, a timer a library forgot),
 * say what and exit anyway. A worker pod must end when its work is done or failed, whatever peers or
 * outsiders still hold: the operator only sees the exit code once the container has exited.
 */

/** How long the process may take to wind down by itself once the command has returned. */
export const EXIT_GRACE_MS = 2_000;

/** Exit with `code` as soon as the event loop is idle, or after `graceMs` at the latest. */
export function exitWhenIdle(code: number, graceMs = EXIT_GRACE_MS): void {
  process.exitCode = code;
  const timer = setTimeout(() => {
    const held = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    const counts = new Map<string, number>();
    for (const r of held) counts.set(r, (counts.get(r) ?? 0) + 1);
    const what = [...counts].map(([r, n]) => `${n} ${r}`).join(', ');
    process.stderr.write(
      `jcl: exiting with code ${code}; ${held.length} handle(s) still open after ${graceMs} ms (${what})\n`,
    );
    process.exit(code);
  }, graceMs);
  timer.unref(); // fires only if something else keeps the process alive
}
