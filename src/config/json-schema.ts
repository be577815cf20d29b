// Editor JSON Schemas of the two user files, generated from the zod schemas' INPUT side (what users
// write: durations as text, defaults shown). `npm run schemas` writes them to schemas/.
import { z } from 'zod';
import { environmentSchema, runbookSchema } from './schema.js';

export const SCHEMA_FILES = {
  environment: 'schemas/environment.schema.json',
  runbook: 'schemas/runbook.schema.json',
} as const;

/** The file contents, keyed like SCHEMA_FILES, formatted as committed. */
export function jsonSchemaFiles(): Record<keyof typeof SCHEMA_FILES, string> {
  const render = (schema: z.ZodType): string =>
    `${JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }), null, 2)}\n`;
  return { environment: render(environmentSchema), runbook: render(runbookSchema) };
}
