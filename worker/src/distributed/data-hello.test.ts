import { describe, expect, it } from 'vitest';
import { acceptDataHello, encodeDataHello, type HelloContext } from './data-hello.ts';

const ctx: HelloContext = {
  checkToken: (t) => t === 'secret',
  sessionId: 's1',
  rank: 0,
  worldSize: 4,
  streams: 2,
  taken: (r, stream) => r === 3 && stream === 0,
  certificateProblem: (r) => (r === 2 ? 'certificate names rank 1' : null),
};
const hello = (over: Record<string, unknown> = {}) =>
  Buffer.from(
    encodeDataHello({ fromRank: 1, sessionId: 's1', token: 'secret', stream: 1, streams: 2, ...over }),
  );

describe('acceptDataHello', () => {
  it('accepts a hello of the job and returns the rank and stream', () => {
    expect(acceptDataHello(hello(), ctx)).toEqual({ rank: 1, stream: 1 });
    expect(acceptDataHello(hello({ fromRank: 3, stream: 1 }), ctx)).toEqual({ rank: 3, stream: 1 });
  });

  it.each([
    ['undecodable bytes', Buffer.from([0xff, 0xff, 0xff]), 'bad_hello', 'malformed hello'],
    ['a wrong token', hello({ token: 'guess' }), 'wrong_token', 'wrong job token'],
    ['another session', hello({ sessionId: 's0' }), 'bad_hello', 'stale session'],
    ['another stream count', hello({ streams: 3 }), 'bad_hello', 'stream count mismatch'],
    [
      'no stream count (one stream) against two',
      hello({ streams: 0, stream: 0 }),
      'bad_hello',
      'stream count mismatch',
    ],
    ['a stream past the count', hello({ stream: 2 }), 'bad_hello', 'bad stream'],
    ['its own rank', hello({ fromRank: 0 }), 'bad_hello', 'bad from_rank'],
    ['a rank outside the world', hello({ fromRank: 4 }), 'bad_hello', 'bad from_rank'],
    ['a stream already connected', hello({ fromRank: 3, stream: 0 }), 'bad_hello', 'bad from_rank'],
    [
      'a certificate of another rank',
      hello({ fromRank: 2 }),
      'wrong_rank_certificate',
      'certificate not issued',
    ],
  ])('refuses %s with reason %s', (_what, m, reason, phrase) => {
    expect(() => acceptDataHello(m, ctx)).toThrow(expect.objectContaining({ reason }));
    expect(() => acceptDataHello(m, ctx)).toThrow(
      expect.objectContaining({ phrase: expect.stringContaining(phrase) }),
    );
  });
});
