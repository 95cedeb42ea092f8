/**
 * The JSON Schemas of evonas's files, made from the declarations that check
 * them (so they cannot drift): what `evonas schema` prints.
 */
import { z } from 'zod';
import { experimentSchema } from '../evolution/config.js';
import { ManifestSchema } from '../data/manifest.js';
import { DEFAULT_SPACE, SPACE_REGISTRY } from '../spaces/index.js';

function jsonSchema(schema: z.ZodType, id: string, title: string): Record<string, unknown> {
  // io 'input': the file as written, with its optional fields and their defaults.
  return { ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }), $id: id, title };
}

export const FILE_SCHEMAS: Record<string, () => Record<string, unknown>> = {
  experiment: () => ({
    ...jsonSchema(experimentSchema(), 'https://evonas.dev/schema/experiment.json', 'evonas experiment.json'),
    // The refinement the declaration cannot say in JSON Schema by itself: what the evaluator requires.
    if: { properties: { evaluator: { const: 'table' } }, required: ['evaluator'] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then/else, not a thenable
    then: { required: ['benchmark'], properties: { benchmark: { type: 'object' } } },
    else: { required: ['data'] },
    // Only the experiment's space may have settings (the default space when it names none).
    allOf: [...SPACE_REGISTRY.keys()].map((name) => {
      const named = { properties: { space: { const: name } }, required: ['space'] };
      return {
        if: name === DEFAULT_SPACE ? { anyOf: [{ not: { required: ['space'] } }, named] } : named,
        // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then, not a thenable
        then: { properties: Object.fromEntries([...SPACE_REGISTRY.keys()].filter((o) => o !== name).map((o) => [o, false])) },
      };
    }),
  }),
  manifest: () => jsonSchema(ManifestSchema, 'https://evonas.dev/schema/manifest.json', 'evonas dataset manifest.json'),
};
