// The container image built without a container engine (tools/image/build.sh, issue 19): its config says
// what the chart and docs/deploy.md rely on, and the CLI runs from the unpacked root filesystem as the
// non-root user with nothing writable but /tmp. Needs no lab; it lives in the e2e suite because the build
// fetches Debian packages and the Node binary and takes about a minute.
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const version = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

interface Descriptor {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}
interface ImageConfig {
  os: string;
  architecture: string;
  config: { User: string; Entrypoint: string[]; Env: string[]; WorkingDir: string; Labels: Record<string, string> };
  rootfs: { diff_ids: string[] };
}

let out: string;
let rootfs: string;
let digest: string;

async function blob(d: string): Promise<unknown> {
  return JSON.parse(await readFile(join(out, 'cutover-oci', 'blobs', ...d.split(':')), 'utf8'));
}

async function image(): Promise<{ manifest: { mediaType: string; layers: Descriptor[]; config: Descriptor }; config: ImageConfig; ref: Descriptor }> {
  const index = JSON.parse(await readFile(join(out, 'cutover-oci', 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const ref = index.manifests[0]!;
  const manifest = (await blob(ref.digest)) as { mediaType: string; layers: Descriptor[]; config: Descriptor };
  return { manifest, config: (await blob(manifest.config.digest)) as ImageConfig, ref };
}

/** Runs a command inside the unpacked image as its user, with the image's environment and nothing else. */
async function inImage(config: ImageConfig, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const asRoot = process.getuid?.() === 0;
  const chroot = asRoot
    ? ['chroot', `--userspec=${config.config.User}`, rootfs]
    : ['unshare', '--user', '--map-root-user', 'chroot', rootfs]; // without root: a user namespace
  const [command, ...rest] = [...chroot, ...config.config.Entrypoint, ...args];
  const env = Object.fromEntries(config.config.Env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  try {
    const { stdout, stderr } = await run(command!, rest, { env: { ...env, PATH: `${env.PATH}:/usr/sbin:/usr/bin:/sbin:/bin` }, timeout: 60_000 });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return { stdout: e.stdout ?? '', stderr: e.stderr ?? '', code: typeof e.code === 'number' ? e.code : -1 };
  }
}

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'cutover-image-'));
  rootfs = join(out, 'rootfs');
  const built = await run('bash', [join(repoRoot, 'tools/image/build.sh'), out], { timeout: 600_000, maxBuffer: 16 << 20 });
  digest = built.stdout.trim();
  await run('go', ['run', '.', 'unpack', '-layout', join(out, 'cutover-oci'), '-to', rootfs], {
    cwd: join(repoRoot, 'tools/image'),
    timeout: 300_000,
  });
}, 900_000);

afterAll(async () => {
  if (out) await rm(out, { recursive: true, force: true });
});

describe('the image built by tools/image/build.sh', () => {
  test('is one OCI image of three layers, tagged with the package version, whose digest the build printed', async () => {
    const { manifest, config, ref } = await image();
    expect(ref.digest).toBe(digest);
    expect(ref.annotations?.['org.opencontainers.image.ref.name']).toBe(version);
    expect(manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(manifest.layers).toHaveLength(3);
    expect(config.rootfs.diff_ids).toHaveLength(3);
    expect([config.os, config.architecture]).toEqual(['linux', 'amd64']);
    expect((await stat(join(out, `cutover-${version}.oci.tar`))).size).toBeGreaterThan(0);
  });

  test('runs the CLI as uid 65532 with HOME in /tmp, the entrypoint the chart relies on', async () => {
    const { config } = await image();
    expect(config.config.User).toBe('65532:65532');
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/bin/cutover.js']);
    expect(config.config.Env).toContain('HOME=/tmp');
    expect(config.config.Labels['org.opencontainers.image.version']).toBe(version);
  });

  test('`--version` from the unpacked root filesystem prints the package version', async () => {
    const result = await inImage((await image()).config, ['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  test('holds no shell', async () => {
    for (const shell of ['bin/sh', 'usr/bin/sh', 'bin/bash', 'usr/bin/bash']) {
      await expect(stat(join(rootfs, shell))).rejects.toMatchObject({ code: 'ENOENT' });
    }
  });

  test('runs the example cutover with files it cannot write and only /tmp writable', async () => {
    // Root-owned copies in the image's /etc: the non-root user can read them, not write beside them.
    await cp(join(repoRoot, 'workflows/example.yaml'), join(rootfs, 'etc/cutover/workflows/example.yaml'));
    await cp(join(repoRoot, 'config/sandbox.yaml'), join(rootfs, 'etc/cutover/config/sandbox.yaml'));
    const result = await inImage((await image()).config, ['execute', '-f', '/etc/cutover/workflows/example.yaml']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Double runs: 0$/m);
  });
});
