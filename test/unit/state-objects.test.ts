import { describe, expect, it } from 'vitest';
import {
  CONFIGMAP_MAX_BYTES,
  JOURNAL_KEY,
  SNAPSHOT_KEY,
  archiveKey,
  checkSnapshotFits,
  configMapDataBytes,
  joinChunks,
  journalLine,
  labelSelector,
  placeJournalLine,
  runbookLabelValue,
  runbookObjectName,
  stateConfigMap,
  stateLocation,
  stateNames,
} from '../../src/adapters/k8s/state-objects.js';
import { HaltError } from '../../src/core/errors.js';
import { parseJournal } from '../../src/engine/store.js';
import type { JournalEntry } from '../../src/steps/types.js';

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
const LABEL_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

describe('state object names', () => {
  it('names the snapshot, the lease and the journal chunks after a DNS-shaped runbook name as is', () => {
    const names = stateNames('lab-blue-to-green');
    expect(names.snapshot).toBe('cutover-lab-blue-to-green');
    expect(names.lease).toBe('cutover-lab-blue-to-green');
    expect(names.chunk(0)).toBe('cutover-lab-blue-to-green-journal-0');
    expect(names.chunk(12)).toBe('cutover-lab-blue-to-green-journal-12');
    expect(names.archivedSnapshot('20250601t100000-ab12')).toBe('cutover-lab-blue-to-green-run-20250601t100000-ab12');
    expect(names.archivedChunk('20250601t100000-ab12', 3)).toBe('cutover-lab-blue-to-green-run-20250601t100000-ab12-journal-3');
  });

  it('cleans a free-text runbook name into a valid object name, with a hash so two names never share objects', () => {
    const a = runbookObjectName('Billing: Blue → Green');
    const b = runbookObjectName('billing  blue - green');
    expect(a).toMatch(DNS_SUBDOMAIN);
    expect(b).toMatch(DNS_SUBDOMAIN);
    expect(a).not.toBe(b);
    expect(a.startsWith('billing-blue-green-')).toBe(true);
  });

  it('keeps every derived name within the 253 characters of a DNS subdomain, even for a very long runbook name', () => {
    const names = stateNames('x'.repeat(400));
    const longest = names.archivedChunk(archiveKey(`${'x'.repeat(400)}-20250601T100000-ab12`, 'x'.repeat(400)), 99_999);
    expect(longest.length).toBeLessThanOrEqual(253);
    expect(longest).toMatch(DNS_SUBDOMAIN);
  });

  it('uses the runbook name as the label value when valid, else a cleaned ≤ 63-character value with a hash', () => {
    expect(runbookLabelValue('lab-blue-to-green')).toBe('lab-blue-to-green');
    expect(runbookLabelValue('Lab_Blue.Green')).toBe('Lab_Blue.Green');
    const long = runbookLabelValue(`${'billing-'.repeat(20)}prod`);
    expect(long.length).toBeLessThanOrEqual(63);
    expect(long).toMatch(LABEL_VALUE);
    expect(runbookLabelValue('blue → green')).toMatch(LABEL_VALUE);
    expect(runbookLabelValue('blue → green')).not.toBe(runbookLabelValue('blue - green'));
  });

  it('derives the archive suffix from the run id without repeating the runbook name', () => {
    expect(archiveKey('lab-blue-to-green-20250601T100203-ab12', 'lab-blue-to-green')).toBe('20250601t100203-ab12');
    expect(archiveKey('Other Run!', 'lab')).toMatch(DNS_SUBDOMAIN);
  });

  it('labels every object as managed by cutover and by runbook and part, and selects on exactly those labels', () => {
    const configMap = stateConfigMap({ name: 'cutover-x-journal-2', namespace: 'ops', runbook: 'x', part: 'journal', chunk: 2, data: {} });
    expect(configMap.metadata?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'cutover',
      'cutover.dev/runbook': 'x',
      'cutover.dev/part': 'journal',
      'cutover.dev/journal-chunk': '2',
    });
    expect(configMap.metadata?.resourceVersion).toBeUndefined();
    expect(labelSelector({ a: '1', 'b.dev/c': 'd' })).toBe('a=1,b.dev/c=d');
  });

  it('carries the resourceVersion it was read at, so a replace loses to any write made since', () => {
    const configMap = stateConfigMap({ name: 'cutover-x', namespace: 'ops', runbook: 'x', part: 'snapshot', data: { [SNAPSHOT_KEY]: '{}' }, resourceVersion: '42' });
    expect(configMap.metadata?.resourceVersion).toBe('42');
  });

  it('says where the state is kept without dialling the cluster', () => {
    expect(stateLocation({ cluster: 'blue', namespace: 'cutover', runbook: 'lab-blue-to-green' })).toBe(
      'ConfigMap cutover/cutover-lab-blue-to-green on cluster blue',
    );
  });
});

