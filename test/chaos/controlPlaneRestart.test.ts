// kill -9 the local control plane in the middle of 50 submissions and start it again:
// every accepted task ends RUNNING exactly once.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { freePort } from '../../cli/local/emulator.js';
import type { TaskRecord } from '../../core/types.js';
import { ensureEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster } from '../support/cli.js';
import { containersOfTask, TEST_IMAGE } from '../support/docker.js';
import { assertInvariants } from '../support/invariants.js';
import { tearDownCluster } from '../support/teardown.js';
import { allRunning, waitForWorkers } from './support.js';

let cluster: TestCluster;
let workerIds: string[] = [];

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('cprestart', ['--workers', '0'], { port: await freePort() });
});

after(async () => {
  await tearDownCluster(cluster, workerIds);
});

async function submit(): Promise<string | undefined> {
  try {
    const response = await fetch(`${cluster.apiUrl}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        image: TEST_IMAGE,
        command: ['sleep', '3600'],
        memory: '16m',
        cpu: 0.02,
        network: 'none',
        stopTimeout: 1,
      }),
    });
    if (response.status !== 201) return undefined;
    return ((await response.json()) as { task: TaskRecord }).task.id;
  } catch {
    return undefined; // refused while the control plane is down: not accepted
  }
}

test('every accepted submission ends RUNNING exactly once', { timeout: 240_000 }, async () => {
  cluster.startWorker(`${cluster.prefix}-w`);
  const [worker] = await waitForWorkers(cluster, 1);
  workerIds = [worker!.id];

  const accepted: string[] = [];
  let refused = 0;
  for (let i = 0; i < 50; i++) {
    if (i === 20) await cluster.killControlPlane();
    if (i === 30) await cluster.restartControlPlane();
    const id = await submit();
    if (id) accepted.push(id);
    else refused++;
  }
  process.stderr.write(`accepted ${accepted.length}, refused ${refused}\n`);
  assert.ok(accepted.length >= 35, 'submissions before the kill and after the restart succeed');
  assert.ok(refused >= 5, 'submissions while it was down were refused');

  await allRunning(cluster, accepted, 120_000);
  for (const id of accepted) {
    assert.equal((await containersOfTask(id)).length, 1, `task ${id} runs exactly once`);
  }
  await assertInvariants(cluster, accepted);
});
