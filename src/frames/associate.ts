/**
 * Timestamp association as TUM's associate.py does it: every pair closer than
 * maxDifference is a candidate, candidates are taken greedily by smallest
 * difference (ties by first then second timestamp, like Python's tuple sort),
 * and each timestamp is used at most once. Result sorted by the first list.
 */
export interface Association {
  /** index into the first list */
  first: number;
  /** index into the second list */
  second: number;
}

interface Candidate {
  diff: number;
  first: number;
  second: number;
}

/** Both inputs in any order; only pairs within maxDifference are enumerated (sorted sweep, not n·m). */
export function associateTimestamps(first: readonly number[], second: readonly number[], maxDifference = 0.02): Association[] {
  const order2 = second.map((_, i) => i).sort((a, b) => second[a]! - second[b]!);
  const sorted2 = order2.map((i) => second[i]!);
  const candidates: Candidate[] = [];
  for (let i = 0; i < first.length; i++) {
    const a = first[i]!;
    let k = lowerBound(sorted2, a - maxDifference);
    for (; k < sorted2.length && sorted2[k]! <= a + maxDifference; k++) {
      const diff = Math.abs(a - sorted2[k]!);
      if (diff <= maxDifference) candidates.push({ diff, first: i, second: order2[k]! });
    }
  }
  candidates.sort((p, q) => p.diff - q.diff || first[p.first]! - first[q.first]! || second[p.second]! - second[q.second]!);
  const usedFirst = new Uint8Array(first.length);
  const usedSecond = new Uint8Array(second.length);
  const out: Association[] = [];
  for (const c of candidates) {
    if (usedFirst[c.first] || usedSecond[c.second]) continue;
    usedFirst[c.first] = 1;
    usedSecond[c.second] = 1;
    out.push({ first: c.first, second: c.second });
  }
  return out.sort((p, q) => first[p.first]! - first[q.first]! || p.first - q.first);
}

function lowerBound(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
