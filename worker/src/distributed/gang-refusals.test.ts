import { describe, expect, it } from 'vitest';
import { GangRefusals, parseRankRefusals, toWireCounts } from './gang-refusals.ts';
import { RefusalLog, zeroRefusalCounts } from './refusal-log.ts';
import { silentLogger } from './log.ts';
import { messageType } from './wire.ts';

describe('refusal counts on the wire', () => {
  it('sends only the reasons with a count, in the fixed order', () => {
    const counts = { ...zeroRefusalCounts(), connection_limit: 4, wrong_token: 2 };
    expect(toWireCounts(counts)).toEqual([
      { reason: 'wrong_token', count: 2 },
      { reason: 'connection_limit', count: 4 },
    ]);
    expect(toWireCounts(zeroRefusalCounts())).toEqual([]);
  });

  it('round-trips through the StatusResponse message, and an old worker leaves it unset', () => {
    const type = messageType('StatusResponse');
    const decode = (m: object) =>
      type.toObject(type.decode(type.encode(m).finish()), { longs: Number, defaults: true });
    const refusals = { ranks: [{ rank: 3, counts: [{ reason: 'hello_timeout', count: 2 ** 40 }] }] };
    expect(decode({ phase: 'training', refusals }).refusals).toEqual(refusals);
    expect(decode({ phase: 'training' }).refusals).toBeNull();
  });

  it.each([
    [{ rank: 0, counts: [] }, 'refusals.rank: expected an integer in [1, 4), got 0'],
    [{ rank: 4, counts: [] }, 'refusals.rank: expected an integer in [1, 4), got 4'],
    [
      {
        rank: 1,
        counts: [
          { reason: 'wrong_token', count: 1 },
          { reason: 'other', count: 1 },
        ],
      },
      'refusals.counts[1].reason: expected one of wrong_token, bad_hello, wrong_rank_certificate, tls_handshake, hello_timeout, connection_limit, got "other"',
    ],
    [
      { rank: 1, counts: [{ reason: 'bad_hello', count: 2 ** 60 }] },
      'refusals.counts[0].count: expected an integer in [0, 2^53), got 1152921504606847000',
    ],
  ])('refuses %j naming the field and value', (m, problem) => {
    expect(() => parseRankRefusals(m, 4)).toThrow(
      expect.objectContaining({ code: 'invalid_config', details: [problem] }),
    );
  });

  it('refuses a report without counts', () => {
    expect(() => parseRankRefusals(null, 4)).toThrow('refusals: required, got nothing');
  });
});

describe('GangRefusals', () => {
  it("serves rank 0's live counts and each rank's largest report, ranks without refusals left out", () => {
    const own = new RefusalLog(silentLogger);
    const gang = new GangRefusals(4, () => own.counts());
    expect(gang.snapshot()).toEqual({ ranks: [] });
    gang.record({ rank: 3, counts: [{ reason: 'bad_hello', count: 7 }] });
    gang.record({ rank: 1, counts: [] });
    own.note('status GetStatus', 'wrong_token', '10.0.0.9');
    gang.record({
      rank: 3,
      counts: [
        { reason: 'bad_hello', count: 5 },
        { reason: 'wrong_token', count: 1 },
      ],
    });
    expect(gang.snapshot()).toEqual({
      ranks: [
        { rank: 0, counts: [{ reason: 'wrong_token', count: 1 }] },
        {
          rank: 3,
          counts: [
            { reason: 'wrong_token', count: 1 },
            { reason: 'bad_hello', count: 7 },
          ],
        },
      ],
    });
  });
});
