// Requests to a cluster reuse one TLS connection: client-node alone opens a new one per request, which
// made a 500-CronJob handoff spend half its CPU in handshakes (docs/benchmarks.md).
import type { Duplex } from 'node:stream';
import { BatchV1Api, VersionApi } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { keepAliveAgent, makeApiClient } from '../../src/adapters/k8s/client.js';
import { kubeConfigFor } from '../support/lab.js';

describe('API clients of one cluster', () => {
  it('send request after request over the connection the first one opened', async () => {
    const kubeConfig = kubeConfigFor('blue');
    const version = makeApiClient(kubeConfig, VersionApi);
    const batch = makeApiClient(kubeConfig, BatchV1Api);
    expect((await version.getCode()).gitVersion).toBe('v1.34.4');
    const agent = keepAliveAgent(kubeConfig);
    if (!agent) throw new Error('the first request built no shared agent');
    expect(agent.options.keepAlive).toBe(true);
    let opened = 0;
    const open = agent.createConnection.bind(agent) as (...args: unknown[]) => Duplex;
    agent.createConnection = ((...args: unknown[]) => {
      opened += 1;
      return open(...args);
    }) as typeof agent.createConnection;
    for (let i = 0; i < 5; i++) {
      await version.getCode();
      await batch.listCronJobForAllNamespaces({ limit: 1 });
    }
    expect(opened).toBe(0);
  });
});
