/**
 * Schedules that help a population escape local optima (Real et al. 2017,
 * section 5): periods of raised mutation rate (k mutations per child) and
 * population-wide weight resets at set times. Both are functions of time
 * since the experiment started, so workers need no coordination.
 */
import { z } from 'zod';
import { atLeast, parseWith, strict, whole } from '../util/schema.js';

/** The schedule's layout: every period and reset checked, every unknown key refused by its path. */
export const ScheduleSchema = strict({
  mutationRate: z
    .array(
      strict({ from: atLeast(0), to: atLeast(0), k: whole(1) }).refine((p) => p.to > p.from, {
        error: (iss) => `expected 0 <= from < to but found from ${(iss.input as { from: number }).from}, to ${(iss.input as { to: number }).to}`,
      }),
      { error: 'expected a list of {from, to, k}' },
    )
    .optional()
    .describe('During [from, to) seconds since the start, each child gets k mutations instead of one.'),
  weightResets: z.array(atLeast(0), { error: 'expected a list of times in seconds' }).optional().describe("At each of these times (seconds since the start), every individual's weights are reset."),
});

export type Schedule = z.output<typeof ScheduleSchema>;

/** @throws {RangeError} naming the field (schedule.mutationRate[0].k) when a schedule is malformed. */
export function validateSchedule(s: unknown): Schedule {
  return parseWith(ScheduleSchema, s, (_, message) => new RangeError(message), ['schedule']);
}

/** Mutations per child at `elapsed` seconds. */
export function mutationsPerChild(s: Schedule, elapsed: number): number {
  return (s.mutationRate ?? []).find((p) => elapsed >= p.from && elapsed < p.to)?.k ?? 1;
}

/**
 * Whether weights whose training began at `parentBorn` (seconds since the
 * start: an individual's weightsSince) are stale at `now`: a reset came
 * after them. Resetting "the whole population" this way needs no pass over
 * it: each stale individual is retrained before it competes, and passes
 * nothing on.
 */
export function resetSinceBirth(s: Schedule, parentBorn: number, now: number): boolean {
  return (s.weightResets ?? []).some((t) => t > parentBorn && t <= now);
}
