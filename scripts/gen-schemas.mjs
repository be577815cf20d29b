// Writes the editor JSON Schemas of the environment and runbook files (run through `npm run schemas`,
// which first compiles the config modules). A unit test fails when the committed files are out of date.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { jsonSchemaFiles, SCHEMA_FILES } from '../dist/config/json-schema.js';

const root = new URL('../', import.meta.url);
const contents = jsonSchemaFiles();
for (const [key, file] of Object.entries(SCHEMA_FILES)) {
  await writeFile(fileURLToPath(new URL(file, root)), contents[key]);
  console.log(`wrote ${file}`);
}
