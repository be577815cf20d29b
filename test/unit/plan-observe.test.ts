import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/core/errors.js';
import type { ClusterPort, DnsPort, Ports, WeightedRecord } from '../../src/core/ports.js';
import { observe } from '../../src/plan/observe.js';
import { cronJob, dnsSection, job, loadedRunbook, SOURCE, TARGET, weightedRecord } from '../support/builders.js';
import { MemoryCluster } from '../support/memory-cluster.js';

const NOW = new Date('2025-06-02T10:07:00Z');

function clusters(): { blue: MemoryCluster; green: MemoryCluster } {
  const blue = new MemoryCluster(SOURCE, 'v1.33.2');
  const green = new MemoryCluster(TARGET, 'v1.34.4');
  return { blue, green };
}

function recordingDns(groups: Record<string, WeightedRecord[]>): DnsPort & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    readGroup: async (name, type) => {
      reads.push(`${name} ${type}`);
      return groups[`${name} ${type}`] ?? [];
    },
    setWeights: () => Promise.reject(new Error('observe must not write')),
    getChange: () => Promise.reject(new Error('observe must not write')),
  };
}

const portsOf = (blue: ClusterPort, green: ClusterPort, dns?: DnsPort): Ports => ({
  clusters: { [SOURCE]: blue, [TARGET]: green },
  approvals: {},
  workloads: {},
  ...(dns ? { dns } : {}),
});

describe('observe', () => {
  it('lists the selected CronJobs of both clusters, without excluded ones', async () => {
    const { blue, green } = clusters();
    blue.addCronJob(cronJob({ name: 'invoices' }));
    blue.addCronJob(cronJob({ name: 'legacy' }));
    blue.addCronJob(cronJob({ name: 'other-team', labels: { team: 'search' } }));
    blue.addCronJob(cronJob({ namespace: 'elsewhere', name: 'x' }));
    green.addCronJob(cronJob({ cluster: TARGET, name: 'invoices', suspend: true }));
    green.addCronJob(cronJob({ cluster: TARGET, name: 'only-green', suspend: true }));
    const loaded = loadedRunbook({ cronjobs: { namespaces: ['billing'], selector: 'team=billing', exclude: ['billing/legacy'] } });
    const seen = await observe(loaded, portsOf(blue, green), NOW);
    expect(seen.observedAt).toBe('2025-06-02T10:07:00.000Z');
    expect([seen.from, seen.to]).toEqual([SOURCE, TARGET]);
    expect(seen.source.cronJobs.map((c) => c.name)).toEqual(['invoices']);
    expect(seen.target.cronJobs.map((c) => c.name).sort()).toEqual(['invoices', 'only-green']);
    expect(blue.callsOf('listCronJobs')).toEqual([[{ namespaces: ['billing'], labelSelector: 'team=billing' }]]);
  });

  it('records both server versions and the Jobs of every selected namespace', async () => {
    const { blue, green } = clusters();
    const invoices = blue.addCronJob(cronJob());
    blue.addJob(job(invoices, { name: 'invoices-1' }));
    blue.addJob({ ...job(invoices, { name: 'reports-1' }), namespace: 'reports' });
    blue.addJob({ ...job(invoices, { name: 'elsewhere-1' }), namespace: 'elsewhere' });
    const loaded = loadedRunbook({ cronjobs: { namespaces: ['billing', 'reports', 'billing'] } });
    const seen = await observe(loaded, portsOf(blue, green), NOW);
    expect(seen.source.version).toBe('v1.33.2');
    expect(seen.target.version).toBe('v1.34.4');
    expect(seen.source.cluster).toBe(SOURCE);
    expect(seen.source.jobs.map((j) => j.name).sort()).toEqual(['invoices-1', 'reports-1']);
    expect(blue.callsOf('listJobs')).toEqual([['billing', undefined], ['reports', undefined]]);
  });

  it('reads DNS groups only when the runbook shifts traffic', async () => {
    const { blue, green } = clusters();
    const records = [weightedRecord('blue', 100), weightedRecord('green', 0)];
    const dns = recordingDns({ 'api.example.com. A': records });
    const environment = { dns: dnsSection() };
    const without = await observe(loadedRunbook({ environment }), portsOf(blue, green, dns), NOW);
    expect(without.dns).toBeUndefined();
    expect(dns.reads).toEqual([]);
    const shifting = loadedRunbook({ environment, steps: [{ kind: 'shiftTraffic', percent: 10, soakMs: 0 }] });
    const seen = await observe(shifting, portsOf(blue, green, dns), NOW);
    expect(seen.dns).toEqual({ 'api.example.com.|A': records });
  });

  it('starts every independent read before any of them answers', async () => {
    const started: string[] = [];
    const release: (() => void)[] = [];
    const gated = <T>(label: string, value: T): Promise<T> => {
      started.push(label);
      return new Promise((resolve) => release.push(() => resolve(value)));
    };
    const slowCluster = (name: string): ClusterPort => ({
      name,
      version: () => gated(`${name} version`, 'v1.34.4'),
      listCronJobs: () => gated(`${name} cronjobs`, []),
      listJobs: (ns) => gated(`${name} jobs ${ns}`, []),
      getCronJob: () => Promise.reject(new Error('not used')),
      setSuspend: () => Promise.reject(new Error('not used')),
      startJobForTick: () => Promise.reject(new Error('not used')),
      canI: () => Promise.reject(new Error('not used')),
      setLastScheduleTime: () => Promise.reject(new Error('not used')),
    });
    const dns: DnsPort = { ...recordingDns({}), readGroup: (name) => gated(`dns ${name}`, []) };
    const loaded = loadedRunbook({
      cronjobs: { namespaces: ['billing', 'reports'] },
      environment: { dns: dnsSection() },
      steps: [{ kind: 'shiftTraffic', percent: 10, soakMs: 0 }],
    });
    const pending = observe(loaded, portsOf(slowCluster(SOURCE), slowCluster(TARGET), dns), NOW);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started.sort()).toEqual([
      'blue cronjobs',
      'blue jobs billing',
      'blue jobs reports',
      'blue version',
      'dns api.example.com.',
      'green cronjobs',
      'green jobs billing',
      'green jobs reports',
      'green version',
    ]);
    for (const go of release) go();
    await expect(pending).resolves.toMatchObject({ source: { cronJobs: [] }, target: { cronJobs: [] } });
  });

  it('refuses a runbook whose cluster is not among the ports, naming it', async () => {
    const { blue } = clusters();
    const ports: Ports = { clusters: { [SOURCE]: blue }, approvals: {}, workloads: {} };
    const failure = observe(loadedRunbook(), ports, NOW);
    await expect(failure).rejects.toBeInstanceOf(InputError);
    await expect(failure).rejects.toThrow(/target cluster "green" is not among the clusters of config\/lab.yaml \(blue\)/);
  });

  it('passes API errors through', async () => {
    const { blue, green } = clusters();
    green.failNext('listCronJobs', new Error('connection refused'));
    await expect(observe(loadedRunbook(), portsOf(blue, green), NOW)).rejects.toThrow('connection refused');
  });
});
