// A user's stop wins over every plan to run the task again: a restart's backoff, a planned
// reschedule, a drain moving it. Real worker, real emulator, real Docker; the stop goes
// through the API's own path (functions/api/requestStop.ts). Each check waits past the time
// the plan was due, and runs a reconciler sweep as of long after it, before it looks.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EventStore } from '../../aws/eventStore.js';
import { ServiceStore } from '../../aws/serviceStore.js';
import { TokenStore } from '../../aws/tokenStore.js';
import type { TaskRecord } from '../../core/types.js';
import { drainWorker } from '../../functions/api/drainWorker.js';
import { requestStop } from '../../functions/api/requestStop.js';
import { reconcile } from '../../functions/reconciler/reconcile.js';
import type { Deps } from '../../functions/shared/deps.js';
import { TEST_SIGNER } from '../support/placement.js';
import { startHarness, type WorkerHarness, waitFor } from './support.js';

/** Restart backoff of this file: long enough for a stop to land inside it. */
const DELAY_MS = 5_000;

describe('worker: a stop wins over planned restarts, reschedules and drains', {
  timeout: 180_000,
}, () => {
  let h: WorkerHarness;
  let deps: Deps;
  before(async () => {
    h = await startHarness('stopwins', {}, { initialDelayMs: DELAY_MS, maxDelayMs: DELAY_MS });
    deps = {
      config: h.config,
      tasks: h.tasks,
      workers: h.workers,
      queues: h.queues,
      tokens: new TokenStore(h.clients.ddb, h.config),
      services: new ServiceStore(h.clients.ddb, h.config),
      placementSigner: async () => TEST_SIGNER,
      events: new EventStore(h.clients.ddb, h.config),
    };
  });
  after(async () => {
    await h?.close();
  });

  /** Past the plan's due time, then a sweep as of an hour later: nothing may start it again. */
  async function assertStaysStopped(task: TaskRecord, dueAt: string) {
    const wait = Date.parse(dueAt) - Date.now() + 1_500;
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    const sweep = await reconcile(deps, {
      now: new Date(Date.now() + 3_600_000),
      mayMarkDown: false,
    });
    assert.equal(sweep.restarted, 0, 'the reconciler found no plan to carry out');
    const final = await h.tasks.require(task.id);
    assert.equal(final.state, 'STOPPED');
    assert.equal(final.attempt, task.attempt, 'no new attempt');
    assert.equal(final.restart, undefined);
    assert.equal(final.restartDue, undefined);
    assert.deepEqual(await h.containersOf(task.id), [], 'no container of the task');
    const events = await h.tasks.events(task.id);
    assert.ok(
      events.every((e) => e.attempt === task.attempt),
      `events after the stop: ${events.map((e) => `${e.attempt}:${e.to}`).join(' ')}`,
    );
    assert.equal(events.at(-1)?.to, 'STOPPED');
    const worker = await h.workers.require(h.workerId);
    assert.equal(worker.allocated.tasks, 0, 'no reservation left behind');
  }

  it('an always task stopped during its restart backoff ends STOPPED', async () => {
    const task = await h.scheduleTask({
      command: ['sh', '-c', 'sleep 0.2'],
      restart: { mode: 'always', maxRestarts: 3, maxReschedules: 0 },
    });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const waiting = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'COMPLETED' && t.restart !== undefined,
      'COMPLETED with a restart planned',
    );
    assert.equal(waiting.restart?.kind, 'in-place');

    const stopped = await requestStop(h, task.id, 'api:test');
    assert.equal(stopped.state, 'STOPPED', 'a stop inside the backoff ends the task at once');
    assert.equal(stopped.attempt, 1);
    await assertStaysStopped(stopped, waiting.restart!.at);
    assert.ok(
      h.logs.every((line) => !line.includes(`task ${task.id}: restarting`)),
      "the worker's timer did not restart it",
    );
  });

  it('a FAILED task waiting to be rescheduled ends STOPPED and is never placed', async () => {
    const task = await h.scheduleTask({
      command: ['sh', '-c', 'exit 4'],
      restart: { mode: 'on-failure', maxRestarts: 0, maxReschedules: 3 },
    });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    const waiting = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'FAILED' && t.restart !== undefined,
      'FAILED with a reschedule planned',
    );
    assert.equal(waiting.restart?.kind, 'reschedule');

    const stopped = await requestStop(h, task.id, 'api:test');
    assert.equal(stopped.state, 'STOPPED');
    assert.equal(stopped.exitCode, 4, 'the exit it failed with is kept');
    await assertStaysStopped(stopped, waiting.restart!.at);
    const nudges = await h.queues.receive(h.config.schedulingQueueUrl!, { waitSeconds: 1 });
    assert.ok(!nudges.some((m) => m.Body?.includes(task.id)), 'the scheduler was never nudged');
  });

  it('a stop during a drain ends the task STOPPED instead of placing it elsewhere', async () => {
    // `sleep` as PID 1 ignores SIGTERM: the worker's stop takes the whole stop timeout.
    const task = await h.scheduleTask({ command: ['sleep', '300'], stopTimeoutSeconds: 4 });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'RUNNING',
      'RUNNING',
    );
    const report = await drainWorker(deps, h.workerId, 'api:test');
    assert.deepEqual(report.stopping, [task.id]);
    const draining = await h.tasks.require(task.id);
    assert.equal(draining.restart?.kind, 'reschedule');

    const stopped = await requestStop(h, task.id, 'api:test');
    assert.equal(stopped.state, 'STOPPING', 'still stopping: the drain had not finished');
    assert.equal(stopped.attempt, 1);
    assert.equal(stopped.restart, undefined, "the drain's reschedule is gone");
    const final = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state !== 'STOPPING',
      'the worker to finish the stop',
    );
    assert.equal(final.state, 'STOPPED');
    await assertStaysStopped(final, draining.restart!.at);
    await h.workers.setCordoned(h.workerId, false);
  });
});
