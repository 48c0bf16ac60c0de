// A worker token bound to a worker name registers that worker and no other, so one host's
// join token cannot take over another worker's queue and records.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster } from '../support/cli.js';

let cluster: TestCluster;

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('bind', ['--workers', '0']);
});

after(async () => {
  await cluster?.stop();
  await stopEmulator();
});

const call = (method: string, path: string, token: string, body?: object) =>
  fetch(`${cluster.apiUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });

const registration = (name: string) => ({
  name,
  labels: {},
  capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, diskBytes: 0 },
});

test('a bound worker token registers its own worker only', async () => {
  const created = await call('POST', '/v1/tokens', cluster.token, {
    name: 'join-a',
    scope: 'worker',
    worker: 'host-a',
  });
  assert.equal(created.status, 201);
  const { secret, token } = (await created.json()) as { secret: string; token: { worker: string } };
  assert.equal(token.worker, 'host-a');

  assert.equal((await call('POST', '/v1/workers', secret, registration('host-a'))).status, 201);
  const other = await call('POST', '/v1/workers', secret, registration('host-b'));
  assert.equal(other.status, 403);
  assert.match(((await other.json()) as { message: string }).message, /bound to worker "host-a"/);
  assert.equal((await call('GET', '/v1/tasks', secret)).status, 403, 'nor can it read tasks');
});

test('only a worker token can be bound to a worker', async () => {
  const response = await call('POST', '/v1/tokens', cluster.token, {
    name: 'x',
    scope: 'submit',
    worker: 'host-a',
  });
  assert.equal(response.status, 400);
  assert.match(((await response.json()) as { message: string }).message, /^worker: /);
});
