import { readFile } from 'node:fs/promises';
import { describe, expect, test } from 'vitest';
import { jsonSchemaFiles, SCHEMA_FILES } from '../../src/config/json-schema.js';

const generated = jsonSchemaFiles();

describe('editor JSON Schemas', () => {
  test.each(Object.entries(SCHEMA_FILES))('the committed %s schema is up to date (run `npm run schemas`)', async (key, file) => {
    const committed = await readFile(new URL(`../../${file}`, import.meta.url), 'utf8');

    expect(committed).toBe(generated[key as keyof typeof SCHEMA_FILES]);
  });

  test('describe what users write: durations as text with their defaults', () => {
    const runbook = JSON.parse(generated.runbook);
    const cronjobs = runbook.properties.cronjobs.properties;

    expect(cronjobs.drainTimeout).toMatchObject({ type: 'string', default: '10m' });
    expect(cronjobs.concurrency).toMatchObject({ type: 'integer', default: 5 });
    expect(runbook.required).toEqual(['apiVersion', 'kind', 'name', 'environment', 'from', 'to', 'cronjobs', 'steps']);
  });

  test('a step item must hold exactly one kind, and unknown fields are flagged', () => {
    const step = JSON.parse(generated.runbook).properties.steps.items;

    expect(step).toMatchObject({ minProperties: 1, maxProperties: 1, additionalProperties: false });
    expect(Object.keys(step.properties)).toEqual(['preflight', 'moveCronJobs', 'shiftTraffic', 'gate', 'approve']);
  });

  test('the environment accepts any sandbox map and requires the clusters', () => {
    const environment = JSON.parse(generated.environment);

    expect(environment.properties.sandbox).toMatchObject({ type: 'object' });
    expect(environment.required).toEqual(['apiVersion', 'kind', 'name', 'clusters']);
  });
});
