// Restart policies on the worker: a failed attempt restarts in place (a new container per
// attempt, the old one gone first) until the policy's in-place limit, then is handed back for
// rescheduling within its own limit, or ends FAILED.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TaskRecord } from '../../core/types.js';
import { startHarness, type WorkerHarness, waitFor } from './support.js';

describe('worker: restart policies', { timeout: 120_000 }, () => {
  let h: WorkerHarness;
  before(async () => {
    h = await startHarness('restart');
  });
  after(async () => {
    await h?.close();
  });

  /** Samples the task's containers until `until` holds; fails if two ever coexist. */
  async function watchContainers(taskId: string, until: () => Promise<boolean>, ms = 20_000) {
    const deadline = Date.now() + ms;
    const attempts = new Set<string>();
    while (!(await until())) {
      const containers = await h.containersOf(taskId);
      assert.ok(containers.length <= 1, `${containers.length} containers of ${taskId} at once`);
      for (const c of containers) attempts.add(c.Labels['cube.attempt'] ?? '?');
      if (Date.now() > deadline) throw new Error(`timed out watching ${taskId}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return attempts;
  }

  it('on-failure:2 runs 3 attempts in place, then ends FAILED when reschedules are 0', async () => {
    const task = await h.scheduleTask({
      command: ['sh', '-c', 'sleep 0.3; exit 1'],
      restart: { mode: 'on-failure', maxRestarts: 2, maxReschedules: 0 },
    });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    let last: TaskRecord | undefined;
    const seen = await watchContainers(task.id, async () => {
      last = await h.tasks.require(task.id);
      return last.state === 'FAILED' && last.attempt === 3 && !last.restart;
    });
    assert.ok(last);
    assert.equal(last.restartCount, 2);
    assert.equal(last.exitCode, 1);
    assert.equal(last.restartDue, undefined);
    assert.match(
      last.reason ?? '',
      /exited with code 1; 2 in-place restarts used; reschedule limit 0/,
    );
    assert.ok(seen.size >= 2, `saw containers of attempts ${[...seen]}`);
    await waitFor(
      () => h.containersOf(task.id),
      (c) => c.length === 0,
      'containers removed',
    );

    const events = await h.tasks.events(task.id);
    const path = events.map((e) => `${e.attempt}:${e.to}`);
    assert.deepEqual(path, [
      '1:PENDING',
      '1:SCHEDULED',
      '1:STARTING',
      '1:RUNNING',
      '1:FAILED',
      '2:SCHEDULED',
      '2:STARTING',
      '2:RUNNING',
      '2:FAILED',
      '3:SCHEDULED',
      '3:STARTING',
      '3:RUNNING',
      '3:FAILED',
    ]);
    const worker = await h.workers.require(h.workerId);
    assert.equal(worker.allocated.tasks, 0, 'no reservation left behind');
  });

  it('always restarts a task that exits 0; never does not', async () => {
    const always = await h.scheduleTask({
      command: ['sh', '-c', 'sleep 0.3'],
      restart: { mode: 'always', maxRestarts: 1, maxReschedules: 0 },
    });
    const never = await h.scheduleTask({
      command: ['sh', '-c', 'sleep 0.3; exit 2'],
      restart: { mode: 'never' },
    });
    await h.send({ kind: 'run', taskId: always.id, attempt: 1 });
    await h.send({ kind: 'run', taskId: never.id, attempt: 1 });

    const done = await waitFor(
      () => h.tasks.require(always.id),
      (t) => t.state === 'COMPLETED' && t.attempt === 2 && !t.restart,
      'always: second attempt COMPLETED',
    );
    assert.equal(done.restartCount, 1);
    const failed = await waitFor(
      () => h.tasks.require(never.id),
      (t) => t.state === 'FAILED',
      'never: FAILED',
    );
    assert.equal(failed.attempt, 1);
    assert.equal(failed.restart, undefined);
    assert.equal(failed.reason, 'exited with code 2');
  });

  it('hands the task back for placement once in-place restarts are used up', async () => {
    const task = await h.scheduleTask({
      command: ['sh', '-c', 'exit 3'],
      restart: { mode: 'on-failure', maxRestarts: 0, maxReschedules: 1 },
    });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const pending = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'PENDING',
      'PENDING',
    );
    assert.equal(pending.attempt, 2);
    assert.equal(pending.rescheduleCount, 1);
    assert.deepEqual(pending.previousWorkerIds, [h.workerId]);
    assert.equal(pending.workerId, undefined);
    // The scheduler got its nudge.
    const messages = await h.queues.receive(h.config.schedulingQueueUrl!, { waitSeconds: 1 });
    assert.ok(messages.some((m) => m.Body?.includes(task.id)));
  });
});
