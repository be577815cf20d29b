// The fence's part of a handoff (docs/fence.md): ownership moves with the CronJob. The source cluster's
// record says `fenced` as soon as the source copy is confirmed suspended, so from then on its apiserver
// refuses a sync that would enable it again; the target's says `owned` only after that, right before the
// resume, and the resume waits until a dry run shows the server admits it (admission policies read their
// records from a cache that can lag a write by a moment). Each write is journaled and idempotent: read,
// then write only what differs, so a run resumed after a crash at any point just finishes the move. A
// cluster whose namespace has no record is not fenced, and nothing is written there.
import { HaltError } from '../../core/errors.js';
import { ownershipOf, type Ownership } from '../../core/fence.js';
import type { ClusterPort } from '../../core/ports.js';
import type { CronJobRef } from '../../core/types.js';
import { refKey } from '../../core/types.js';
import type { HandoffContext } from './context.js';

/** How long the resume waits for the target's apiserver to see the new ownership. */
export const ADMISSION_SETTLE_MS = 15_000;
const ADMISSION_POLL_MS = 250;

/** Returns whether the cluster keeps a record in the CronJob's namespace (is fenced there). */
async function setOwnership(ctx: HandoffContext, port: ClusterPort, ref: CronJobRef, wanted: Ownership): Promise<boolean> {
  const fence = port.fence;
  if (!fence) return false;
  const record = await fence.record(ref.namespace);
  if (!record) return false;
  const before = ownershipOf(record, ref.name);
  // An explicit entry even where the default already says so: a later change of the default must not move it.
  if (before === wanted && record.cronJobs[ref.name] === wanted) return true;
  const stored = await fence.setOwnership(ref, wanted);
  const after = ownershipOf(stored, ref.name);
  await ctx.journal('write', `${port.name}: ${refKey(ref)} ownership ${before} -> ${after}`, {
    cluster: port.name,
    ref: refKey(ref),
    before: { ownership: before },
    after: { ownership: after },
  });
  return true;
}

/** Call once the source copy is confirmed suspended. */
export async function fenceSource(ctx: HandoffContext, ref: CronJobRef): Promise<void> {
  await setOwnership(ctx, ctx.source, ref, 'fenced');
}

/** Call right before the target copy is enabled (the source copy just read back suspended). */
export async function ownTarget(ctx: HandoffContext, ref: CronJobRef): Promise<void> {
  // One after the other, never side by side: the source must not own the CronJob once the target does.
  await fenceSource(ctx, ref);
  const fenced = await setOwnership(ctx, ctx.target, ref, 'owned');
  const fence = ctx.target.fence;
  if (!fence || !fenced) return;
  const deadline = ctx.clock.now().getTime() + ADMISSION_SETTLE_MS;
  for (;;) {
    const verdict = await fence.admitsResume(ref);
    if (verdict.admitted) return;
    if (ctx.clock.now().getTime() + ADMISSION_POLL_MS > deadline) {
      throw new HaltError(
        `${refKey(ref)}: ${ctx.target.name} owns it now, but its apiserver still refuses to resume it: ${verdict.reason ?? 'no reason given'}.`,
        '`cutover plan` shows each cluster\'s fence; check the fence record in the namespace, then re-run `cutover execute` to resume.',
      );
    }
    await ctx.clock.sleep(ADMISSION_POLL_MS, ctx.signal);
  }
}
