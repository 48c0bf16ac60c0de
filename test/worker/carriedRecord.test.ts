// Run and stop messages that carry the record their sender wrote: the worker acts on it without
// reading the record, and a stale or foreign copy never makes it act against the record.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createAwsClients } from '../../aws/clients.js';
import { TaskStore } from '../../aws/taskStore.js';
import { startHarness, type WorkerHarness, waitFor } from './support.js';

describe('worker: messages carrying their record', { timeout: 120_000 }, () => {
  let h: WorkerHarness;
  /** Reads by the test itself go through their own client, so the worker's can be counted. */
  let observer: TaskStore;
  /** Task ids the worker's client read from the tasks table (GetItem), in order. */
  const workerReads: string[] = [];

  before(async () => {
    h = await startHarness('carried');
    observer = new TaskStore(createAwsClients().ddb, h.config);
    h.clients.ddb.middlewareStack.add(
      (next, context) => async (args) => {
        // The document client's Get reaches this step as GetItem, its key not yet marshalled.
        const input = args.input as { TableName?: string; Key?: { id?: string } };
        if (context.commandName === 'GetItemCommand' && input.TableName === h.config.tasksTable) {
          workerReads.push(String(input.Key?.id));
        }
        return next(args);
      },
      { step: 'initialize', name: 'testReadRecorder' },
    );
  });
  after(async () => {
    await h?.close();
  });

  const handled = async (kind: string, taskId: string): Promise<string> =>
    (await waitFor(
      async () => h.logs.find((l) => l.startsWith(`${kind} ${taskId} attempt 1:`)),
      (line) => line !== undefined,
      `the ${kind} message of ${taskId} handled`,
    )) as string;

  const untilState = (taskId: string, state: string) =>
    waitFor(
      () => observer.require(taskId),
      (t) => t.state === state,
      state,
    );

  it('runs and stops a task on the carried records without reading it', async () => {
    const scheduled = await h.scheduleTask();
    await h.queues.sendTaskToWorker(h.queueUrl, 'run', scheduled);
    const running = await untilState(scheduled.id, 'RUNNING');
    assert.equal((await h.containersOf(scheduled.id)).length, 1);

    const stopping = await observer.transition(running, { to: 'STOPPING', by: 'test' });
    await h.queues.sendTaskToWorker(h.queueUrl, 'stop', stopping);
    await untilState(scheduled.id, 'STOPPED');
    assert.equal((await h.containersOf(scheduled.id)).length, 0, 'its container is removed');
    assert.deepEqual(
      workerReads.filter((id) => id === scheduled.id),
      [],
      'neither message made the worker read the record',
    );
    assert.deepEqual(
      (await observer.events(scheduled.id)).map((e) => e.to),
      ['PENDING', 'SCHEDULED', 'STARTING', 'RUNNING', 'STOPPING', 'STOPPED'],
    );
  });

  it('starts nothing for a carried record the task has moved past', async () => {
    const scheduled = await h.scheduleTask();
    // The user stopped it before the worker got to the run message.
    await observer.transition(scheduled, { to: 'STOPPED', by: 'test' });
    await h.queues.sendTaskToWorker(h.queueUrl, 'run', scheduled);
    assert.match(await handled('run', scheduled.id), /obsolete$/);
    assert.equal((await h.containersOf(scheduled.id)).length, 0, 'no container was made');
    assert.equal((await observer.require(scheduled.id)).state, 'STOPPED');
    assert.ok(workerReads.includes(scheduled.id), 'the refused claim read the record');
  });

  it('ignores a carried record of another task and reads its own', async () => {
    const mine = await h.scheduleTask();
    const other = await h.scheduleTask({ command: ['sleep', '1'] });
    await h.queues.sendToWorker(h.queueUrl, { kind: 'run', taskId: mine.id, attempt: 1 }, other);
    const running = await untilState(mine.id, 'RUNNING');
    assert.deepEqual(running.spec.command, ['sleep', '300'], 'started from its own record');
    assert.ok(workerReads.includes(mine.id));
    assert.equal((await observer.require(other.id)).state, 'SCHEDULED', 'the other is untouched');
    assert.equal((await h.containersOf(other.id)).length, 0);
  });

  it('a stop arriving again after STOPPED is obsolete and changes nothing', async () => {
    const scheduled = await h.scheduleTask();
    await h.queues.sendTaskToWorker(h.queueUrl, 'run', scheduled);
    const running = await untilState(scheduled.id, 'RUNNING');
    // A stop that arrives after the task was already STOPPED (a duplicate, say).
    const stopping = await observer.transition(running, { to: 'STOPPING', by: 'test' });
    await h.queues.sendTaskToWorker(h.queueUrl, 'stop', stopping);
    await untilState(scheduled.id, 'STOPPED');
    const before = workerReads.length;
    await h.queues.sendTaskToWorker(h.queueUrl, 'stop', stopping);
    await waitFor(
      async () => h.logs.filter((l) => l.startsWith(`stop ${scheduled.id} attempt 1:`)).length,
      (n) => n === 2,
      'the duplicate stop handled',
    );
    assert.match(h.logs.filter((l) => l.startsWith(`stop ${scheduled.id}`)).at(-1)!, /obsolete$/);
    assert.ok(workerReads.length > before, 'the refused STOPPED write read the record');
    assert.equal((await observer.require(scheduled.id)).state, 'STOPPED');
  });
});
