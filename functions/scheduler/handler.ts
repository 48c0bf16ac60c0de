// The scheduler function: SQS batch of schedule nudges -> placements, with partial batch
// failures so one bad record is retried (and finally dead-lettered) alone.
import middy from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { parseScheduleMessage } from '../../core/messages.js';
import type { RoundRobinCursor } from '../../core/scheduler/index.js';
import { getDeps } from '../shared/deps.js';
import { placePendingTask, type WorkerSnapshot } from './placePendingTask.js';

// Survives warm invocations, like the book's in-memory LastWorker.
const roundRobinCursor: RoundRobinCursor = {};

async function scheduleBatch(event: SQSEvent) {
  const deps = getDeps();
  const snapshot: WorkerSnapshot = { workers: await deps.workers.list() };
  const results: PromiseSettledResult<unknown>[] = [];
  // One record at a time: each placement sees the reservations made before it.
  for (const record of event.Records) {
    try {
      const message = parseScheduleMessage(record.body);
      results.push({
        status: 'fulfilled',
        value: await placePendingTask(deps, message, snapshot, roundRobinCursor),
      });
    } catch (reason) {
      results.push({ status: 'rejected', reason });
    }
  }
  return results;
}

export const handler = middy<SQSEvent, SQSBatchResponse>()
  .use(
    sqsPartialBatchFailure({
      logger: (reason: unknown, record: { messageId: string }) =>
        console.error(`scheduler: message ${record.messageId} failed: ${String(reason)}`),
    }),
  )
  .handler(scheduleBatch as never);
