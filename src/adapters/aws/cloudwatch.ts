// CloudWatch alarms behind AlarmsPort, for `gate: cloudwatchAlarms`. DescribeAlarms takes either names
// (at most 100 a call) or a prefix, never both, and pages with NextToken.
import { CloudWatchClient, DescribeAlarmsCommand, type CloudWatchClientConfig, type DescribeAlarmsCommandOutput } from '@aws-sdk/client-cloudwatch';
import type { Environment } from '../../config/types.js';
import type { AlarmState, AlarmsPort } from '../../core/ports.js';
import { ApiError, CutoverError } from '../../core/errors.js';
import { retryThrottled, type BackoffOptions } from './throttle.js';
import { awsClientBase } from './http.js';

const NAMES_PER_CALL = 100;
const MAX_PAGES = 1_000;

export interface CloudWatchDeps {
  client?: CloudWatchClient;
  backoff?: BackoffOptions;
  /** MaxRecords per page; the API default unless a test needs small pages. */
  pageSize?: number;
}

export function cloudWatchClientConfig(env: Environment): CloudWatchClientConfig {
  return { ...awsClientBase(env), retryMode: 'standard', maxAttempts: 1 };
}

export function createAlarmsPort(env: Environment, deps: CloudWatchDeps = {}): AlarmsPort {
  const client = deps.client ?? new CloudWatchClient(cloudWatchClientConfig(env));
  const describe = (input: { AlarmNames?: string[]; AlarmNamePrefix?: string }, what: string) =>
    describeAll(async (NextToken) => {
      try {
        return await retryThrottled(
          () =>
            client.send(
              new DescribeAlarmsCommand({
                ...input,
                AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
                ...(NextToken ? { NextToken } : {}),
                ...(deps.pageSize ? { MaxRecords: deps.pageSize } : {}),
              }),
            ),
          deps.backoff,
        );
      } catch (error) {
        throw toApiError(`CloudWatch DescribeAlarms ${what}`, error);
      }
    });
  return {
    async alarmStates(query) {
      const found = new Map<string, AlarmState>();
      for (let i = 0; i < query.names.length; i += NAMES_PER_CALL) {
        const names = query.names.slice(i, i + NAMES_PER_CALL);
        for (const alarm of await describe({ AlarmNames: names }, `names ${names.join(', ')}`)) found.set(alarm.name, alarm.state);
      }
      if (query.prefix !== undefined) {
        for (const alarm of await describe({ AlarmNamePrefix: query.prefix }, `prefix ${query.prefix}`)) found.set(alarm.name, alarm.state);
      }
      return [...found].map(([name, state]) => ({ name, state }));
    },
  };
}

type Page = Pick<DescribeAlarmsCommandOutput, 'MetricAlarms' | 'CompositeAlarms' | 'NextToken'>;

/** Every alarm of every page, metric and composite alike. */
export async function describeAll(page: (nextToken: string | undefined) => Promise<Page>): Promise<{ name: string; state: AlarmState }[]> {
  const alarms: { name: string; state: AlarmState }[] = [];
  let token: string | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const out = await page(token);
    for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
      if (a.AlarmName) alarms.push({ name: a.AlarmName, state: toAlarmState(a.StateValue) });
    }
    if (!out.NextToken) return alarms;
    if (out.NextToken === token) throw new ApiError('CloudWatch DescribeAlarms returned the same NextToken twice; refusing to loop');
    token = out.NextToken;
  }
  throw new ApiError(`CloudWatch DescribeAlarms: more than ${MAX_PAGES} pages`);
}

function toAlarmState(value: string | undefined): AlarmState {
  return value === 'OK' || value === 'ALARM' ? value : 'INSUFFICIENT_DATA';
}

function toApiError(what: string, error: unknown): CutoverError {
  if (error instanceof CutoverError) return error;
  const { name, message, $metadata } = (error ?? {}) as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  return new ApiError(`${what} failed: ${name ?? 'Error'}: ${message ?? String(error)}`, $metadata?.httpStatusCode, error);
}
