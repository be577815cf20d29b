// Before a run changes anything: are the tokens there and accepted, can the app post in the channel, does it
// hold the scopes approvals use, do the approver groups exist, and can Slack tell the operator apart from the
// approvers? Every problem is collected, so one preflight tells the operator everything to fix.
import type { Environment } from '../../config/types.js';
import { CutoverError } from '../../core/errors.js';
import { isUserGroupId, isUserId, OPERATOR_ENV, operatorSlackId } from './approvers.js';
import { readSlackTokens, SlackApi, type SlackClientOptions } from './client.js';
import { platformCode } from './errors.js';

/** Scopes the bot token needs: post and update messages, answer ephemerally, expand user groups. */
export const REQUIRED_SCOPES = ['chat:write'] as const;

export interface SlackPreflightOptions extends SlackClientOptions {
  /** Operator identity from the run (see operatorSlackId). */
  startedBy?: string;
  /** Approvers named by the runbook's steps, checked besides the environment's defaults. */
  approvers?: string[];
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function check(problems: string[], probe: () => Promise<void>): Promise<void> {
  try {
    await probe();
  } catch (err) {
    // Only cutover's own errors are problems to list; a bug in the probe itself must surface as a bug.
    if (!(err instanceof CutoverError)) throw err;
    problems.push(message(err));
  }
}

function scopeProblems(scopes: string[] | undefined, approvers: string[], isPrivate: boolean | undefined): string[] {
  if (!scopes) return [];
  const needed: string[] = [...REQUIRED_SCOPES];
  if (approvers.some(isUserGroupId)) needed.push('usergroups:read');
  if (isPrivate !== undefined) needed.push(isPrivate ? 'groups:read' : 'channels:read');
  const missing = needed.filter((s) => !scopes.includes(s));
  return missing.length === 0
    ? []
    : [`the Slack bot token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (it has: ${scopes.join(', ') || 'none'}); add them under OAuth & Permissions and reinstall the app`];
}

interface ChannelInfo {
  channel?: { id: string; name?: string; is_private?: boolean; is_archived?: boolean; is_member?: boolean };
}

async function checkChannel(api: SlackApi, problems: string[]): Promise<boolean | undefined> {
  const channel = api.slack.channel;
  let isPrivate: boolean | undefined;
  await check(problems, async () => {
    const info = await api.call<ChannelInfo>('conversations.info', { channel });
    isPrivate = info.channel?.is_private;
    if (info.channel?.is_archived) problems.push(`Slack channel ${channel} is archived (slack.channel)`);
    else if (info.channel && info.channel.is_member === false) {
      problems.push(`the Slack app is not a member of channel ${channel} (#${info.channel.name ?? '?'}): type /invite @<app name> in the channel`);
    }
  });
  return isPrivate;
}

function approverProblems(approvers: string[]): string[] {
  return approvers
    .filter((id) => !isUserId(id) && !isUserGroupId(id))
    .map((id) => `approver "${id}" is neither a Slack user ID (U…/W…) nor a user-group ID (S…)`);
}

async function checkGroups(api: SlackApi, groups: string[], problems: string[]): Promise<void> {
  for (const usergroup of groups) {
    await check(problems, async () => {
      try {
        const found = await api.call<{ users?: string[] }>('usergroups.users.list', { usergroup });
        if (!found.users?.length) problems.push(`Slack user group ${usergroup} has no members: nobody could approve for it`);
      } catch (err) {
        // missing_scope is reported once from the token's scopes rather than once per group.
        if (platformCode(err) !== 'missing_scope') throw err;
      }
    });
  }
}

function operatorProblem(env: Environment, options: SlackPreflightOptions): string[] {
  if (env.slack?.allowSelfApproval) return [];
  const operator = operatorSlackId(options.startedBy ?? '', options.env ?? process.env);
  return operator
    ? []
    : [`set $${OPERATOR_ENV} to your Slack member ID (U…) so the run's own operator cannot approve it, or set slack.allowSelfApproval: true`];
}

/** Checks Slack without changing anything; returns the problems found, empty when approvals can run. */
export async function preflightSlack(env: Environment, options: SlackPreflightOptions = {}): Promise<string[]> {
  const slack = env.slack;
  if (!slack) return [`environment ${env.name} has no slack section, but a step asks for approval via slack`];
  const approvers = [...new Set([...slack.approvers, ...(options.approvers ?? [])])];
  const problems: string[] = [...approverProblems(approvers), ...operatorProblem(env, options)];
  let api: SlackApi;
  try {
    api = new SlackApi(slack, readSlackTokens(slack, options.env ?? process.env), options);
  } catch (err) {
    if (!(err instanceof CutoverError)) throw err;
    return [...problems, message(err)];
  }
  let scopes: string[] | undefined;
  try {
    const auth = await api.call<{ response_metadata?: { scopes?: string[] } }>('auth.test', {});
    scopes = auth.response_metadata?.scopes;
  } catch (err) {
    if (!(err instanceof CutoverError)) throw err;
    // With the bot token refused, every later check would fail the same way: report it once.
    return [...problems, message(err)];
  }
  const isPrivate = await checkChannel(api, problems);
  problems.push(...scopeProblems(scopes, approvers, isPrivate));
  await checkGroups(api, approvers.filter(isUserGroupId), problems);
  await check(problems, () => checkAppToken(api));
  return problems;
}

/** apps.connections.open only issues a socket URL: proof the app-level token works, with nothing changed. */
async function checkAppToken(api: SlackApi): Promise<void> {
  await api.callWithAppToken('apps.connections.open', {});
}
