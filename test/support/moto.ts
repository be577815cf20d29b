// Route 53 and CloudWatch fixtures made directly on moto (never through a fault proxy): a fresh hosted zone
// with one blue/green weighted A pair, read and set as an operator would; alarms in a chosen state.
import { CloudWatchClient, PutMetricAlarmCommand, SetAlarmStateCommand, type StateValue } from '@aws-sdk/client-cloudwatch';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { awsClientConfig, uniqueName } from './lab.js';

export interface WeightedZone {
  zoneId: string;
  /** The pair's record name, fully qualified (trailing dot). */
  name: string;
  /** The weights now, by SetIdentifier. */
  weights(): Promise<Record<string, number>>;
  /** UPSERTs the records with these weights (one per SetIdentifier), in one batch. */
  setWeights(weights: Record<string, number>): Promise<void>;
}

/** A new zone `<prefix>-<random>.example.com.` with `api.` in it: one A record per SetIdentifier of `initial`. */
export async function weightedZone(prefix: string, initial: Record<string, number>, opts: { ttl?: number } = {}): Promise<WeightedZone> {
  const route53 = new Route53Client(awsClientConfig());
  const domain = `${uniqueName(prefix)}.example.com.`;
  const zone = await route53.send(new CreateHostedZoneCommand({ Name: domain, CallerReference: uniqueName('ref') }));
  const zoneId = zone.HostedZone!.Id!.replace('/hostedzone/', '');
  const name = `api.${domain}`;
  const setWeights = async (weights: Record<string, number>) => {
    const Changes = Object.entries(weights).map(([id, weight], i) => ({
      Action: 'UPSERT' as const,
      ResourceRecordSet: { Name: name, Type: 'A' as const, SetIdentifier: id, Weight: weight, TTL: opts.ttl ?? 30, ResourceRecords: [{ Value: `192.0.2.${i + 1}` }] },
    }));
    await route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes } }));
  };
  const weights = async () => {
    const listed = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, StartRecordType: 'A' }));
    return Object.fromEntries((listed.ResourceRecordSets ?? []).filter((r) => r.Name === name).map((r) => [r.SetIdentifier ?? '?', r.Weight ?? -1]));
  };
  await setWeights(initial);
  return { zoneId, name, weights, setWeights };
}

/** CloudWatch metric alarms `names`, each set to `state`. */
export async function alarmsIn(state: StateValue, names: string[]): Promise<void> {
  const cloudwatch = new CloudWatchClient(awsClientConfig());
  for (const AlarmName of names) {
    await cloudwatch.send(
      new PutMetricAlarmCommand({
        AlarmName,
        Namespace: 'AWS/ApplicationELB',
        MetricName: 'TargetResponseTime',
        Statistic: 'Average',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanThreshold',
      }),
    );
    await cloudwatch.send(new SetAlarmStateCommand({ AlarmName, StateValue: state, StateReason: 'e2e fixture' }));
  }
  cloudwatch.destroy();
}
