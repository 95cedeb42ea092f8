/**
 * Noticing a trapped population and freeing it without a human. Real et al.
 * (2017, section 5) saw populations stall at local optima and freed them by
 * hand, with periods of raised mutation rate and population-wide weight
 * resets at times they chose. Here a worker that sees no new best by
 * validation accuracy for a window records a stagnation event; the event
 * appends the same remedies to the experiment's schedule, so every worker
 * applies them with no further coordination, and the report draws them on
 * Figure 1.
 */
import { bestSoFar } from './selection.js';
import type { Born } from './selection.js';
import type { ExperimentDocs } from '../store/docs.js';
import type { Schedule } from './schedule.js';
import type { z } from 'zod';
import { atLeast, oneOf, parseWith, strict, whole } from '../util/schema.js';

export const REMEDIES = ['mutation-rate', 'weight-reset', 'both'] as const;
export type Remedy = (typeof REMEDIES)[number];

/** A stagnation policy's layout (experiment.json's "stagnation"). */
export const StagnationSchema = strict({
  window: atLeast(0, true).describe('Seconds without a new best by validation accuracy that count as stagnation (and that each remedy gets to work).'),
  remedy: oneOf(REMEDIES).describe("The paper's remedies: raise the mutation rate for a while, reset every individual's weights, or both."),
  k: whole(2).optional().describe('Mutations per child while the rate is raised (default 5).'),
  duration: atLeast(0, true).optional().describe('Seconds the raised rate lasts (default half the window).'),
});

export type StagnationPolicy = z.output<typeof StagnationSchema>;

export interface StagnationEvent {
  /** 0, 1, ...: one file each, created once by whichever worker saw it first. */
  index: number;
  /** Seconds since the experiment started. */
  at: number;
  /** When the best so far was born (seconds since the start) and its validation accuracy. */
  bestAt: number;
  bestValidation: number;
  remedy: Remedy;
  mutationRate?: { from: number; to: number; k: number };
  weightReset?: number;
}

/** @throws {RangeError} naming the field (window: ...) when the policy is malformed. */
export function validateStagnation(s: unknown): StagnationPolicy {
  return parseWith(StagnationSchema, s, (_, message) => new RangeError(message));
}

/**
 * The event to record at `now` (seconds since the start), or undefined: the
 * best so far is older than the window, and so is the latest event (a remedy
 * gets a whole window to work before the next).
 */
export function detectStagnation(policy: StagnationPolicy, individuals: Born[], startedMs: number, now: number, events: StagnationEvent[]): StagnationEvent | undefined {
  const best = bestSoFar(individuals).at(-1);
  if (!best) return undefined; // nothing evaluated yet
  const bestAt = (Date.parse(best.bornAt) - startedMs) / 1000;
  const last = events.at(-1)?.at ?? 0;
  if (now - Math.max(bestAt, last) < policy.window) return undefined;
  const e: StagnationEvent = { index: events.length, at: now, bestAt, bestValidation: best.fitness!, remedy: policy.remedy };
  if (policy.remedy !== 'weight-reset') e.mutationRate = { from: now, to: now + (policy.duration ?? policy.window / 2), k: policy.k ?? 5 };
  if (policy.remedy !== 'mutation-rate') e.weightReset = now;
  return e;
}

/** One line for a person: what was seen and what was done. */
export function describeEvent(e: StagnationEvent): string {
  const done = [e.mutationRate ? `${e.mutationRate.k} mutations per child until ${e.mutationRate.to.toFixed(0)} s` : '', e.weightReset !== undefined ? "every individual's weights reset" : ''].filter(
    Boolean,
  );
  return `stagnation at ${e.at.toFixed(0)} s: no new best by validation since ${e.bestAt.toFixed(0)} s (${e.bestValidation.toFixed(4)}); ${done.join(' and ')}`;
}

/** The schedule with the remedies of `events` added. */
export function withRemedies(s: Schedule, events: StagnationEvent[]): Schedule {
  if (events.length === 0) return s;
  return {
    ...s,
    mutationRate: [...(s.mutationRate ?? []), ...events.flatMap((e) => (e.mutationRate ? [e.mutationRate] : []))],
    weightResets: [...(s.weightResets ?? []), ...events.flatMap((e) => (e.weightReset !== undefined ? [e.weightReset] : []))],
  };
}

/** An experiment's stagnation events: events/stagnation-<index>.json among its documents. */
export class StagnationLog {
  constructor(private readonly docs: ExperimentDocs) {}

  async list(): Promise<StagnationEvent[]> {
    return (await this.docs.list<StagnationEvent>('events')).filter((e) => typeof e?.index === 'number').sort((a, b) => a.index - b.index);
  }

  /** @returns false when another worker recorded this event's index first. */
  record(e: StagnationEvent): Promise<boolean> {
    return this.docs.create(`events/stagnation-${e.index}.json`, e);
  }
}
