// A 3-step traffic shift (10 %, 50 %, 100 % to green) by `cutover execute` against moto, with every AWS
// call counted by operation on the wire: the environment's aws.endpoint is a small counting proxy in front
// of moto, so retries and the account check are counted too. Calls are given to the step whose window
// (from the journal's transitions) they fall in; calls before the first step are the plan's.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import {
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  DeleteHostedZoneCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { environmentDoc, readJournal, runCutover, runbookDoc, stepWindows, tail, writeRunbook } from './cli.mjs';

const MOTO = { host: '127.0.0.1', port: 15000 };
const ACCOUNT = '123456789012';
const STEPS = [10, 50, 100];
/** Short TTL: each step waits one TTL for resolver caches, which is not what this figure measures. */
const TTL = 1;

const route53 = () =>
  new Route53Client({
    region: 'us-east-1',
    endpoint: `http://${MOTO.host}:${MOTO.port}`,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });

/** The AWS operation a request is, from Route 53's REST paths or a query-protocol body's Action. */
export function operationOf(method, path, body) {
  const p = path.split('?')[0];
  if (p.startsWith('/2013-04-01/')) {
    if (/\/hostedzone\/[^/]+\/rrset\/?$/.test(p)) return method === 'POST' ? 'ChangeResourceRecordSets' : 'ListResourceRecordSets';
    if (/\/change\/[^/]+$/.test(p)) return 'GetChange';
    if (/\/healthcheck\/[^/]+\/status$/.test(p)) return 'GetHealthCheckStatus';
    return `route53 ${method} ${p.replace(/\/[A-Z0-9]{8,}/g, '/{id}')}`;
  }
  const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body)?.[1];
  return action ? `sts/query ${action}` : `${method} ${p}`;
}

/** An HTTP proxy to moto that records [time, operation] of every request. */
async function countingProxy() {
  const calls = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      calls.push({ at: Date.now(), op: operationOf(req.method, req.url, body.toString('utf8')) });
      const upstream = http.request({ ...MOTO, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      upstream.end(body);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { endpoint: `http://127.0.0.1:${port}`, calls, close: () => new Promise((resolve) => server.close(resolve)) };
}

async function createZone(client) {
  const id = randomBytes(3).toString('hex');
  const zoneName = `bench-${id}.example.com.`;
  const zone = await client.send(new CreateHostedZoneCommand({ Name: zoneName, CallerReference: `bench-${id}` }));
  const zoneId = zone.HostedZone.Id.replace('/hostedzone/', '');
  const name = `api.${zoneName}`;
  const record = (id, weight, ip) => ({
    Action: 'CREATE',
    ResourceRecordSet: { Name: name, Type: 'A', SetIdentifier: id, Weight: weight, TTL, ResourceRecords: [{ Value: ip }] },
  });
  await client.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: [record('blue', 100, '192.0.2.10'), record('green', 0, '192.0.2.20')] },
    }),
  );
  return { zoneId, name, id };
}

async function deleteZone(client, zoneId) {
  const listed = await client.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }));
  const changes = listed.ResourceRecordSets.filter((r) => r.Type !== 'SOA' && r.Type !== 'NS').map((r) => ({ Action: 'DELETE', ResourceRecordSet: r }));
  if (changes.length > 0) await client.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: zoneId, ChangeBatch: { Changes: changes } }));
  await client.send(new DeleteHostedZoneCommand({ Id: zoneId }));
}

function callsPerStep(calls, windows) {
  const steps = STEPS.map(() => ({}));
  const plan = {};
  for (const call of calls) {
    const index = Object.entries(windows).find(([, w]) => call.at >= w.start && (w.end === undefined || call.at < w.end))?.[0];
    const bucket = index === undefined ? plan : steps[Number(index)];
    bucket[call.op] = (bucket[call.op] ?? 0) + 1;
  }
  return { plan, steps };
}

async function trafficRound(opts) {
  const client = route53();
  const zone = await createZone(client);
  const proxy = await countingProxy();
  const dir = join(opts.workDir, `traffic-${zone.id}`);
  const name = 'bench-traffic';
  try {
    const runbook = await writeRunbook(
      dir,
      environmentDoc({
        aws: { region: 'us-east-1', endpoint: proxy.endpoint, accountId: ACCOUNT },
        dns: { hostedZoneId: zone.zoneId, records: [{ name: zone.name, type: 'A', setIdentifiers: { blue: 'blue', green: 'green' } }] },
      }),
      runbookDoc({
        name,
        // The runbook must name namespaces; this one holds no CronJob, so only traffic moves.
        namespaces: [`bench-traffic-${zone.id}`],
        concurrency: 5,
        steps: STEPS.map((percent) => ({ shiftTraffic: { percent, soak: '0s' } })),
      }),
    );
    const log = join(dir, 'execute.log');
    const result = await runCutover(['execute', '-f', runbook, '--yes'], { cwd: dir, log, probeOut: join(dir, 'probe.json') });
    if (result.code !== 0) throw new Error(`cutover execute exited ${result.code}; ${log}:\n${await tail(log)}`);
    const windows = stepWindows(await readJournal(dir, name));
    const perStep = callsPerStep(proxy.calls, windows);
    const stepMs = STEPS.map((_, i) => (windows[i]?.end ?? NaN) - (windows[i]?.start ?? NaN));
    return { wallMs: result.wallMs, stepMs, ...perStep };
  } finally {
    await proxy.close();
    await deleteZone(client, zone.zoneId);
    client.destroy();
  }
}

export async function benchTraffic(opts, say) {
  const rounds = [];
  for (let r = 0; r < opts.repeat; r++) {
    const round = await trafficRound(opts);
    rounds.push(round);
    const changes = round.steps.map((s) => s.ChangeResourceRecordSets ?? 0).join('/');
    say(`traffic round ${r + 1}/${opts.repeat}: ${(round.wallMs / 1000).toFixed(2)} s, ChangeResourceRecordSets per step ${changes}`);
  }
  return { steps: STEPS, rounds };
}
