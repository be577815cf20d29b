// The run's thread in the Slack channel: one parent message per run (updated with the outcome), a reply per
// finished step with what it did, so the channel follows the cutover as it happens without a line for every
// start. A resumed run finds its parent again through what `runStarted` remembered.
import type { RunNotice, RunNotifier } from '../../core/ports.js';
import { operatorSlackId } from './approvers.js';
import { type RunHeadline, runMessage, stepLine } from './blocks.js';
import type { SlackApi } from './client.js';

export const RUN_CHANNEL = 'slackChannel';
export const RUN_TS = 'slackTs';
/** The Slack ID of the operator who started the run, fixed at the start so whoever resumes cannot change it. */
export const RUN_OPERATOR = 'slackOperator';

export class SlackRunNotifier implements RunNotifier {
  private headline: RunHeadline | undefined;
  private channel: string | undefined;
  /** ts of the parent message; approvals are threaded under it. */
  threadTs: string | undefined;
  /** Slack user ID of the operator who started the run, once known (see RUN_OPERATOR). */
  operator: string | undefined;

  constructor(
    private readonly api: () => SlackApi,
    private readonly env: Record<string, string | undefined>,
  ) {}

  async runStarted(run: RunNotice): Promise<void> {
    const { resume, remember, ...facts } = run;
    this.headline = { ...facts, status: 'running' };
    const api = this.api();
    this.operator = resume?.[RUN_OPERATOR] || operatorSlackId(run.startedBy, this.env);
    if (resume?.[RUN_TS] && resume[RUN_CHANNEL]) {
      this.channel = resume[RUN_CHANNEL];
      this.threadTs = resume[RUN_TS];
      await this.reply(':arrow_forward: Run resumed');
      return;
    }
    this.channel = api.slack.channel;
    const posted = await api.call<{ ts: string; channel?: string }>('chat.postMessage', {
      channel: this.channel,
      ...runMessage(this.headline),
    });
    this.channel = posted.channel ?? this.channel;
    this.threadTs = posted.ts;
    await remember({ [RUN_CHANNEL]: this.channel, [RUN_TS]: posted.ts, ...(this.operator ? { [RUN_OPERATOR]: this.operator } : {}) });
  }

  /** A step's start is not posted: the previous step's line says the run went on, and an approval posts its own message. */
  stepStarted(): Promise<void> {
    return Promise.resolve();
  }

  stepFinished(index: number, label: string, outcome: 'done' | 'failed', detail?: string): Promise<void> {
    return this.reply(stepLine(index, label, outcome, detail));
  }

  async runFinished(outcome: 'succeeded' | 'halted' | 'failed', detail?: string): Promise<void> {
    if (!this.headline || !this.threadTs) return;
    this.headline = { ...this.headline, status: outcome, ...(detail ? { detail } : {}) };
    await this.api().call('chat.update', { channel: this.channel, ts: this.threadTs, ...runMessage(this.headline) });
    await this.reply(`Run ${outcome}${detail ? `: ${detail}` : ''}`);
  }

  /** Before `runStarted` there is no thread to reply to; progress is then only on the operator's terminal. */
  private async reply(text: string): Promise<void> {
    if (!this.threadTs) return;
    await this.api().call('chat.postMessage', { channel: this.channel, thread_ts: this.threadTs, text });
  }
}
