// The runs `status` shows: those of the runbook and those of its rollback (`<runbook>-rollback`, a run of
// its own), current and archived, newest first. The newest is shown in detail: after a rollback that is
// the rollback, since it is what the clusters look like now.
import type { LoadedRunbook } from '../../config/types.js';
import { reverseRunbook } from '../../engine/rollback.js';
import { findRun, readRunJournal, type RunRecord } from '../../engine/run.js';
import { openStateStore, type PersistedRun } from '../../engine/store.js';
import type { JournalEntry } from '../../steps/types.js';
import type { RunSummary } from './view.js';

export interface RunsOfRunbook {
  /** The newest current run and the runbook (forward or reversed) its steps belong to. */
  newest?: { record: RunRecord; loaded: LoadedRunbook; journal: JournalEntry[] };
  runs: RunSummary[];
}

export async function runsOfRunbook(loaded: LoadedRunbook): Promise<RunsOfRunbook> {
  const reversed = reverseRunbook(loaded, false);
  const [forward, backward] = await Promise.all([findRun(loaded), findRun(reversed)]);
  const [forwardArchived, backwardArchived] = await Promise.all([archived(loaded), archived(reversed)]);
  const runs = [
    ...[forward, ...forwardArchived].flatMap((r) => (r ? [summary(r, 'execute')] : [])),
    ...[backward, ...backwardArchived].flatMap((r) => (r ? [summary(r, 'rollback')] : [])),
  ].sort((a, b) => b.startedAt.localeCompare(a.startedAt) || b.runId.localeCompare(a.runId));
  const useBackward = backward !== undefined && (forward === undefined || backward.startedAt > forward.startedAt);
  const record = useBackward ? backward : forward;
  if (!record) return { runs };
  // A rollback's steps depend on whether it restores weights: as it started.
  const detailLoaded = useBackward ? reverseRunbook(loaded, record.stepKinds[0] === 'shiftTraffic') : loaded;
  return { newest: { record, loaded: detailLoaded, journal: await readRunJournal(detailLoaded) }, runs };
}

async function archived(loaded: LoadedRunbook): Promise<PersistedRun[]> {
  const store = openStateStore(loaded);
  return store.archivedRuns ? store.archivedRuns() : [];
}

function summary(run: PersistedRun, kind: RunSummary['kind']): RunSummary {
  return {
    runId: run.runId,
    kind,
    status: run.status,
    startedAt: run.startedAt,
    startedBy: run.startedBy,
    ...(run.message !== undefined ? { message: run.message.split('\n')[0]! } : {}),
  };
}
