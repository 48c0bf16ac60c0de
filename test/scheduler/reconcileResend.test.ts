// The reconciler re-sends run and stop messages that were lost. It sweeps tasks as briefs
// (no spec), so what it re-sends must be the whole record, read again, and only while the
// record still says what the brief did. And it reads only the SCHEDULED tasks that may need
// it: none of a backlog its worker is still working through.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  parseWorkerMessage,
  RECORD_ATTRIBUTE,
  recordFromAttribute,
  type WorkerMessage,
} from '../../core/messages.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import { reconcile } from '../../functions/reconciler/reconcile.js';
import type { Deps } from '../../functions/shared/deps.js';
import { metrics } from '../core/schedulerFixtures.js';
import { addPendingTask, addWorker, schedulerDeps } from './support.js';

describe('reconciler: lost run and stop messages', { timeout: 60_000 }, () => {
  let deps: Deps;
  let worker: WorkerRecord;

  before(async () => {
    deps = await schedulerDeps('resend');
    worker = await addWorker(deps, `resend-${Date.now().toString(36)}`, {
      // Room for a backlog of small tasks.
      cpuMillis: 64_000,
      memoryBytes: 64 * 1024 ** 3,
      diskBytes: 0,
    });
  });

  const schedule = async (): Promise<TaskRecord> => {
    const scheduled = await deps.tasks.transition(await addPendingTask(deps), {
      to: 'SCHEDULED',
      by: 'test',
      patch: { workerId: worker.id },
    });
    // Alive after the placement: a worker silent since then would be marked DOWN instead.
    await deps.workers.heartbeat(worker.id, metrics());
    return scheduled;
  };

  /** A heartbeat a second before `sweepAt`, saying the worker's queue was empty at `caughtUp`. */
  const beatBefore = (sweepAt: Date, caughtUp: number) =>
    deps.workers.heartbeat(
      worker.id,
      metrics(),
      new Date(sweepAt.getTime() - 1_000),
      3_000,
      new Date(caughtUp),
    );

  /** Every message waiting in the worker's queue, with the record it carries. */
  const drain = async () => {
    const got: { message: WorkerMessage; record?: TaskRecord }[] = [];
    for (;;) {
      const batch = await deps.queues.receive(worker.queueUrl, { waitSeconds: 0 });
      if (batch.length === 0) return got;
      for (const m of batch) {
        const message = parseWorkerMessage(m.Body ?? '');
        const record = recordFromAttribute(
          message,
          m.MessageAttributes?.[RECORD_ATTRIBUTE]?.StringValue,
        );
        got.push({ message, ...(record ? { record } : {}) });
        await deps.queues.delete(worker.queueUrl, m.ReceiptHandle!);
      }
    }
  };

  it('re-sends the run message of a task SCHEDULED too long, with the whole record', async () => {
    const task = await schedule();
    const later = new Date(Date.now() + deps.config.scheduledResendMs + 5_000);
    const report = await reconcile(deps, { now: later });
    assert.equal(report.runResent, 1);
    assert.equal(report.workersDown, 0);

    const sent = (await drain()).filter((m) => m.message.taskId === task.id);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0]!.message, { kind: 'run', taskId: task.id, attempt: 1 });
    assert.deepEqual(sent[0]!.record, await deps.tasks.require(task.id));
    assert.equal(sent[0]!.record?.spec.image, task.spec.image, 'the spec travels too');
  });

  it('sends no copy while the worker has a backlog, and one once it found its queue empty', async () => {
    const task = await schedule();
    await drain();
    const placedAt = Date.parse(task.scheduledAt!);
    const later = new Date(placedAt + deps.config.scheduledResendMs + 5_000);
    const copies = async () => (await drain()).filter((m) => m.message.taskId === task.id);
    // Its queue was last empty before the placement: the message is waiting in it.
    const beat = (caughtUp: number) =>
      deps.workers.heartbeat(worker.id, metrics(), new Date(), 3_000, new Date(caughtUp));
    await beat(placedAt - 1_000);
    await reconcile(deps, { now: later });
    assert.equal((await copies()).length, 0, 'a copy queued behind the original');
    // Found empty well after the placement and the task is still SCHEDULED: it was lost.
    await beat(placedAt + deps.config.scheduledResendMs);
    await reconcile(deps, { now: later });
    assert.equal((await copies()).length, 1);
  });

  it('reads none of a backlog its worker is still working through, and all of it once caught up', async () => {
    const backlog = new Set<string>();
    for (let i = 0; i < 25; i++) backlog.add((await schedule()).id);
    await drain();
    const ids = [...backlog];
    const placedAt = Math.max(
      ...(await Promise.all(ids.map((id) => deps.tasks.require(id)))).map((t) =>
        Date.parse(t.scheduledAt!),
      ),
    );
    const later = new Date(placedAt + deps.config.scheduledResendMs + 5_000);
    // The briefs of these tasks that the sweep's reads of the real store brought back.
    let seen = 0;
    const tasks = new Proxy(deps.tasks, {
      get(store, key, receiver) {
        if (key !== 'listBriefByState') return Reflect.get(store, key, receiver);
        return async (...args: Parameters<typeof store.listBriefByState>) => {
          const briefs = await store.listBriefByState(...args);
          seen += briefs.filter((b) => backlog.has(b.id)).length;
          return briefs;
        };
      },
    });
    const sweep = async () => {
      seen = 0;
      await reconcile({ ...deps, tasks }, { now: later });
      return seen;
    };
    // Beating all along: its last beat just before the sweep.
    const beat = (caughtUp: number) => beatBefore(later, caughtUp);
    await beat(placedAt - 60_000);
    await sweep(); // the periodic full read, if due, happens here
    assert.equal(await sweep(), 0, 'a worker behind its queue: its backlog is not read');
    await beat(placedAt + deps.config.scheduledResendMs);
    assert.equal(await sweep(), backlog.size, 'caught up: every task left SCHEDULED is read');
    assert.equal((await drain()).filter((m) => backlog.has(m.message.taskId)).length, 25);
  });

  it('re-sends the stop message of a task STOPPING too long once its worker caught up, with the whole record', async () => {
    let task = await schedule();
    for (const to of ['STARTING', 'RUNNING', 'STOPPING'] as const) {
      task = await deps.tasks.transition(task, { to, by: 'test' });
    }
    const stopMs = (task.spec.stopTimeoutSeconds ?? 10) * 1000;
    const stoppingAt = Date.parse(task.updatedAt);
    const later = new Date(stoppingAt + deps.config.scheduledResendMs + stopMs + 5_000);
    const beat = (caughtUp: number) => beatBefore(later, caughtUp);
    await drain();
    // Its queue not empty since the stop was asked for: the message is still ahead of it.
    await beat(stoppingAt - 1_000);
    assert.equal((await reconcile(deps, { now: later })).stopResent, 0);
    assert.equal((await drain()).length, 0);

    // Empty well after it, and the task still STOPPING: the message was lost.
    await beat(stoppingAt + deps.config.scheduledResendMs);
    const report = await reconcile(deps, { now: later });
    assert.equal(report.stopResent, 1);

    const sent = (await drain()).filter((m) => m.message.taskId === task.id);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.message.kind, 'stop');
    assert.deepEqual(sent[0]!.record, await deps.tasks.require(task.id));
  });
});
