// Graceful stops: the task's stop signal, then SIGKILL after its stop timeout; the record
// stays STOPPING until the container is gone. A drain (STOPPING with a planned restart) hands
// the task back for placement instead of ending it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TaskRecord } from '../../core/types.js';
import { startHarness, type WorkerHarness, waitFor } from './support.js';

describe('worker: graceful stop', { timeout: 120_000 }, () => {
  let h: WorkerHarness;
  before(async () => {
    h = await startHarness('grace');
  });
  after(async () => {
    await h?.close();
  });

  async function running(command: string[], stopTimeoutSeconds: number, stopSignal = 'SIGTERM') {
    const task = await h.scheduleTask({ command, stopTimeoutSeconds, stopSignal });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    // The shell sets its trap first thing; give it a moment past RUNNING.
    const record = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'RUNNING',
      'RUNNING',
    );
    await new Promise((r) => setTimeout(r, 300));
    return record;
  }

  /** What the API does on `cube stop`: STOPPING, then a stop message. */
  async function stop(task: TaskRecord, patch: Partial<TaskRecord> = {}) {
    const current = await h.tasks.require(task.id);
    await h.tasks.transition(current, {
      to: 'STOPPING',
      by: 'api',
      reason: 'stopped by user',
      patch,
    });
    await h.send({ kind: 'stop', taskId: task.id, attempt: current.attempt });
  }

  it('creates containers with the task stop signal and timeout', async () => {
    const task = await running(['sleep', '300'], 7, 'SIGINT');
    const info = await h.docker.getContainer(task.containerId!).inspect();
    const config = info.Config as { StopSignal?: string; StopTimeout?: number };
    assert.equal(config.StopSignal, 'SIGINT');
    assert.equal(config.StopTimeout, 7);
  });

  it('a task that handles SIGTERM stops at once with its own exit code', async () => {
    const task = await running(
      ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'],
      10,
    );
    const started = Date.now();
    await stop(task);
    const stopped = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'STOPPED',
      'STOPPED',
    );
    assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    assert.equal(stopped.exitCode, 0);
    assert.equal(stopped.reason, 'stopped by user');
  });

  it('a task that ignores SIGTERM is killed after its stop timeout, STOPPING meanwhile', async () => {
    const task = await running(['sh', '-c', 'trap "" TERM; while true; do sleep 0.1; done'], 1);
    const started = Date.now();
    await stop(task);
    // Sample record and container together: STOPPING while the container lives, STOPPED after.
    let sawStoppingWithContainer = false;
    let stopped: TaskRecord | undefined;
    while (Date.now() - started < 10_000) {
      const record = await h.tasks.require(task.id);
      const containers = await h.containersOf(task.id);
      if (record.state === 'STOPPING' && containers.length === 1) sawStoppingWithContainer = true;
      if (record.state === 'STOPPED') {
        stopped = record;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(stopped, 'STOPPED in time');
    assert.ok(sawStoppingWithContainer, 'STOPPING shown while the container was still there');
    const took = Date.now() - started;
    assert.ok(took >= 1000 && took < 6000, `took ${took} ms`);
    assert.equal(stopped.exitCode, 137, 'SIGKILL');
    assert.equal((await h.containersOf(task.id)).length, 0);
  });

  it('a drained task is handed back for placement once its container is gone', async () => {
    const task = await running(['sleep', '300'], 1);
    const before = (await h.workers.require(h.workerId)).allocated.tasks;
    await stop(task, { restart: { kind: 'reschedule', at: new Date().toISOString() } });
    const pending = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'PENDING',
      'PENDING',
    );
    assert.equal(pending.attempt, 2);
    assert.equal(pending.rescheduleCount, 1);
    assert.equal(pending.restart, undefined);
    assert.equal((await h.containersOf(task.id)).length, 0);
    const worker = await h.workers.require(h.workerId);
    assert.equal(worker.allocated.tasks, before - 1, 'the reservation went with it');
    const messages = await h.queues.receive(h.config.schedulingQueueUrl!, { waitSeconds: 1 });
    assert.ok(
      messages.some((m) => m.Body?.includes(task.id)),
      'the scheduler was nudged',
    );
  });
});
