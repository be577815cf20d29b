// Slack as an approval port and a run notifier. One object per run: the notifier's parent message is where
// the approval messages are threaded. Nothing connects until first used, so `plan` never needs the tokens.
import type { Environment, SlackConfig } from '../../config/types.js';
import { HaltError, InputError } from '../../core/errors.js';
import type { ApprovalPort, ApprovalRequest, Decision, RunNotifier } from '../../core/ports.js';
import { ApprovalWait, RESUME_OPERATOR } from './approval.js';
import { type ApprovalPolicy, isUserGroupId, isUserId, OPERATOR_ENV, operatorSlackId, unsatisfiable } from './approvers.js';
import { readSlackTokens, SlackApi, type SlackClientOptions } from './client.js';
import { SlackRunNotifier } from './notifier.js';
import { preflightSlack } from './preflight.js';

export { preflightSlack, type SlackPreflightOptions } from './preflight.js';
export { OPERATOR_ENV, operatorSlackId } from './approvers.js';
export type { SlackClientOptions } from './client.js';

export interface SlackApprovalPort extends ApprovalPort {
  /** The run's Slack thread; the engine calls it on run and step start/finish. */
  readonly notifier: RunNotifier;
  preflight(context: { startedBy: string; approvers: string[] }): Promise<string[]>;
}

/** User IDs as they are; user groups expanded to their members (usergroups.users.list). */
async function expandApprovers(api: SlackApi, ids: string[]): Promise<Set<string>> {
  const users = new Set<string>();
  for (const id of ids) {
    if (isUserId(id)) users.add(id);
    else if (isUserGroupId(id)) {
      const group = await api.call<{ users?: string[] }>('usergroups.users.list', { usergroup: id });
      for (const user of group.users ?? []) users.add(user);
    } else {
      throw new HaltError(`approver "${id}" is neither a Slack user ID (U…/W…) nor a user-group ID (S…)`, 'Fix the approvers list, then resume the run.');
    }
  }
  return users;
}

function requireSlack(env: Environment): SlackConfig {
  if (!env.slack) {
    throw new InputError(`environment ${env.name} has no slack section, but a step asks for approval via slack`);
  }
  return env.slack;
}

export function createSlackApprovalPort(env: Environment, options: SlackClientOptions = {}): SlackApprovalPort {
  const processEnv = options.env ?? process.env;
  let api: SlackApi | undefined;
  const connect = (): SlackApi => {
    const slack = requireSlack(env);
    api ??= new SlackApi(slack, readSlackTokens(slack, processEnv), options);
    return api;
  };
  const notifier = new SlackRunNotifier(connect, processEnv);

  async function policyFor(request: ApprovalRequest, slack: SlackConfig): Promise<ApprovalPolicy> {
    // Fixed when the run (or this wait) started: someone else resuming the run must not change who it is.
    const operator = notifier.operator ?? (request.resume?.[RESUME_OPERATOR] || operatorSlackId(request.startedBy, processEnv));
    if (!operator && !slack.allowSelfApproval) {
      throw new HaltError(
        `cannot tell who started the run in Slack, so self-approval cannot be prevented`,
        `Set $${OPERATOR_ENV} to your Slack member ID (U…) and resume, or set slack.allowSelfApproval: true.`,
      );
    }
    const approvers = await expandApprovers(connect(), request.approvers);
    return { approvers, required: request.required, allowSelfApproval: slack.allowSelfApproval, ...(operator ? { operator } : {}) };
  }

  return {
    notifier,
    async requestApproval(request: ApprovalRequest, signal: AbortSignal): Promise<Decision> {
      const slack = requireSlack(env);
      const policy = await policyFor(request, slack);
      const problem = unsatisfiable(policy);
      if (problem) throw new HaltError(`approval "${request.stepName}" ${problem}`, 'Fix the approvers, then resume the run.');
      const wait = new ApprovalWait({ api: connect(), request, policy, ...(notifier.threadTs ? { threadTs: notifier.threadTs } : {}) });
      return wait.run(signal);
    },
    preflight: (context) => preflightSlack(env, { ...options, startedBy: context.startedBy, approvers: context.approvers }),
  };
}
