// The chaos tests' invariants, checked against Docker itself and the stored records:
// no task lost, no duplicate container, no worker over capacity, no leaked reservation.
import assert from 'node:assert/strict';
import { holdsCapacity } from '../../core/taskStateMachine.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import type { TestCluster } from './cli.js';
import { docker } from './docker.js';

export async function snapshot(cluster: TestCluster) {
  const tasks = await cluster.cubeJson<TaskRecord[]>(['ps', '--all', '--json']);
  const nodes = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
  return { tasks, nodes };
}

/** Checks every invariant; `expected` are task ids that must exist and be RUNNING. */
export async function assertInvariants(cluster: TestCluster, expected: string[]) {
  const { tasks, nodes } = await snapshot(cluster);
  const byId = new Map(tasks.map((t) => [t.id, t]));
  for (const id of expected) {
    const task = byId.get(id);
    assert.ok(task, `task ${id} was lost`);
    assert.equal(task.state, 'RUNNING', `task ${id} is ${task.state}: ${task.reason ?? ''}`);
  }

  const workerIds = new Set(nodes.map((n) => n.id));
  const containers = (
    await docker.listContainers({ all: true, filters: { label: ['cube.task-id'] } })
  ).filter((c) => workerIds.has(c.Labels['cube.worker']!));
  for (const task of tasks) {
    const own = containers.filter(
      (c) => c.Labels['cube.task-id'] === task.id && c.State === 'running',
    );
    assert.ok(own.length <= 1, `task ${task.id} has ${own.length} running containers`);
    if (task.state === 'RUNNING') {
      assert.equal(own.length, 1, `RUNNING task ${task.id} has no running container`);
      assert.equal(own[0]!.Labels['cube.attempt'], String(task.attempt), `task ${task.id} attempt`);
      assert.equal(own[0]!.Labels['cube.worker'], task.workerId, `task ${task.id} worker`);
    }
  }

  for (const node of nodes) {
    assert.ok(
      node.allocated.cpuMillis <= node.capacity.cpuMillis,
      `${node.name} cpu overcommitted`,
    );
    assert.ok(
      node.allocated.memoryBytes <= node.capacity.memoryBytes,
      `${node.name} memory overcommitted`,
    );
    const holding = tasks.filter((t) => t.workerId === node.id && holdsCapacity(t.state));
    const sum = holding.reduce(
      (acc, t) => ({
        cpuMillis: acc.cpuMillis + t.spec.resources.cpuMillis,
        memoryBytes: acc.memoryBytes + t.spec.resources.memoryBytes,
        diskBytes: acc.diskBytes + t.spec.resources.diskBytes,
        tasks: acc.tasks + 1,
      }),
      { cpuMillis: 0, memoryBytes: 0, diskBytes: 0, tasks: 0 },
    );
    assert.deepEqual(node.allocated, sum, `${node.name}: allocation equals what its tasks hold`);
  }
}

/** Polls the invariants until they hold (states converge) or the time runs out. */
export async function eventuallyInvariants(
  cluster: TestCluster,
  expected: string[],
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertInvariants(cluster, expected);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
