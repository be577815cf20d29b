// Approvals in a rehearsal, answered by the `sandbox.approvals` script on the virtual clock: `after` the
// request, the first `required` scripted approvers approve (or the first one rejects). As in Slack, only
// approvers the request names count; too few of them, or an answer later than the step's deadline, ends
// in a timeout. The approve step records the decision in the journal, as in a real run.
import { parseDuration } from '../../core/duration.js';
import type { ApprovalPort, ApprovalRequest, Decision } from '../../core/ports.js';
import type { Clock } from '../../core/clock.js';
import type { SandboxApprovalScript } from './config.js';

export interface ApprovalScripts extends SandboxApprovalScript {
  /** Overrides by approve step label (its name, else its default label). */
  steps: Record<string, SandboxApprovalScript>;
}

export class ScriptedApprovals implements ApprovalPort {
  constructor(
    private readonly clock: Clock,
    private readonly scripts: ApprovalScripts,
    /** Slack admits only named approvers; the terminal and `--approve` answer for the operator. */
    private readonly namedApproversOnly: boolean,
  ) {}

  async requestApproval(request: ApprovalRequest, signal: AbortSignal): Promise<Decision> {
    const script = this.scripts.steps[request.stepName] ?? this.scripts;
    const answerAt = this.clock.now().getTime() + (parseDuration(script.after) ?? 0);
    const voters = this.voters(script, request);
    const enough = script.decision === 'reject' ? voters.length > 0 : voters.length >= request.required;
    if (answerAt > request.deadline.getTime() || !enough) {
      await this.sleepUntil(request.deadline.getTime(), signal);
      const approvedBy = script.decision === 'approve' && answerAt <= request.deadline.getTime() ? voters : [];
      return { outcome: 'timeout', at: request.deadline.toISOString(), approvedBy, votes: approvedBy.map((by) => ({ by, at: iso(answerAt) })) };
    }
    await this.sleepUntil(answerAt, signal);
    const at = iso(answerAt);
    if (script.decision === 'reject') return { outcome: 'rejected', by: voters[0]!, at, reason: script.reason };
    const by = voters.slice(0, request.required);
    return { outcome: 'approved', by, at, votes: by.map((who) => ({ by: who, at })) };
  }

  async preflight(): Promise<string[]> {
    return [];
  }

  private voters(script: SandboxApprovalScript, request: ApprovalRequest): string[] {
    const scripted = script.by ?? (request.approvers.length > 0 ? request.approvers : [request.startedBy]);
    if (!this.namedApproversOnly || request.approvers.length === 0) return scripted;
    return scripted.filter((who) => request.approvers.includes(who));
  }

  private async sleepUntil(at: number, signal: AbortSignal): Promise<void> {
    const ms = at - this.clock.now().getTime();
    if (ms > 0) await this.clock.sleep(ms, signal);
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();
