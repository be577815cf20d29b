import { Readable } from 'node:stream';
import { PriorRequestNotComplete, Route53Client, Route53ServiceException, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { HttpResponse, type HttpRequest } from '@smithy/protocol-http';
import { describe, expect, it } from 'vitest';
import { ApiError, InputError } from '../../src/core/errors.js';
import type { WeightedRecord } from '../../src/core/ports.js';
import {
  buildWeightChangeBatch,
  countHealthy,
  createDnsPort,
  decodeName,
  pageGroup,
  route53ClientConfig,
  toWeightedRecord,
} from '../../src/adapters/aws/route53.js';
import { TokenBucket, backoffMs, isThrottled, retryThrottled } from '../../src/adapters/aws/throttle.js';
import { cloudWatchClientConfig } from '../../src/adapters/aws/cloudwatch.js';
import { eksClientConfig } from '../../src/adapters/aws/eks.js';
import { stsClientConfig } from '../../src/adapters/aws/sts.js';
import { testEnvironment, virtualClock } from '../support/step-runtime.js';

const env = testEnvironment({
  aws: { region: 'us-east-1' },
  dns: { hostedZoneId: 'ZTEST', maxRequestsPerSecond: 2, records: [{ name: 'api.example.com.', type: 'A', setIdentifiers: { blue: 'blue', green: 'green' } }] },
});

const weighted = (id: string, weight: number, name = 'api.example.com.'): ResourceRecordSet => ({
  Name: name,
  Type: 'A',
  SetIdentifier: id,
  Weight: weight,
  TTL: 60,
  ResourceRecords: [{ Value: `10.0.0.${weight}` }],
});

describe('reading a weighted group page by page', () => {
  it('passes NextRecordIdentifier back so a group spanning pages is read once, whole', async () => {
    const all = [weighted('a', 1), weighted('b', 2), weighted('c', 3), weighted('d', 4), weighted('e', 5), weighted('x', 1, 'www.example.com.')];
    const starts: (string | undefined)[] = [];
    const into: ResourceRecordSet[] = [];
    await pageGroup('api.example.com', 'A', async (start) => {
      starts.push(start.StartRecordIdentifier);
      // Route 53 semantics: a page of 2 starting at the identifier (or the first of the group).
      const from = start.StartRecordIdentifier ? all.findIndex((r) => r.SetIdentifier === start.StartRecordIdentifier) : 0;
      const page = all.slice(from, from + 2);
      const next = all[from + 2];
      return next
        ? { ResourceRecordSets: page, IsTruncated: true, NextRecordName: next.Name, NextRecordType: next.Type, NextRecordIdentifier: next.SetIdentifier }
        : { ResourceRecordSets: page, IsTruncated: false };
    }, into);
    expect(into.map((r) => r.SetIdentifier)).toEqual(['a', 'b', 'c', 'd', 'e']);
    // The read stops at the first record of another name, without asking for the rest of the zone.
    expect(starts).toEqual([undefined, 'c', 'e']);
  });

  it('refuses to loop when the next page would start where the last one did', async () => {
    let calls = 0;
    const loop = pageGroup('api.example.com.', 'A', async () => {
      calls++;
      // A server (or client) that drops the identifier: the same first page again and again.
      return { ResourceRecordSets: [weighted('a', 1)], IsTruncated: true, NextRecordName: 'api.example.com.', NextRecordType: 'A' };
    }, []);
    await expect(loop).rejects.toThrow(ApiError);
    await expect(loop).rejects.toThrow(/refusing to loop/);
    expect(calls).toBe(1);
  });

  it('decodes Route 53 octal escapes in names', () => {
    expect(decodeName('\\052.example.com.')).toBe('*.example.com.');
    expect(decodeName('API.Example.com')).toBe('api.example.com.');
  });

  it('reports a record without SetIdentifier/Weight as not weighted', () => {
    const plain = toWeightedRecord({ Name: 'api.example.com.', Type: 'A', TTL: 30, ResourceRecords: [{ Value: '1.2.3.4' }] });
    expect(plain.setIdentifier).toBe('');
    expect(plain.weight).toBeNaN();
  });
});

describe('the weight change batch', () => {
  const alias: ResourceRecordSet = {
    Name: 'api.example.com.',
    Type: 'A',
    SetIdentifier: 'blue',
    Weight: 100,
    HealthCheckId: 'hc-1',
    AliasTarget: { HostedZoneId: 'Z35SXDOTRQ7X7K', DNSName: 'blue-lb.elb.amazonaws.com.', EvaluateTargetHealth: true },
  };
  const records: WeightedRecord[] = [toWeightedRecord(alias), toWeightedRecord(weighted('green', 0)), toWeightedRecord(weighted('canary', 10))];

  it('upserts a copy of each changed record with only Weight replaced', () => {
    const batch = buildWeightChangeBatch(records, { blue: 90, green: 10, canary: 10 }, 'cutover run r1 step 3');
    expect(batch.Changes).toEqual([
      { Action: 'UPSERT', ResourceRecordSet: { ...alias, Weight: 90 } },
      { Action: 'UPSERT', ResourceRecordSet: { ...weighted('green', 0), Weight: 10 } },
    ]);
    expect(batch.Comment).toBe('cutover run r1 step 3');
  });

  it('takes weights keyed by name|type|SetIdentifier, so groups sharing identifiers stay apart', () => {
    const batch = buildWeightChangeBatch(records, { 'api.example.com.|A|green': 7, green: 99 }, 'c');
    expect(batch.Changes?.map((c) => c.ResourceRecordSet?.Weight)).toEqual([7]);
  });

  it('refuses a weight outside 0..255 and a record that is not weighted', () => {
    expect(() => buildWeightChangeBatch(records, { blue: 256 }, 'c')).toThrow(InputError);
    const plain = toWeightedRecord({ Name: 'api.example.com.', Type: 'A', TTL: 30, ResourceRecords: [{ Value: '1.2.3.4' }] });
    expect(() => buildWeightChangeBatch([plain], { '': 5 }, 'c')).toThrow(/not a weighted record/);
  });

  it('keeps the comment within Route 53 limits', () => {
    expect(buildWeightChangeBatch(records, { blue: 1 }, 'x'.repeat(400)).Comment).toHaveLength(256);
  });
});

describe('throttling', () => {
  it('recognises the SDK error shapes Route 53 produces', () => {
    const throttling = new Route53ServiceException({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
    const prior = new PriorRequestNotComplete({ $metadata: { httpStatusCode: 400 }, message: 'The request was rejected because Route 53 was still processing a prior request.' });
    expect(isThrottled(throttling)).toBe(true);
    expect(isThrottled(prior)).toBe(true);
    expect(isThrottled(new Route53ServiceException({ name: 'InvalidChangeBatch', $fault: 'client', $metadata: {} }))).toBe(false);
    expect(isThrottled(new Error('socket hang up'))).toBe(false);
  });

  it('retries a throttled call with growing pauses until it goes through', async () => {
    const clock = virtualClock();
    let calls = 0;
    const result = await retryThrottled(
      async () => {
        calls++;
        if (calls < 4) throw new Route53ServiceException({ name: 'Throttling', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'Rate exceeded' });
        return 'sent';
      },
      { clock, random: () => 1, baseMs: 1000, maxMs: 20_000 },
    );
    expect(result).toBe('sent');
    expect(clock.sleeps).toEqual([1000, 2000, 4000]);
  });

  it('gives up after the last attempt and rethrows the throttling error', async () => {
    const clock = virtualClock();
    const prior = new PriorRequestNotComplete({ $metadata: { httpStatusCode: 400 }, message: 'still processing' });
    await expect(retryThrottled(async () => Promise.reject(prior), { clock, attempts: 3, random: () => 0 })).rejects.toBe(prior);
    expect(clock.sleeps).toHaveLength(2);
  });

  it('does not retry errors that are not throttling', async () => {
    const clock = virtualClock();
    let calls = 0;
    await expect(retryThrottled(async () => {
      calls++;
      throw new Error('boom');
    }, { clock })).rejects.toThrow('boom');
    expect(calls).toBe(1);
  });

  it('caps the pause and keeps at least half the window', () => {
    expect(backoffMs(10, 1000, 20_000, () => 0)).toBe(10_000);
    expect(backoffMs(10, 1000, 20_000, () => 1)).toBe(20_000);
  });

  it('builds SDK clients without retries of their own: one retry policy per client (issue 14)', () => {
    expect(route53ClientConfig(env)).toMatchObject({ maxAttempts: 1 });
    expect(cloudWatchClientConfig(env)).toMatchObject({ maxAttempts: 1 });
  });

  it('gives every AWS client a connection and an answer deadline per attempt', () => {
    for (const config of [route53ClientConfig(env), cloudWatchClientConfig(env), stsClientConfig(env), eksClientConfig(env, 'us-east-1')]) {
      expect(config.requestHandler).toEqual({ connectionTimeout: 5_000, requestTimeout: 30_000 });
    }
  });
});

describe('the shared rate limit', () => {
  it('lets a burst through, then one request per 1/rate seconds, in order', async () => {
    const clock = virtualClock();
    const bucket = new TokenBucket(2, clock);
    const times: number[] = [];
    const start = clock.now().getTime();
    await Promise.all([1, 2, 3, 4, 5].map(async () => {
      await bucket.take();
      times.push(clock.now().getTime() - start);
    }));
    expect(times).toEqual([0, 0, 500, 1000, 1500]);
  });
});

// A Route 53 endpoint in a request handler: the real SDK serialises, signs and parses, and sees what
// Route 53 answers (XML bodies, the Throttling error), without a network.
function xmlResponse(status: number, body: string): { response: HttpResponse } {
  return { response: new HttpResponse({ statusCode: status, headers: { 'content-type': 'text/xml' }, body: Readable.from([Buffer.from(body)]) }) };
}

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const throttledXml = `<?xml version="1.0"?><ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r1</RequestId></ErrorResponse>`;
const changeXml = (status: string) =>
  `<?xml version="1.0"?><GetChangeResponse xmlns="${NS}"><ChangeInfo><Id>/change/C1</Id><Status>${status}</Status><SubmittedAt>2026-03-01T12:00:00.000Z</SubmittedAt></ChangeInfo></GetChangeResponse>`;

function recordXml(r: ResourceRecordSet): string {
  return `<ResourceRecordSet><Name>${r.Name}</Name><Type>${r.Type}</Type><SetIdentifier>${r.SetIdentifier}</SetIdentifier><Weight>${r.Weight}</Weight><TTL>${r.TTL}</TTL><ResourceRecords><ResourceRecord><Value>${r.ResourceRecords?.[0]?.Value}</Value></ResourceRecord></ResourceRecords></ResourceRecordSet>`;
}

function clientWith(handle: (request: HttpRequest) => { response: HttpResponse }): Route53Client {
  return new Route53Client({
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 1,
    requestHandler: { handle: async (request: HttpRequest) => handle(request) },
  });
}

describe('the DNS port over the real SDK', () => {
  it('reads a group over several pages, sending StartRecordIdentifier', async () => {
    const all = [weighted('blue', 100), weighted('canary', 10), weighted('green', 0)];
    const identifiers: (string | undefined)[] = [];
    const client = clientWith((request) => {
      const identifier = request.query.identifier as string | undefined;
      identifiers.push(identifier);
      const from = identifier ? all.findIndex((r) => r.SetIdentifier === identifier) : 0;
      const next = all[from + 1];
      const tail = next
        ? `<IsTruncated>true</IsTruncated><NextRecordName>${next.Name}</NextRecordName><NextRecordType>A</NextRecordType><NextRecordIdentifier>${next.SetIdentifier}</NextRecordIdentifier>`
        : '<IsTruncated>false</IsTruncated>';
      return xmlResponse(200, `<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns="${NS}"><ResourceRecordSets>${recordXml(all[from]!)}</ResourceRecordSets>${tail}<MaxItems>1</MaxItems></ListResourceRecordSetsResponse>`);
    });
    const port = createDnsPort(env, { client, clock: virtualClock(), pageSize: 1 });
    const group = await port.readGroup('api.example.com.', 'A');
    expect(group.map((r) => [r.setIdentifier, r.weight, r.ttl])).toEqual([['blue', 100, 60], ['canary', 10, 60], ['green', 0, 60]]);
    expect(identifiers).toEqual([undefined, 'canary', 'green']);
  });

  it('backs off while Route 53 answers Throttling, then returns the change', async () => {
    let calls = 0;
    const client = clientWith(() => (++calls <= 2 ? xmlResponse(400, throttledXml) : xmlResponse(200, changeXml('PENDING'))));
    const clock = virtualClock();
    const port = createDnsPort(env, { client, clock, backoff: { random: () => 0.5 } });
    await expect(port.getChange('C1')).resolves.toEqual({ id: 'C1', status: 'PENDING', submittedAt: '2026-03-01T12:00:00.000Z' });
    expect(calls).toBe(3);
    expect(clock.sleeps.filter((ms) => ms >= 500)).toEqual([750, 1500]);
  });

  it('turns persistent throttling into an ApiError naming the operation', async () => {
    const client = clientWith(() => xmlResponse(400, throttledXml));
    const port = createDnsPort(env, { client, clock: virtualClock(), backoff: { attempts: 2 } });
    const call = port.getChange('C1');
    await expect(call).rejects.toThrow(ApiError);
    await expect(call).rejects.toThrow(/GetChange change C1 failed: Throttling: Rate exceeded/);
  });
});

describe('health check status', () => {
  it('counts checkers whose report starts with Success', () => {
    expect(countHealthy([{ StatusReport: { Status: 'Success: HTTP Status Code 200' } }, { StatusReport: { Status: 'Failure: Connection timed out' } }, {}])).toEqual({ healthy: 1, total: 3 });
  });
});
