// A live worker that sits on a task past its state's bound (an engine hung on a create) does
// not keep it forever: the reconciler ends it with a reason, and its restart policy places it
// elsewhere (never in place on the worker that sat on it).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { STUCK_BOUNDS } from '../../core/stuckTasks.js';
import type { WorkerRecord } from '../../core/types.js';
import { reconcile } from '../../functions/reconciler/reconcile.js';
import type { Deps } from '../../functions/shared/deps.js';
import { metrics } from '../core/schedulerFixtures.js';
import { addPendingTask, addWorker, schedulerDeps } from './support.js';

describe('reconciler: tasks held past their bound', { timeout: 60_000 }, () => {
  let deps: Deps;
  let worker: WorkerRecord;

  before(async () => {
    deps = await schedulerDeps('stuck');
    worker = await addWorker(deps, `stuck-${Date.now().toString(36)}`, {
      cpuMillis: 8_000,
      memoryBytes: 16 * 1024 ** 3,
      diskBytes: 0,
    });
  });

  /** A sweep `ms` from now, the worker having beaten just before it (alive all along). */
  const sweepIn = async (ms: number) => {
    const at = new Date(Date.now() + ms);
    await deps.workers.heartbeat(worker.id, metrics(), new Date(at.getTime() - 1_000), 3_000);
    return reconcile(deps, { now: at });
  };

  it('fails a task STARTING too long and reschedules it by its policy', async () => {
    const pending = await addPendingTask(deps, { restart: { mode: 'on-failure' } });
    const scheduled = await deps.tasks.transition(pending, {
      to: 'SCHEDULED',
      by: 'test',
      patch: { workerId: worker.id },
    });
    await deps.tasks.transition(scheduled, { to: 'STARTING', by: `worker:${worker.id}` });

    const early = await sweepIn(STUCK_BOUNDS.startingMs - 30_000);
    assert.equal(early.stuck, 0);
    assert.equal((await deps.tasks.require(pending.id)).state, 'STARTING');

    const report = await sweepIn(STUCK_BOUNDS.startingMs + 30_000);
    assert.equal(report.stuck, 1);
    assert.equal(report.workersDown, 0, 'the worker itself is alive');
    const failed = await deps.tasks.require(pending.id);
    assert.equal(failed.state, 'FAILED');
    assert.equal(failed.restart?.kind, 'reschedule', 'never again in place');
    assert.equal((await deps.workers.require(worker.id)).allocated.tasks, 0, 'its room released');
    // Its backoff over, the next sweep places it afresh.
    await sweepIn(STUCK_BOUNDS.startingMs + 90_000);
    const task = await deps.tasks.require(pending.id);
    assert.equal(task.state, 'PENDING');
    assert.equal(task.attempt, 2);
    const events = await deps.tasks.events(pending.id);
    const failure = events.find((e) => e.to === 'FAILED');
    assert.match(failure?.reason ?? '', /did not start it within 8 min; rescheduling/);
  });

  it('fails a task SCHEDULED too long with no restart under policy never', async () => {
    const pending = await addPendingTask(deps, { restart: { mode: 'never' } });
    await deps.tasks.transition(pending, {
      to: 'SCHEDULED',
      by: 'test',
      patch: { workerId: worker.id },
    });
    const report = await sweepIn(STUCK_BOUNDS.scheduledMs + 30_000);
    assert.equal(report.stuck, 1);
    const task = await deps.tasks.require(pending.id);
    assert.equal(task.state, 'FAILED');
    assert.match(task.reason ?? '', /did not pick it up within 20 min/);
  });

  it('stops a task STOPPING too long by force', async () => {
    const pending = await addPendingTask(deps);
    const scheduled = await deps.tasks.transition(pending, {
      to: 'SCHEDULED',
      by: 'test',
      patch: { workerId: worker.id },
    });
    const running = await deps.tasks.transition(
      await deps.tasks.transition(scheduled, { to: 'STARTING', by: 'w' }),
      { to: 'RUNNING', by: 'w', patch: { containerId: 'c1' } },
    );
    await deps.tasks.transition(running, { to: 'STOPPING', by: 'api', reason: 'stopped by user' });
    const bound = running.spec.stopTimeoutSeconds * 1000 + STUCK_BOUNDS.stoppingMarginMs;
    const report = await sweepIn(bound + 30_000);
    assert.equal(report.stuck, 1);
    const task = await deps.tasks.require(pending.id);
    assert.equal(task.state, 'STOPPED');
    assert.match(task.reason ?? '', /did not confirm the stop within \d+ s; stopped by force/);
  });
});
