// One bad item never blinds the reconciler: a worker queue deleted under a resend is counted
// and skipped while the same sweep still marks a silent worker DOWN, and a task whose worker
// record vanished is still released and rescheduled.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients } from '../../aws/clients.js';
import type { WorkerRecord } from '../../core/types.js';
import { reconcile } from '../../functions/reconciler/reconcile.js';
import type { Deps } from '../../functions/shared/deps.js';
import { metrics } from '../core/schedulerFixtures.js';
import { addPendingTask, addWorker, schedulerDeps } from './support.js';

const capacity = { cpuMillis: 8_000, memoryBytes: 8 * 1024 ** 3, diskBytes: 0 };

describe('reconciler: failures are isolated per item', { timeout: 60_000 }, () => {
  let deps: Deps;
  const { ddb, sqs } = createAwsClients();
  const suffix = Date.now().toString(36);
  // Sweeps run at instants past the (long) test TTL so silence counts; each later than the last.
  let clock = Date.now() + 700_000;
  const nextSweep = () => {
    clock += 120_000;
    return new Date(clock);
  };

  before(async () => {
    deps = await schedulerDeps('isolation');
  });

  const placeOn = async (worker: WorkerRecord, now?: Date) =>
    deps.tasks.transition(await addPendingTask(deps), {
      to: 'SCHEDULED',
      by: 'test',
      patch: { workerId: worker.id },
      ...(now ? { now } : {}),
    });

  it('a resend to a deleted queue is counted; a silent worker is still marked DOWN', async () => {
    const broken = await addWorker(deps, `broken-${suffix}`, capacity);
    const silent = await addWorker(deps, `silent-${suffix}`, capacity);
    const at = nextSweep();
    // Placed long enough before the sweep for a resend, not for its final bound (stuckTasks.ts).
    const task = await placeOn(
      broken,
      new Date(at.getTime() - deps.config.scheduledResendMs - 5_000),
    );
    await sqs.send(new DeleteQueueCommand({ QueueUrl: broken.queueUrl }));

    // `broken` is alive and caught up with its queue since the placement: the run is overdue.
    await deps.workers.heartbeat(
      broken.id,
      metrics(),
      new Date(at.getTime() - 1_000),
      3_000,
      new Date(at.getTime() - 2_000),
    );
    const report = await reconcile(deps, { now: at });

    assert.ok(report.failed >= 1, `the failed resend is counted: ${JSON.stringify(report)}`);
    assert.equal(report.runResent, 0);
    assert.equal((await deps.workers.get(silent.id))?.state, 'DOWN');
    assert.equal((await deps.workers.get(broken.id))?.state, 'READY');
    assert.equal((await deps.tasks.get(task.id))?.state, 'SCHEDULED');
  });

  it('a task whose worker record vanished is released and rescheduled', async () => {
    const gone = await addWorker(deps, `gone-${suffix}`, capacity);
    const scheduled = await placeOn(gone);
    const starting = await deps.tasks.transition(scheduled, { to: 'STARTING', by: 'test' });
    const running = await deps.tasks.transition(starting, { to: 'RUNNING', by: 'test' });
    await ddb.send(
      new DeleteCommand({ TableName: deps.config.workersTable, Key: { id: gone.id } }),
    );

    const report = await reconcile(deps, { now: nextSweep() });

    assert.equal(report.tasksLost, 1, JSON.stringify(report));
    const after = await deps.tasks.get(running.id);
    assert.ok(after, 'the task record is still there');
    assert.notEqual(after.workerId, gone.id, 'no longer held by the vanished worker');
    assert.ok(
      after.state === 'PENDING' || after.state === 'SCHEDULED',
      `rescheduled, not stuck: ${after.state}`,
    );
    assert.equal((await deps.workers.get(gone.id)) ?? 'absent', 'absent', 'no ghost worker item');
  });
});
