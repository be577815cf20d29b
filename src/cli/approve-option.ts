// `--approve` is refused the same way wherever it is given (execute, rehearse): up front, as invalid input,
// before anything is read or run, when the environment does not allow approvals without a human.
import type { LoadedRunbook } from '../config/types.js';
import { InputError } from '../core/errors.js';

export function refuseUnallowedAutoApprove(approve: boolean | undefined, loaded: LoadedRunbook): void {
  if (approve !== true || loaded.environment.allowNonInteractiveApproval) return;
  throw new InputError(
    `--approve answers approvals without a human, which the environment "${loaded.environment.name}" does not allow; set allowNonInteractiveApproval: true in ${loaded.environmentFile} (rehearsals, CI) or drop --approve`,
  );
}
