/**
 * The JSON Schemas of evonas's files, made from the declarations that check
 * them (so they cannot drift): what `evonas schema` prints.
 */
import { z } from 'zod';
import { ExperimentSchema } from '../evolution/config.js';
import { ManifestSchema } from '../data/manifest.js';

function jsonSchema(schema: z.ZodType, id: string, title: string): Record<string, unknown> {
  // io 'input': the file as written, with its optional fields and their defaults.
  return { ...z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' }), $id: id, title };
}

export const FILE_SCHEMAS: Record<string, () => Record<string, unknown>> = {
  experiment: () => jsonSchema(ExperimentSchema, 'https://evonas.dev/schema/experiment.json', 'evonas experiment.json'),
  manifest: () => jsonSchema(ManifestSchema, 'https://evonas.dev/schema/manifest.json', 'evonas dataset manifest.json'),
};
