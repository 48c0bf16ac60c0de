import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../aws/clients.js';
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

  it('stops polling promptly when stopped', { timeout: 30_000 }, async () => {
    const started = Date.now();
    await h.agent.stop();
    assert.ok(Date.now() - started < 5_000, `stop took ${Date.now() - started} ms`);
  });
});
