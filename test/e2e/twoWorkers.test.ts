// Two worker processes with small capacities: tasks spread over both, neither overcommitted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import { ensureEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster, waitForWorkers } from '../support/cli.js';
import { containersOfTask, TEST_IMAGE } from '../support/docker.js';
import { tearDownCluster } from '../support/teardown.js';

let cluster: TestCluster;
let workerIds: string[] = [];

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('two', ['--workers', '0']);
  cluster.startWorker(`${cluster.prefix}-a`, ['--cpu', '1', '--memory', '512m']);
  cluster.startWorker(`${cluster.prefix}-b`, ['--cpu', '1', '--memory', '512m']);
  const nodes = await waitForWorkers(cluster, 2);
  workerIds = nodes.map((n) => n.id);
});

after(async () => {
  await tearDownCluster(cluster, workerIds);
});

test('several tasks use both workers and never overcommit them', { timeout: 180_000 }, async () => {
  // 8 x 128 MiB fill 1 GiB exactly; a 9th cannot fit anywhere.
  const ids: string[] = [];
  for (let i = 0; i < 9; i++) {
    const run = await cluster.cube([
      'run',
      '--memory',
      '128m',
      '--cpu',
      '0.1',
      '--network',
      'none',
      TEST_IMAGE,
      '--',
      'sleep',
      '300',
    ]);
    assert.equal(run.code, 0, run.stderr);
    ids.push(run.stdout.trim());
  }
  const tasks = await eventually(
    '8 tasks running and 1 pending',
    async () => {
      const list = await cluster.cubeJson<TaskRecord[]>(['ps', '--all', '--json']);
      const running = list.filter((t) => t.state === 'RUNNING');
      const pending = list.filter(
        (t) => t.state === 'PENDING' && t.reason?.includes('workers fit'),
      );
      return running.length === 8 && pending.length === 1 ? list : undefined;
    },
    90_000,
  );

  const perWorker = new Map<string, number>();
  for (const t of tasks.filter((t) => t.state === 'RUNNING')) {
    perWorker.set(t.workerId!, (perWorker.get(t.workerId!) ?? 0) + 1);
    assert.equal((await containersOfTask(t.id)).length, 1);
  }
  assert.deepEqual([...perWorker.keys()].sort(), [...workerIds].sort(), 'both workers used');
  const pending = tasks.find((t) => t.state === 'PENDING')!;
  assert.equal(pending.reason, '0/2 workers fit: 2 insufficient memory');

  const nodes = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
  for (const node of nodes) {
    assert.ok(node.allocated.memoryBytes <= node.capacity.memoryBytes, `${node.name} memory`);
    assert.ok(node.allocated.cpuMillis <= node.capacity.cpuMillis, `${node.name} cpu`);
    assert.equal(node.allocated.tasks, perWorker.get(node.id));
  }

  // Stopping everything gives every reservation back.
  for (const id of ids) await cluster.cube(['stop', id]);
  await eventually(
    'all reservations released',
    async () => {
      const list = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
      return list.every((n) => n.allocated.tasks === 0 && n.allocated.memoryBytes === 0)
        ? list
        : undefined;
    },
    60_000,
  );
});
