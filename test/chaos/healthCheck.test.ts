// A task whose health check fails is restarted per its policy, then FAILED when the policy
// is exhausted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TaskEvent, TaskRecord } from '../../core/types.js';
import { ensureEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster } from '../support/cli.js';
import { containersOfTask } from '../support/docker.js';
import { assertInvariants } from '../support/invariants.js';
import { tearDownCluster } from '../support/teardown.js';
import { submitSleepers, waitForWorkers } from './support.js';

let cluster: TestCluster;
let workerIds: string[] = [];

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('health', ['--workers', '0']);
});

after(async () => {
  await tearDownCluster(cluster, workerIds);
});

test('an unhealthy task is restarted by its policy, then FAILED', {
  timeout: 120_000,
}, async () => {
  cluster.startWorker(`${cluster.prefix}-w`);
  const [worker] = await waitForWorkers(cluster, 1);
  workerIds = [worker!.id];
  const [id] = await submitSleepers(cluster, 1, {
    restart: 'on-failure:2',
    maxReschedules: 0,
    healthCheck: { command: ['sh', '-c', 'exit 1'], interval: 0.5, timeout: 1, retries: 2 },
  });
  const failed = await eventually(
    'the task to end FAILED',
    async () => {
      const { task } = await cluster.cubeJson<{ task: TaskRecord }>(['inspect', id!, '--json']);
      return task.state === 'FAILED' && !task.restart ? task : undefined;
    },
    90_000,
  );
  assert.equal(failed.attempt, 3, 'two restarts in place after the first attempt');
  assert.equal(failed.restartCount, 2);
  assert.match(failed.reason ?? '', /health/);
  const { events } = await cluster.cubeJson<{ events: TaskEvent[] }>(['inspect', id!, '--json']);
  assert.equal(events.filter((e) => e.to === 'RUNNING').length, 3, 'it ran three times');
  assert.equal((await containersOfTask(id!)).filter((c) => c.State === 'running').length, 0);
  await assertInvariants(cluster, []);
});
