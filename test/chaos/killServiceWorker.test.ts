// kill -9 of a worker process holding a service's replicas: the service is back to its
// desired count of healthy replicas, all on the surviving worker; when the killed worker
// returns it stops what it left running, and one container per replica remains.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { ServiceView } from '../../cli/services/types.js';
import { ensureEmulator } from '../support/aws.js';
import { apiCaller, eventually, startTestCluster, type TestCluster } from '../support/cli.js';
import { docker, TEST_IMAGE } from '../support/docker.js';
import { tearDownCluster } from '../support/teardown.js';
import { killHard, waitForWorkers } from './support.js';

const REPLICAS = 4;
let cluster: TestCluster;
let workerIds: string[] = [];

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('killsvc', ['--workers', '0']);
});

after(async () => {
  await tearDownCluster(cluster, workerIds);
});

const api = <T>(method: string, path: string, body?: unknown) =>
  apiCaller(`${cluster.apiUrl}/v1`, cluster.token)<T>(method, path, body);

const show = async () => (await api<{ service: ServiceView }>('GET', '/services/sleepy')).body;

/** Running containers of the service on this test's workers, per task id. */
async function containersByTask() {
  const running = await docker.listContainers({ filters: { label: ['cube.service=sleepy'] } });
  const byTask = new Map<string, number>();
  for (const c of running.filter((c) => workerIds.includes(c.Labels['cube.worker']!))) {
    const id = c.Labels['cube.task-id']!;
    byTask.set(id, (byTask.get(id) ?? 0) + 1);
  }
  return byTask;
}

test('a service whose worker is killed with -9 is back to its replicas on the other', {
  timeout: 300_000,
}, async () => {
  const names = ['a', 'b'].map((n) => `${cluster.prefix}-${n}`);
  const first = cluster.startWorker(names[0]!, ['--cpu', '2', '--memory', '1g']);
  cluster.startWorker(names[1]!, ['--cpu', '2', '--memory', '1g']);
  const workers = await waitForWorkers(cluster, 2);
  workerIds = workers.map((w) => w.id);
  const victim = workers.find((w) => w.name === names[0])!;

  const applied = await api('PUT', '/services/sleepy', {
    replicas: REPLICAS,
    task: {
      image: TEST_IMAGE,
      command: ['sleep', '3600'],
      memory: '16m',
      cpu: 0.05,
      network: 'none',
      stopTimeout: 1,
    },
    update: { minHealthyTime: 1 },
  });
  assert.equal(applied.status, 201, JSON.stringify(applied.body));
  const up = await eventually(
    `${REPLICAS}/${REPLICAS} healthy`,
    async () => {
      const { service } = await show();
      return service.rollout.state === 'complete' && service.counts.healthy === REPLICAS
        ? service
        : undefined;
    },
    120_000,
  );
  const onVictim = up.replicaTasks.filter((r) => r.workerId === victim.id);
  assert.ok(onVictim.length > 0, 'the replicas spread onto the victim too');

  const killedAt = Date.now();
  await killHard(first);
  const back = await eventually(
    `${REPLICAS} healthy replicas, none on the killed worker`,
    async () => {
      const { service } = await show();
      const { counts, replicaTasks } = service;
      return counts.healthy === REPLICAS &&
        counts.live === REPLICAS &&
        counts.stopping === 0 &&
        replicaTasks.length === REPLICAS &&
        replicaTasks.every((r) => r.workerId !== victim.id && r.state === 'RUNNING')
        ? service
        : undefined;
    },
    180_000,
  );
  process.stderr.write(`back to ${REPLICAS} in ${((Date.now() - killedAt) / 1000).toFixed(1)} s\n`);
  const survivor = workers.find((w) => w.id !== victim.id)!;
  assert.ok(back.replicaTasks.every((r) => r.workerId === survivor.id));

  // The killed host's containers outlive its daemon until it returns and stops them.
  cluster.startWorker(names[0]!, ['--cpu', '2', '--memory', '1g']);
  await eventually(
    'the returning worker to stop what it left running',
    async () => {
      const left = await docker.listContainers({
        filters: { label: [`cube.worker=${victim.id}`, 'cube.service=sleepy'] },
      });
      return left.length === 0 ? true : undefined;
    },
    90_000,
  );
  const { service } = await show();
  assert.equal(service.counts.healthy, REPLICAS, 'the return changed nothing');
  const containers = await containersByTask();
  assert.equal(containers.size, REPLICAS, 'one replica per running container');
  for (const replica of service.replicaTasks) {
    assert.equal(containers.get(replica.taskId), 1, `replica ${replica.taskId}: one container`);
  }

  const deleted = await api('DELETE', '/services/sleepy');
  assert.equal(deleted.status, 202);
  await eventually('the service to be gone', async () =>
    (await api('GET', '/services/sleepy')).status === 404 ? true : undefined,
  );
  assert.equal((await containersByTask()).size, 0, 'no container left');
});
