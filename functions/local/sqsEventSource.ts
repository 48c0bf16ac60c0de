// Drives an SQS-triggered handler the way Lambda's event source mapping does: long-poll the
// queue, hand over batches of up to 10 records, delete those not reported as failures (in one
// DeleteMessageBatch, as Lambda's event source mapping does).
// Failed records become visible again after the queue's visibility timeout.

import type { Message } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { Queues } from '../../aws/queues.js';
import { lambdaContext } from './lambdaContext.js';

export type SqsHandler = (
  event: SQSEvent,
  context: ReturnType<typeof lambdaContext>,
) => Promise<SQSBatchResponse | undefined>;

function toRecord(message: Message, queueArn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: process.env.AWS_REGION ?? 'us-east-1',
  };
}

export interface EventSourceOptions {
  queues: Queues;
  queueUrl: string;
  handler: SqsHandler;
  functionName: string;
  signal: AbortSignal;
  log?: (line: string) => void;
  /**
   * Batches handled at once, as Lambda's event source mapping runs several pollers (five at
   * first): one slow batch does not hold back the messages behind it.
   */
  concurrency?: number;
}

/** Runs until `signal` aborts. */
export async function runSqsEventSource(options: EventSourceOptions): Promise<void> {
  const pollers = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () =>
    poll(options),
  );
  await Promise.all(pollers);
}

async function poll(options: EventSourceOptions): Promise<void> {
  const { queues, queueUrl, handler, signal, log } = options;
  const queueArn = `arn:aws:sqs:local:000000000000:${queueUrl.split('/').pop()}`;
  let backoffMs = 250;
  while (!signal.aborted) {
    try {
      const messages = await queues.receive(queueUrl, {
        max: 10,
        waitSeconds: 20,
        abortSignal: signal,
      });
      backoffMs = 250;
      if (messages.length === 0) continue;
      const event: SQSEvent = { Records: messages.map((m) => toRecord(m, queueArn)) };
      const response = await handler(event, lambdaContext(options.functionName));
      const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      await queues.deleteBatch(
        queueUrl,
        event.Records.filter((r) => !failed.has(r.messageId)).map((r) => r.receiptHandle),
      );
    } catch (error) {
      if (signal.aborted) break;
      log?.(`${options.functionName}: ${String(error)}; retrying in ${backoffMs} ms`);
      await new Promise((r) => setTimeout(r, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
  }
}
