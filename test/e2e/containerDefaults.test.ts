// Container defaults end to end: never privileged, no host mounts unless the control plane
// allows them; a task's user, read-only root filesystem, dropped capabilities and tmpfs
// mounts reach Docker (checked with docker inspect).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TaskRecord } from '../../core/types.js';
import { ensureEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster, waitForWorkers } from '../support/cli.js';
import { docker, TEST_IMAGE } from '../support/docker.js';
import { tearDownCluster } from '../support/teardown.js';

let cluster: TestCluster;
let workerIds: string[] = [];

before(async () => {
  await ensureEmulator();
  // This control plane keeps host networking closed, as `cube up` does without --allow.
  cluster = await startTestCluster('secdef', ['--workers', '1'], {
    env: { CUBE_ALLOW_HOST_NETWORK: '0' },
  });
  const nodes = await waitForWorkers(cluster, 1);
  workerIds = nodes.map((n) => n.id);
});

after(async () => {
  await tearDownCluster(cluster, workerIds);
});

const submit = (body: object) =>
  fetch(`${cluster.apiUrl}/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      image: TEST_IMAGE,
      network: 'none',
      command: ['sleep', '300'],
      ...body,
    }),
  });

test('privileged and host mounts are refused unless the control plane allows them', async () => {
  const privileged = await submit({ privileged: true });
  assert.equal(privileged.status, 400);
  assert.match(((await privileged.json()) as { message: string }).message, /^privileged: /);
  const bind = await submit({ mounts: [{ type: 'bind', source: '/etc', target: '/host' }] });
  assert.equal(bind.status, 400);
  assert.match(((await bind.json()) as { message: string }).message, /^mounts/);
});

test('host networking needs the control plane to allow it: a 400 naming the setting', async () => {
  const response = await submit({ network: 'host' });
  assert.equal(response.status, 400);
  const body = (await response.json()) as { message: string };
  assert.match(body.message, /^network: host networking is not allowed/);
  assert.match(body.message, /CUBE_ALLOW_HOST_NETWORK=1/);
});

test('a health check aimed outside the container is a 400', async () => {
  for (const host of ['169.254.169.254', '127.0.0.1', 'example.com']) {
    const response = await submit({ healthCheck: { http: { port: 80, path: '/', host } } });
    assert.equal(response.status, 400, host);
    const body = (await response.json()) as { message: string };
    assert.match(body.message, /^healthCheck\.http\.host: is not allowed/);
  }
});

test('user, read-only root, dropped capabilities and tmpfs reach the container', {
  timeout: 60_000,
}, async () => {
  const response = await submit({
    user: '65534:65534',
    readOnlyRootfs: true,
    capDrop: ['ALL'],
    mounts: [{ type: 'tmpfs', target: '/scratch' }],
  });
  assert.equal(response.status, 201, await response.clone().text());
  const { task } = (await response.json()) as { task: TaskRecord };
  const running = await eventually('RUNNING', async () => {
    const { task: t } = await cluster.cubeJson<{ task: TaskRecord }>([
      'inspect',
      task.id,
      '--json',
    ]);
    if (t.state === 'FAILED') throw new Error(`FAILED: ${t.reason}`);
    return t.state === 'RUNNING' ? t : undefined;
  });
  const info = await docker.getContainer(running.containerId!).inspect();
  assert.equal(info.Config.User, '65534:65534');
  assert.equal(info.HostConfig.ReadonlyRootfs, true);
  assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
  assert.equal(info.HostConfig.Privileged, false);
  assert.equal(info.HostConfig.PidsLimit, 1024);
  assert.deepEqual(info.HostConfig.SecurityOpt, ['no-new-privileges']);
  assert.equal(info.Mounts.find((m) => m.Destination === '/scratch')?.Type, 'tmpfs');
  await cluster.cube(['stop', task.id]);
});
