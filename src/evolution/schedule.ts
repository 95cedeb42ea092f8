/**
 * Schedules that help a population escape local optima (Real et al. 2017,
 * section 5): periods of raised mutation rate (k mutations per child) and
 * population-wide weight resets at set times. Both are functions of time
 * since the experiment started, so workers need no coordination.
 */
export interface Schedule {
  /** During [from, to) seconds, each child gets k mutations instead of one. */
  mutationRate?: { from: number; to: number; k: number }[];
  /** At each of these times (seconds), every individual's weights are reset. */
  weightResets?: number[];
}

/** @throws {RangeError} naming the field when a schedule is malformed. */
export function validateSchedule(s: Schedule): Schedule {
  (s.mutationRate ?? []).forEach((p, i) => {
    if (!(p.from >= 0 && p.to > p.from)) throw new RangeError(`schedule.mutationRate[${i}]: expected 0 <= from < to but received from ${p.from}, to ${p.to}`);
    if (!Number.isInteger(p.k) || p.k < 1) throw new RangeError(`schedule.mutationRate[${i}].k: expected a whole number >= 1 but received ${p.k}`);
  });
  (s.weightResets ?? []).forEach((t, i) => {
    if (!(t >= 0)) throw new RangeError(`schedule.weightResets[${i}]: expected a time >= 0 but received ${t}`);
  });
  return s;
}

/** Mutations per child at `elapsed` seconds. */
export function mutationsPerChild(s: Schedule, elapsed: number): number {
  return (s.mutationRate ?? []).find((p) => elapsed >= p.from && elapsed < p.to)?.k ?? 1;
}

/**
 * Whether a child made now loses its parent's weights: a reset happened after
 * the parent was born. Resetting "the whole population" this way needs no
 * pass over it: each lineage drops its weights at its next reproduction.
 */
export function resetSinceBirth(s: Schedule, parentBorn: number, now: number): boolean {
  return (s.weightResets ?? []).some((t) => t > parentBorn && t <= now);
}
