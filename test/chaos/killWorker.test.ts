// kill -9 a worker with running tasks: every task RUNNING on another worker; restart the
// killed worker: its orphans are stopped, and exactly one container per task remains.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TaskRecord } from '../../core/types.js';
import { ensureEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster } from '../support/cli.js';
import { docker } from '../support/docker.js';
import { assertInvariants, eventuallyInvariants } from '../support/invariants.js';
import { tearDownCluster } from '../support/teardown.js';
import { allRunning, killHard, submitSleepers, waitForWorkers } from './support.js';

let cluster: TestCluster;
let workerIds: string[] = [];

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('killw', ['--workers', '0']);
});

after(async () => {
  await tearDownCluster(cluster, workerIds);
});

test("a killed worker's tasks move; its orphans stop when it returns", {
  timeout: 180_000,
}, async () => {
  const names = ['a', 'b'].map((n) => `${cluster.prefix}-${n}`);
  const first = cluster.startWorker(names[0]!, ['--cpu', '2', '--memory', '1g']);
  cluster.startWorker(names[1]!, ['--cpu', '2', '--memory', '1g']);
  const workers = await waitForWorkers(cluster, 2);
  workerIds = workers.map((w) => w.id);
  const victim = workers.find((w) => w.name === names[0])!;

  // round-robin spreads the tasks over both workers, so the victim holds some.
  const ids = await submitSleepers(cluster, 4, { scheduler: 'round-robin' });
  const running = await allRunning(cluster, ids);
  const onVictim = running.filter((t) => t.workerId === victim.id).map((t) => t.id);
  assert.ok(onVictim.length > 0, 'the victim runs some tasks');
  const victimContainers = await docker.listContainers({
    filters: { label: [`cube.worker=${victim.id}`] },
  });

  const killedAt = Date.now();
  await killHard(first);
  const moved = await eventually(
    'every task RUNNING on the surviving worker',
    async () => {
      const tasks = await cluster.cubeJson<TaskRecord[]>(['ps', '--all', '--json']);
      // A listing walks the state indexes one after another, so a task that moves back
      // (LOST -> PENDING) during the walk can be missing from one answer: wait for all.
      const mine = tasks.filter((t) => ids.includes(t.id));
      return mine.length === ids.length &&
        mine.every((t) => t.state === 'RUNNING' && t.workerId !== victim.id)
        ? mine
        : undefined;
    },
    60_000,
  );
  process.stderr.write(`recovered in ${((Date.now() - killedAt) / 1000).toFixed(1)} s\n`);
  for (const id of onVictim) {
    const task = moved.find((t) => t.id === id)!;
    assert.ok(task.attempt >= 2, 'a moved task runs a new attempt');
  }
  // While the victim is away its old containers still run (nobody owns them yet).
  assert.ok(victimContainers.length > 0);

  cluster.startWorker(names[0]!, ['--cpu', '2', '--memory', '1g']);
  await eventually(
    'the returning worker to stop its orphans',
    async () => {
      const left = await docker.listContainers({
        filters: { label: [`cube.worker=${victim.id}`] },
      });
      return left.length === 0 ? true : undefined;
    },
    60_000,
  );
  await eventuallyInvariants(cluster, ids, 30_000);
  await assertInvariants(cluster, ids);
});
