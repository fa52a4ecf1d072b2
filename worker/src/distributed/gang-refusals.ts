/**
 * Rank 0's view of the whole gang's refusal counts (pure state): its own, read live from its RefusalLog,
 * and each other rank's as that rank last reported it (Rendezvous.ReportRefusals). Served in the Status
 * response, so the operator learns every rank's counts from the one poll it makes per job.
 */
import { JclError } from '../util/errors.ts';
import { isRefusalReason, REFUSAL_REASONS, zeroRefusalCounts, type RefusalCounts } from './refusal-log.ts';
import type { WireGangRefusals, WireRankRefusals, WireRefusalCount } from './wire.ts';

/** The wire form of `counts`: the reasons with a count above 0, in the fixed order. */
export function toWireCounts(counts: RefusalCounts): WireRefusalCount[] {
  return REFUSAL_REASONS.filter((r) => counts[r] > 0).map((reason) => ({ reason, count: counts[reason] }));
}

/**
 * Counts from the wire, every problem named with its field and value (JclError invalid_config, which the
 * Rendezvous service answers with INVALID_ARGUMENT).
 */
export function parseRankRefusals(
  m: WireRankRefusals | null | undefined,
  worldSize: number,
): { rank: number; counts: RefusalCounts } {
  if (!m) throw new JclError('invalid_config', 'refusals: required, got nothing');
  const problems: string[] = [];
  if (!Number.isInteger(m.rank) || m.rank < 1 || m.rank >= worldSize)
    problems.push(`refusals.rank: expected an integer in [1, ${worldSize}), got ${m.rank}`);
  const counts = zeroRefusalCounts();
  (m.counts ?? []).forEach((c, i) => {
    if (!isRefusalReason(c.reason)) {
      problems.push(
        `refusals.counts[${i}].reason: expected one of ${REFUSAL_REASONS.join(', ')}, got ${JSON.stringify(c.reason)}`,
      );
    } else if (!Number.isSafeInteger(c.count) || c.count < 0) {
      problems.push(`refusals.counts[${i}].count: expected an integer in [0, 2^53), got ${c.count}`);
    } else {
      counts[c.reason] = Math.max(counts[c.reason], c.count);
    }
  });
  if (problems.length > 0)
    throw new JclError('invalid_config', `refusal report: ${problems.join('; ')}`, { details: problems });
  return { rank: m.rank, counts };
}

export class GangRefusals {
  private readonly reported = new Map<number, RefusalCounts>();

  constructor(
    readonly worldSize: number,
    /** This rank's (rank 0's) own counts. */
    private readonly own: () => RefusalCounts,
  ) {}

  /** Keep a rank's report; counts only grow, so a report overtaken by a later one changes nothing. */
  record(m: WireRankRefusals | null | undefined): void {
    const { rank, counts } = parseRankRefusals(m, this.worldSize);
    const prev = this.reported.get(rank) ?? zeroRefusalCounts();
    for (const r of REFUSAL_REASONS) prev[r] = Math.max(prev[r], counts[r]);
    this.reported.set(rank, prev);
  }

  /** Every rank with a refusal, by rank. */
  snapshot(): WireGangRefusals {
    const ranks: WireRankRefusals[] = [];
    const add = (rank: number, counts: RefusalCounts) => {
      const wire = toWireCounts(counts);
      if (wire.length > 0) ranks.push({ rank, counts: wire });
    };
    add(0, this.own());
    for (const rank of [...this.reported.keys()].sort((a, b) => a - b)) add(rank, this.reported.get(rank)!);
    return { ranks };
  }
}
