import { describe, expect, it } from 'vitest';
import { createGangOutput, PROGRESS_LINE_TYPE } from './gang-output.ts';

const log = (level: number, msg: string, extra: object = {}) =>
  JSON.stringify({ level, time: 0, name: 'jcl', msg, ...extra });

function setup() {
  const written: string[] = [];
  const bar: number[] = [];
  const out = createGangOutput({
    bar: { update: (p) => bar.push(p.globalStep), done: () => written.push('<bar done>') },
    write: (t) => written.push(t),
  });
  return { out, written, bar };
}

describe('createGangOutput: a gang on a terminal reads as one process', () => {
  // Issue 19: both ranks' raw JSON, interleaved, and no progress bar.
  it('draws only rank 0 progress, shows rank 0 logs and only warnings and errors of the others', () => {
    const { out, written, bar } = setup();
    const progress = (globalStep: number) => JSON.stringify({ type: PROGRESS_LINE_TYPE, globalStep });
    out.onLine(0, log(30, 'training starts'), 'stdout');
    out.onLine(1, log(30, 'training starts'), 'stdout');
    out.onLine(0, progress(1), 'stdout');
    out.onLine(1, progress(1), 'stdout');
    out.onLine(1, log(40, 'slow peer'), 'stdout');
    out.onLine(0, progress(2), 'stdout');
    out.onLine(1, 'a raw line', 'stderr');
    out.done();
    expect(bar).toEqual([1, 2]);
    const CLEAR = '\r\u001b[K';
    expect(written.map((w) => (w.startsWith(CLEAR) ? `<clear>${w.slice(CLEAR.length)}` : w))).toEqual([
      expect.stringMatching(/^\[\d\d:\d\d:\d\d\] INFO: training starts\n$/),
      expect.stringMatching(/^<clear>\[rank 1\] \[\d\d:\d\d:\d\d\] WARN: slow peer\n$/),
      '<clear>[rank 1] a raw line\n',
      '<bar done>',
    ]);
  });

  it('does not end a bar it never drew', () => {
    const { out, written } = setup();
    out.onLine(0, log(30, 'hello'), 'stdout');
    out.done();
    expect(written).toHaveLength(1);
  });
});
