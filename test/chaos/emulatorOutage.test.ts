// The AWS endpoint unreachable for 20 s under a running worker: no container is stopped,
// and states converge afterwards.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster } from '../support/cli.js';
import { docker, removeContainersOfWorkers } from '../support/docker.js';
import { eventuallyInvariants } from '../support/invariants.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';
import { allRunning, submitSleepers, waitForWorkers } from './support.js';

let cluster: TestCluster;
let proxy: TcpProxy;
let workerIds: string[] = [];

before(async () => {
  const endpoint = await ensureEmulator();
  proxy = await startTcpProxy(new URL(endpoint));
  // Everything — control plane and worker — reaches AWS only through the proxy.
  cluster = await startTestCluster('outage', ['--workers', '0'], {
    env: { AWS_ENDPOINT_URL: proxy.url },
  });
});

after(async () => {
  await proxy?.restore().catch(() => {});
  await cluster?.stop();
  await proxy?.close();
  await removeContainersOfWorkers(workerIds);
  await stopEmulator();
});

test('containers survive an AWS outage and states converge', { timeout: 180_000 }, async () => {
  cluster.startWorker(`${cluster.prefix}-w`);
  const [worker] = await waitForWorkers(cluster, 1);
  workerIds = [worker!.id];
  const ids = await submitSleepers(cluster, 3);
  await allRunning(cluster, ids);
  const before = await docker.listContainers({ filters: { label: [`cube.worker=${worker!.id}`] } });
  assert.equal(before.length, 3);

  await proxy.cut();
  for (let waited = 0; waited < 20; waited += 2) {
    await new Promise((r) => setTimeout(r, 2000));
    const now = await docker.listContainers({ filters: { label: [`cube.worker=${worker!.id}`] } });
    assert.deepEqual(
      now.map((c) => c.Id).sort(),
      before.map((c) => c.Id).sort(),
      'no container stopped during the outage',
    );
  }
  await proxy.restore();

  await eventuallyInvariants(cluster, ids, 60_000);
  const afterOutage = await docker.listContainers({
    filters: { label: [`cube.worker=${worker!.id}`] },
  });
  assert.deepEqual(
    afterOutage.map((c) => c.Id).sort(),
    before.map((c) => c.Id).sort(),
    'the same containers run after the outage',
  );
});