describe('ConfigMap size limits', () => {
  it('counts keys and values in bytes, as the API server does', () => {
    expect(configMapDataBytes({ [SNAPSHOT_KEY]: 'é' })).toBe(SNAPSHOT_KEY.length + 2);
  });

  it('refuses a snapshot over 1 MiB with a HaltError naming its size and where it would have gone', () => {
    const fits = 'x'.repeat(CONFIGMAP_MAX_BYTES - SNAPSHOT_KEY.length);
    expect(() => checkSnapshotFits(fits, 'here')).not.toThrow();
    const tooBig = `${fits}x`;
    expect(() => checkSnapshotFits(tooBig, 'ConfigMap ops/cutover-x on cluster blue')).toThrow(HaltError);
    expect(() => checkSnapshotFits(tooBig, 'ConfigMap ops/cutover-x on cluster blue')).toThrow(
      /^the run is 1025 KiB as JSON, more than the 1024 KiB a ConfigMap can hold \(ConfigMap ops\/cutover-x on cluster blue\): it was not saved\nKeep this runbook's state in a local folder/,
    );
  });
});

describe('journal chunks', () => {
  const entry = (n: number): JournalEntry => ({ at: `2025-06-01T10:00:${String(n).padStart(2, '0')}.000Z`, type: 'write', message: `write ${n}` });

  it('opens the first chunk when there is none, appends while the chunk stays within its size, then opens the next', () => {
    const line = journalLine(entry(1));
    expect(placeJournalLine(undefined, line, 200)).toBe('next-chunk');
    expect(placeJournalLine('', line, 200)).toBe('append');
    const limit = Buffer.byteLength(JOURNAL_KEY) + 2 * Buffer.byteLength(line);
    expect(placeJournalLine(line, line, limit)).toBe('append');
    expect(placeJournalLine(line, line, limit - 1)).toBe('next-chunk');
  });

  it('puts an entry larger than a chunk alone in a chunk of its own, and refuses one no ConfigMap can hold', () => {
    const big = journalLine({ ...entry(1), message: 'x'.repeat(600 * 1024) });
    expect(placeJournalLine('{"a":1}\n', big)).toBe('next-chunk');
    const huge = journalLine({ ...entry(1), message: 'x'.repeat(CONFIGMAP_MAX_BYTES) });
    expect(() => placeJournalLine('{"a":1}\n', huge)).toThrow(/does not fit in a ConfigMap/);
  });

  it('joins chunks in chunk order, not the name order a listing returns (-10 sorts before -2)', () => {
    const chunk = (index: number, entries: number[]) =>
      stateConfigMap({
        name: `cutover-x-journal-${index}`,
        namespace: 'ops',
        runbook: 'x',
        part: 'journal',
        chunk: index,
        data: { [JOURNAL_KEY]: entries.map((n) => journalLine(entry(n))).join('') },
      });
    const listed = [chunk(10, [5]), chunk(2, [3, 4]), chunk(0, [1, 2])];
    expect(parseJournal(joinChunks(listed)).map((e) => e.message)).toEqual(['write 1', 'write 2', 'write 3', 'write 4', 'write 5']);
  });
});
