// The scheduler function: SQS batch of schedule nudges -> placements, with partial batch
// failures so one bad record is retried (and finally dead-lettered) alone. The same queue
// carries the service controller's nudges (`{kind: 'service', name}`), run here too.
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { MalformedMessageError, parseSchedulingMessage } from '../../core/messages.js';
import type { RoundRobinCursor } from '../../core/scheduler/index.js';
import { runServiceController } from '../services/controller.js';
import { getDeps } from '../shared/deps.js';
import type { WorkerSnapshot } from '../shared/workerSnapshot.js';
import { workerSnapshot } from '../shared/workerSnapshot.js';
import { placePendingTask } from './placePendingTask.js';
import { schedulerPlugins } from './plugins.js';

// Survives warm invocations, like the book's in-memory LastWorker.
const roundRobinCursor: RoundRobinCursor = {};

async function scheduleBatch(event: SQSEvent) {
  const deps = getDeps();
  const snapshot: WorkerSnapshot = await workerSnapshot(deps);
  const results: PromiseSettledResult<unknown>[] = [];
  // One record at a time: each placement sees the reservations made before it.
  for (const record of event.Records) {
    try {
      const message = parseSchedulingMessage(record.body);
      results.push({
        status: 'fulfilled',
        value:
          message.kind === 'service'
            ? await runServiceController(deps, message.name)
            : await placePendingTask(deps, message, snapshot, roundRobinCursor),
      });
    } catch (reason) {
      results.push(
        reason instanceof MalformedMessageError
          ? await deadLetter(deps, record, reason)
          : { status: 'rejected', reason },
      );
    }
  }
  return results;
}

/**
 * Retrying cannot fix a malformed message: it goes straight to the DLQ and counts as
 * handled. Should that send fail, the record fails and the redrive policy moves it later.
 */
async function deadLetter(
  deps: ReturnType<typeof getDeps>,
  record: SQSRecord,
  reason: MalformedMessageError,
): Promise<PromiseSettledResult<unknown>> {
  console.error(`scheduler: message ${record.messageId} dead-lettered: ${reason.message}`);
  try {
    await deps.queues.sendToDeadLetter(record.body, reason.message);
    return { status: 'fulfilled', value: undefined };
  } catch (error) {
    return { status: 'rejected', reason: error };
  }
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(schedulerPlugins())
  .use(
    sqsPartialBatchFailure({
      logger: (reason: unknown, record: { messageId: string }) =>
        console.error(`scheduler: message ${record.messageId} failed: ${String(reason)}`),
    }),
  )
  .handler(scheduleBatch as never);
