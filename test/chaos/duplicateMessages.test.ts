// Every run message injected three times straight into SQS: one container per attempt.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { TaskRecord } from '../../core/types.js';
import { ensureEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster } from '../support/cli.js';
import { containersOfTask } from '../support/docker.js';
import { assertInvariants } from '../support/invariants.js';
import { tearDownCluster } from '../support/teardown.js';
import { allRunning, submitSleepers, waitForWorkers } from './support.js';

let cluster: TestCluster;
let workerIds: string[] = [];

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('dups', ['--workers', '0']);
});

after(async () => {
  await tearDownCluster(cluster, workerIds);
});

test('run messages delivered three times start one container per attempt', {
  timeout: 120_000,
}, async () => {
  cluster.startWorker(`${cluster.prefix}-w`);
  const [worker] = await waitForWorkers(cluster, 1);
  workerIds = [worker!.id];
  const sqs = new SQSClient({});
  const ids = await submitSleepers(cluster, 6);
  // Inject while the tasks are being placed and started, for attempts 1 and 2.
  await Promise.all(
    ids.flatMap((taskId) =>
      [1, 1, 1, 2, 2, 2].map((attempt) =>
        sqs.send(
          new SendMessageCommand({
            QueueUrl: worker!.queueUrl,
            MessageBody: JSON.stringify({ kind: 'run', taskId, attempt }),
          }),
        ),
      ),
    ),
  );
  const running = await allRunning(cluster, ids);
  // Let every injected copy be received and handled.
  await new Promise((r) => setTimeout(r, 4000));
  for (const task of running as TaskRecord[]) {
    const containers = await containersOfTask(task.id);
    assert.equal(containers.length, 1, `task ${task.id}: one container`);
    assert.equal(containers[0]!.Labels['cube.attempt'], '1');
  }
  await assertInvariants(cluster, ids);
});
