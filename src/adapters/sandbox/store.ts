// Where a sandbox run is kept: in memory. A rehearsal must not write the operator's state folder, and
// real file I/O in the middle of a run would let the virtual clock jump ahead while a save is in flight
// (the clock advances whenever nothing in-process is left to do). The engine's in-memory store has the
// same contract as the local folder; the sandbox stamps its lock with virtual time.
import type { Clock } from '../../core/clock.js';
import { MemoryStateStore } from '../../engine/memory-store.js';
import type { StateStore } from '../../engine/store.js';

export function createSandboxStore(clock: Clock): StateStore & { readonly location: string } {
  return new MemoryStateStore(() => clock.now());
}
