// Progress that leaves a record (issue 18), seen as a user sees it: the shipped binary as a child process,
// once without a terminal (a CI log: start and end lines for every wait, heartbeat lines, no control
// characters) and once on a pseudo-terminal from util-linux `script` (the live line redrawn in place, the
// record lines kept). The example cutover runs on the sandbox, so its waits pass in virtual time.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

/** The escape character that starts a terminal control sequence. */
const ESC = String.fromCharCode(27);

const run = promisify(execFile);
const BIN = join(process.cwd(), 'bin', 'cutover.js');
const ENV = { ...process.env, NO_COLOR: '1', CUTOVER_USER: 'progress-test' };

async function cutover(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: ENV, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

const STAMP = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z`;

/** Every `waiting for X until T` has a later `done waiting for X after …`; returns the waits seen. */
function pairedWaits(lines: string[]): string[] {
  const starts = lines.flatMap((line, i) => {
    const m = new RegExp(`waiting for (.+) until (${STAMP}) \\(`).exec(line);
    return m && !line.includes('still waiting') && !line.includes('done waiting') ? [{ what: m[1]!, i }] : [];
  });
  for (const { what, i } of starts) {
    const end = lines.findIndex((line, j) => j > i && line.includes(`done waiting for ${what} after `));
    expect(end, `no end line for the wait "${what}"`).toBeGreaterThan(i);
  }
  return starts.map((s) => s.what);
}

describe('without a terminal', () => {
  it('every wait starts and ends with a stamped line, and a heartbeat line comes every interval of the wait', async () => {
    const result = await cutover('execute', '-f', 'workflows/example.yaml', '--heartbeat', '2m');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/\r/);
    expect(result.stdout).not.toContain(ESC);
    const lines = result.stdout.split('\n');
    const waits = pairedWaits(lines);
    expect(waits).toEqual(expect.arrayContaining(['soak at 10% (10m)', 'soak at 50% (15m)']));
    // The 15-minute soak: a start line with the UTC date, heartbeats 2 minutes apart, an end line.
    const soak = lines.filter((line) => line.includes('soak at 50% (15m)'));
    expect(soak[0]).toMatch(new RegExp(`^${STAMP} waiting for soak at 50% \\(15m\\) until ${STAMP} \\(15m\\)$`));
    const beats = soak.filter((line) => line.includes('still waiting for soak at 50% (15m): '));
    expect(beats).toHaveLength(7);
    const times = beats.map((line) => Date.parse(line.split(' ')[0]!));
    expect(times.slice(1).map((t, i) => t - times[i]!)).toEqual(Array(6).fill(120_000));
    expect(beats[0]).toMatch(new RegExp(`: 13m left \\(until ${STAMP}\\)$`));
    expect(soak.at(-1)).toMatch(/done waiting for soak at 50% \(15m\) after 15m: soak done$/);
  }, 120_000);

  it('a sandbox run prints no heartbeat unless asked, and a bad interval is refused before anything runs', async () => {
    const quiet = await cutover('execute', '-f', 'workflows/example.yaml');
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).not.toContain('still waiting');
    expect(quiet.stdout).toContain('done waiting for soak at 10% (10m) after 10m: soak done');

    const bad = await cutover('execute', '-f', 'workflows/example.yaml', '--heartbeat', 'often');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('--heartbeat: expected an interval of at least 1s like 30s or 2m, or 0 for none; found "often"');
  }, 120_000);
});

describe('on a pseudo-terminal (util-linux script)', () => {
  it('draws a live line below the record and never erases a record line', async () => {
    const command = [process.execPath, BIN, 'execute', '-f', 'workflows/example.yaml', '--heartbeat', '2m'].map((a) => `'${a}'`).join(' ');
    const { stdout } = await run('script', ['-qec', command, '/dev/null'], { env: ENV, timeout: 120_000 });
    // The terminal turns \n into \r\n; the live line is cleared with \r and erase-line.
    const text = stdout.replace(/\r\n/g, '\n');
    expect(text).toContain('\r\u001b[2K');
    expect(text).toMatch(new RegExp(`… waiting for soak at 10% \\(10m\\) until ${STAMP} \\(\\d+m\\d*s? left\\)`));
    const shown = screen(text);
    expect(shown.some((line) => line.startsWith('…'))).toBe(false);
    const waits = pairedWaits(shown);
    expect(waits).toEqual(expect.arrayContaining(['soak at 10% (10m)', 'soak at 50% (15m)']));
    expect(shown).toContainEqual(expect.stringMatching(new RegExp(`^\\d\\d:\\d\\d:\\d\\d waiting for soak at 10% \\(10m\\) until ${STAMP} \\(10m\\)$`)));
    // The heartbeat is for logs: a terminal has the live line instead.
    expect(text).not.toContain('still waiting');
    expect(shown).toContain('Double runs: 0');
  }, 120_000);
});

/** The lines a terminal keeps once `\r` + erase-line sequences are applied. */
function screen(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const part of text.split(new RegExp(`(\r${ESC}\\[2K|\n)`))) {
    if (part === '\r\u001b[2K') current = '';
    else if (part === '\n') {
      lines.push(current);
      current = '';
    } else current += part;
  }
  if (current !== '') lines.push(current);
  return lines;
}
