import type { Individual, PopulationStore } from './types.js';

/** The population at a glance: counts by state and the best by validation accuracy. */
export interface PopulationSummary {
  alive: number;
  dead: number;
  trained: number;
  failed: number;
  best?: Individual;
}

export async function summarizePopulation(store: PopulationStore): Promise<PopulationSummary> {
  return summarize(await store.list());
}

/** The same, over individuals already listed. */
export function summarize(all: Individual[]): PopulationSummary {
  const trained = all.filter((i) => i.fitness !== null);
  return {
    alive: all.filter((i) => i.state === 'alive').length,
    dead: all.filter((i) => i.state === 'dead').length,
    trained: trained.length,
    failed: all.filter((i) => i.failure !== undefined).length,
    best: trained.reduce<Individual | undefined>((b, i) => (!b || i.fitness! > b.fitness! ? i : b), undefined),
  };
}
