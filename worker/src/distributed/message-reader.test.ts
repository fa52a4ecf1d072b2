import { describe, expect, it } from 'vitest';
import { MessageReader, messagePrefix } from './message-reader.ts';

const framed = (body: number[]) => Buffer.concat([messagePrefix(body.length), Buffer.from(body)]);

describe('MessageReader', () => {
  it('re-assembles messages split and joined arbitrarily, each body at an offset of 1 mod 4', () => {
    const stream = Buffer.concat([framed([1, 2, 3]), framed([]), framed([9, 8, 7, 6, 5])]);
    for (const cut of [1, 2, 4, 7, stream.length]) {
      const r = new MessageReader(100);
      const got: Buffer[] = [];
      for (let i = 0; i < stream.length; i += cut) r.push(stream.subarray(i, i + cut), (m) => got.push(m));
      expect(got.map((b) => [...b])).toEqual([[1, 2, 3], [], [9, 8, 7, 6, 5]]);
      for (const b of got) expect(b.byteOffset % 4).toBe(1);
    }
  });

  it.each([1, 3, 64])(
    'reads straight into its own buffers (readBuffer/commit), at most %i bytes per read',
    (maxRead) => {
      const stream = Buffer.concat([framed([1, 2, 3]), framed([]), framed([9, 8, 7, 6, 5])]);
      const r = new MessageReader(100);
      const got: Buffer[] = [];
      for (let off = 0; off < stream.length;) {
        const into = r.readBuffer();
        expect(into.length).toBeGreaterThan(0);
        const n = stream.copy(into, 0, off, Math.min(stream.length, off + maxRead, off + into.length));
        off += n;
        r.commit(n, (m) => got.push(m));
      }
      expect(got.map((b) => [...b])).toEqual([[1, 2, 3], [], [9, 8, 7, 6, 5]]);
      for (const b of got) expect(b.byteOffset % 4).toBe(1);
    },
  );

  it('refuses an oversized message read straight in, before allocating its body', () => {
    const r = new MessageReader(4);
    messagePrefix(5).copy(r.readBuffer());
    expect(() => r.commit(5, () => expect.unreachable())).toThrow('message of 5 B exceeds the limit of 4 B');
  });

  it('refuses oversized and compressed messages before allocating', () => {
    const none = () => expect.unreachable();
    expect(() => new MessageReader(4).push(framed([1, 2, 3, 4, 5]), none)).toThrow(
      'message of 5 B exceeds the limit of 4 B',
    );
    expect(() => new MessageReader(4).push(Buffer.from([1, 0, 0, 0, 1, 0]), none)).toThrow(
      'message flag must be 0',
    );
  });
});
