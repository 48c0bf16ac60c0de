import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../aws/clients.js';
import { runQueueLoop } from '../../worker/control/queueLoop.js';
import { startHarness, stateOf, type WorkerHarness, waitFor } from './support.js';

describe('worker: queue loop', { timeout: 90_000 }, () => {
  let h: WorkerHarness;
  before(async () => {
    h = await startHarness('queue');
  });
  after(async () => {
    await h?.close();
  });

  it('dead-letters malformed messages and still handles the next good one', {
    timeout: 30_000,
  }, async () => {
    await h.send('this is not json');
    await h.send(JSON.stringify({ kind: 'run', taskId: 'x' }));
    await h.send(JSON.stringify({ kind: 'launch', taskId: 'x', attempt: 1 }));
    const task = await h.scheduleTask();
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });

    await waitFor(stateOf(h, task.id), (s) => s === 'RUNNING', 'RUNNING');
    assert.equal((await h.containersOf(task.id)).length, 1);
    const malformed = await waitFor(
      async () => h.logs.filter((l) => l.startsWith('dead-lettering a malformed message')).length,
      (n) => n === 3,
      'three malformed messages dead-lettered',
    );
    assert.equal(malformed, 3);
    const dlq = await createAwsClients().sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: await h.queues.workerDeadLetterQueueUrl(),
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    );
    assert.equal(Number(dlq.Attributes?.ApproximateNumberOfMessages), 3, 'all three in the DLQ');

    // Nothing is left in the queue, visible or in flight.
    const sqs = createAwsClients().sqs;
    await waitFor(
      async () => {
        const out = await sqs.send(
          new GetQueueAttributesCommand({
            QueueUrl: h.queueUrl,
            AttributeNames: [
              'ApproximateNumberOfMessages',
              'ApproximateNumberOfMessagesNotVisible',
            ],
          }),
        );
        return (
          Number(out.Attributes?.ApproximateNumberOfMessages) +
          Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible)
        );
      },
      (n) => n === 0,
      'an empty queue',
    );
  });

  it('gathers the rest of a burst into one receive after a partial batch', {
    timeout: 30_000,
  }, async () => {
    // A queue of its own, so the harness's agent does not take these messages.
    const queueUrl = await h.queues.ensureWorkerQueue(`${h.workerId}-gather`);
    const batches: number[] = [];
    const handled: string[] = [];
    const abort = new AbortController();
    const loop = runQueueLoop({
      queues: {
        receive: async (url, options) => {
          const messages = await h.queues.receive(url, options);
          if (messages.length > 0) batches.push(messages.length);
          return messages;
        },
        deleteBatch: (url, handles) => h.queues.deleteBatch(url, handles),
      },
      queueUrl,
      signal: abort.signal,
      handle: async (message) => {
        handled.push(message.taskId);
        return 'handled';
      },
      log: () => {},
      waitSeconds: 1,
      // Long enough that the three sends below surely land inside it.
      receiveWindowMs: 3_000,
    });
    const send = (taskId: string) =>
      h.queues.sendToWorker(queueUrl, { kind: 'run', taskId, attempt: 1 });
    try {
      await send('first');
      await waitFor(
        async () => handled.length,
        (n) => n === 1,
        'the first message handled',
      );
      // The loop now waits out its window: these three arrive while it does.
      await send('b');
      await send('c');
      await send('d');
      await waitFor(
        async () => handled.length,
        (n) => n === 4,
        'all four handled',
      );
    } finally {
      abort.abort();
      await loop;
    }
    assert.deepEqual(batches, [1, 3]);
    assert.deepEqual(handled.slice(1).sort(), ['b', 'c', 'd']);
  });

  it('says when it found its queue empty, and not while a backlog is left', {
    timeout: 30_000,
  }, async () => {
    const queueUrl = await h.queues.ensureWorkerQueue(`${h.workerId}-caught-up`);
    for (const taskId of ['a', 'b', 'c', 'd', 'e', 'f']) {
      await h.queues.sendToWorker(queueUrl, { kind: 'run', taskId, attempt: 1 });
    }
    const sentBy = Date.now();
    const received: string[] = [];
    const caughtUp: { at: Date; received: number }[] = [];
    const abort = new AbortController();
    const loop = runQueueLoop({
      queues: h.queues,
      queueUrl,
      signal: abort.signal,
      handle: async (message) => {
        received.push(message.taskId);
        return 'handled';
      },
      log: () => {},
      waitSeconds: 1,
      receiveWindowMs: 0,
      // Four to a receive: the first brings a full batch of the six, which proves nothing.
      maxInFlight: 4,
      onCaughtUp: (at) => caughtUp.push({ at, received: received.length }),
    });
    try {
      await waitFor(
        async () => caughtUp.length,
        (n) => n >= 1,
        'the queue found empty',
      );
    } finally {
      abort.abort();
      await loop;
    }
    assert.equal(caughtUp[0]!.received, 6, 'not caught up before every message came');
    assert.ok(caughtUp[0]!.at.getTime() >= sentBy, 'the time is that of a receive after the sends');
  });

  it('stops polling promptly when stopped', { timeout: 30_000 }, async () => {
    const started = Date.now();
    await h.agent.stop();
    assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`);
  });
});
