// The page of the example rehearsal (`rehearse --output html FILE`, issue 18) rendered by a real browser:
// Debian's chromium, headless. The test reads the DOM chromium built (a mark per tick, red marks for exactly
// the doubles and misses of the report) and keeps a screenshot in test-artifacts/. It never skips: without
// chromium it fails and says how to install it.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RehearsalReport } from '../../src/adapters/sandbox/report.js';
import { type CliIo, main } from '../../src/cli/main.js';

const run = promisify(execFile);
const CHROMIUM = process.env.CHROMIUM ?? 'chromium';
const ARTIFACTS = resolve('test-artifacts');

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: { CUTOVER_USER: 'browser-test' },
    interactive: false,
    confirm: async () => false,
    onInterrupt: () => () => undefined,
  };
  const code = await main(['node', 'cutover', ...args], io);
  return { code, out, err };
}

async function chromium(profile: string, ...args: string[]): Promise<string> {
  const flags = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    `--user-data-dir=${profile}`,
  ];
  try {
    const { stdout } = await run(CHROMIUM, [...flags, ...args], { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new Error(`the browser test needs Debian's chromium ("${CHROMIUM}" is not on PATH): apt-get install -y chromium, or set CHROMIUM to its path`, { cause: error });
    }
    throw error;
  }
}

let dir: string;
let page: string;
let report: RehearsalReport;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cutover-html-'));
  page = join(dir, 'example.html');
  const html = await cli('rehearse', '-f', 'workflows/example.yaml', '--output', 'html', page);
  expect(html.err).toContain(`page written to ${page}`);
  expect(html.code).toBe(0);
  const json = await cli('rehearse', '-f', 'workflows/example.yaml', '--output', 'json');
  report = JSON.parse(json.out) as RehearsalReport;
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the example rehearsal page in chromium', () => {
  it('has a lane per CronJob, a mark per tick coloured by cluster, and red marks for exactly the doubles and misses', async () => {
    const dom = await chromium(join(dir, 'profile-dom'), '--dump-dom', `file://${page}`);
    expect(dom).toContain('<svg class="timeline"');
    const lanes = [...dom.matchAll(/<g class="cronjob" data-cronjob="([^"]+)">([\s\S]*?)<\/g>(?=<g class="cronjob"|<g class="marker|<\/svg>)/g)];
    expect(lanes.map((l) => l[1])).toEqual(report.cronJobs.map((cj) => cj.cronJob));
    for (const [, name, body] of lanes) {
      const cj = report.cronJobs.find((c) => c.cronJob === name)!;
      const marks = [...body!.matchAll(/class="tick (\w+)" data-tick="([^"]+)" data-cluster="([^"]*)"/g)];
      expect(marks.map((m) => m[2])).toEqual(cj.ticks.map((t) => t.tick));
      expect(marks.map((m) => m[3])).toEqual(cj.ticks.map((t) => t.jobs.map((j) => j.cluster).join(' ')));
      const red = marks.filter((m) => m[1] === 'missed' || m[1] === 'double').map((m) => m[2]);
      expect(red).toEqual([...cj.missedTicks, ...cj.doubleRuns].sort());
    }
    // The example misses one tick on purpose (docs/sandbox.md): the page must show it in red.
    const allRed = [...dom.matchAll(/class="tick (missed|double)"/g)];
    expect(allRed).toHaveLength(report.missedTicks + report.doubleRuns);
    expect(report.missedTicks).toBe(1);
    // Weight steps, gates and approvals are drawn too.
    expect(dom).toContain('<svg class="weights"');
    expect([...dom.matchAll(/class="marker gate"/g)]).toHaveLength(report.gates.length);
    expect([...dom.matchAll(/class="marker approval"/g)]).toHaveLength(report.approvals.length);
    // Nothing on the page is fetched from anywhere.
    expect(dom).not.toMatch(/\s(src|href)="/);
  }, 120_000);

  it('renders to a screenshot kept as a test artifact', async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'example-rehearsal.png');
    await rm(shot, { force: true });
    await chromium(join(dir, 'profile-shot'), '--hide-scrollbars', '--window-size=1200,1300', `--screenshot=${shot}`, `file://${page}`);
    const png = await readFile(shot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    // IHDR: width and height, big-endian, at bytes 16 and 20.
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([1200, 1300]);
    expect((await stat(shot)).size).toBeGreaterThan(20_000);
  }, 120_000);
});
