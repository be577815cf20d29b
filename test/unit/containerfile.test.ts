// The Containerfile (for docker/buildah) and tools/image/build.sh (no container engine) must give images
// of the same shape, since the chart relies on it: entrypoint node /app/bin/cutover.js (the chart passes
// only arguments), uid 65532, HOME=/tmp (the one writable folder). No engine runs here, so the
// Containerfile is checked as text against the daemonless build's settings.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';

const root = join(import.meta.dirname, '..', '..');
const containerfile = await readFile(join(root, 'Containerfile'), 'utf8');
const build = await readFile(join(root, 'tools/image/build.sh'), 'utf8');
const finalStage = containerfile.slice(containerfile.lastIndexOf('\nFROM '));

test('the final stage runs node /app/bin/cutover.js as 65532 with HOME=/tmp, like tools/image/build.sh', () => {
  expect(finalStage).toMatch(/^ENTRYPOINT \["node", "\/app\/bin\/cutover\.js"\]$/m);
  expect(build).toContain('-entrypoint /usr/local/bin/node -entrypoint /app/bin/cutover.js');
  expect(finalStage).toMatch(/^USER 65532:65532$/m);
  expect(build).toMatch(/^UID_GID=65532$/m);
  expect(finalStage).toMatch(/^ENV .*HOME=\/tmp/m);
  expect(build).toContain('-env HOME=/tmp');
});

test('both build from Node 20, the line package.json supports', async () => {
  const engines = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  expect(engines).toMatch(/^>=20\./);
  expect(containerfile).toMatch(/^ARG NODE_IMAGE=docker\.io\/library\/node:20-bookworm-slim$/m);
  expect(build).toMatch(/^NODE_VERSION=20\.\d+\.\d+$/m);
});

test('both ship the same parts of the app: bin, dist, schemas and production node_modules', () => {
  for (const part of ['bin', 'schemas']) expect(containerfile).toContain(`COPY ${part} ./${part}`);
  expect(containerfile).toContain('COPY --from=build /src/dist ./dist');
  expect(containerfile).toContain('npm ci --omit=dev');
  expect(build).toContain('"$root/bin" "$root/dist" "$root/schemas"');
  expect(build).toContain('npm ci --omit=dev');
});
