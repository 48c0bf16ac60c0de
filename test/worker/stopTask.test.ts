import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHarness, stateOf, type WorkerHarness, waitFor } from './support.js';

describe('worker: stop messages', { timeout: 90_000 }, () => {
  let h: WorkerHarness;
  before(async () => {
    h = await startHarness('stop');
  });
  after(async () => {
    await h?.close();
  });

  it('stops and removes the container, then STOPPED frees the reservation', {
    timeout: 30_000,
  }, async () => {
    const task = await h.scheduleTask();
    assert.equal((await h.workers.require(h.workerId)).allocated.tasks, 1);
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(stateOf(h, task.id), (s) => s === 'RUNNING', 'RUNNING');
    assert.equal((await h.containersOf(task.id)).length, 1);

    // What the API does on `cube stop`: STOPPING, then a stop message to the worker.
    const running = await h.tasks.require(task.id);
    await h.tasks.transition(running, { to: 'STOPPING', by: 'api', reason: 'stopped by user' });
    await h.send({ kind: 'stop', taskId: task.id, attempt: 1 });

    const stopped = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'STOPPED',
      'STOPPED',
    );
    assert.equal(stopped.reason, 'stopped by user');
    assert.equal((await h.containersOf(task.id)).length, 0);
    const worker = await h.workers.require(h.workerId);
    assert.deepEqual(worker.allocated, { cpuMillis: 0, memoryBytes: 0, diskBytes: 0, tasks: 0 });
  });

  it('finishes the stop when the container the record names is already gone', {
    timeout: 30_000,
  }, async () => {
    const task = await h.scheduleTask();
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const running = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'RUNNING',
      'RUNNING',
    );
    assert.ok(running.containerId, 'RUNNING names its container');
    // STOPPING first (so the exit is not recorded as the task's end), then the container is
    // removed behind the worker's back before the stop message arrives.
    await h.tasks.transition(running, { to: 'STOPPING', by: 'api', reason: 'stopped by user' });
    await h.docker.getContainer(running.containerId).remove({ force: true });
    await h.send({ kind: 'stop', taskId: task.id, attempt: 1 });

    const stopped = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state !== 'STOPPING',
      'out of STOPPING',
    );
    assert.equal(stopped.state, 'STOPPED');
    assert.equal((await h.containersOf(task.id)).length, 0);
    assert.equal((await h.workers.require(h.workerId)).allocated.tasks, 0);
  });

  it('ignores a stop message for a task that is not STOPPING', { timeout: 30_000 }, async () => {
    const task = await h.scheduleTask();
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(stateOf(h, task.id), (s) => s === 'RUNNING', 'RUNNING');
    await h.send({ kind: 'stop', taskId: task.id, attempt: 1 });
    await waitFor(
      async () => h.logs.includes(`stop ${task.id} attempt 1: obsolete`),
      (seen) => seen,
      'stop handled',
    );
    assert.equal((await h.tasks.require(task.id)).state, 'RUNNING');
    assert.equal((await h.containersOf(task.id)).length, 1);
  });
});
