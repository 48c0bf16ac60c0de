// Long-polls this worker's queue and hands each message to its handler, concurrently. A
// message is deleted once handled or found obsolete, and left for redelivery (after its
// visibility timeout) when handling failed unexpectedly. A malformed message goes to the
// dead-letter queue (when the control plane named one) and is deleted: it never crashes the loop.
import type { Message } from '@aws-sdk/client-sqs';
import type { Queues } from '../aws/queues.js';
import { MalformedMessageError, parseWorkerMessage, type WorkerMessage } from '../core/messages.js';
import { backoffDelay, sleep } from './timing.js';

export interface QueueLoopOptions {
  queues: Pick<Queues, 'receive' | 'delete'>;
  queueUrl: string;
  signal: AbortSignal;
  handle: (message: WorkerMessage) => Promise<string>;
  log: (line: string) => void;
  /** Messages handled at once; polling pauses while this many are in flight. */
  maxInFlight?: number;
  waitSeconds?: number;
  /** Keeps a malformed message, with the reason, in the workers' dead-letter queue. */
  deadLetter?: (body: string, reason: string) => Promise<void>;
}

/** Polls until the signal aborts, then waits for the messages still being handled. */
export async function runQueueLoop(options: QueueLoopOptions): Promise<void> {
  const { queues, queueUrl, signal, log } = options;
  const maxInFlight = options.maxInFlight ?? 32;
  const inFlight = new Set<Promise<void>>();
  let failures = 0;
  while (!signal.aborted) {
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    let messages: Message[];
    try {
      messages = await queues.receive(queueUrl, {
        max: Math.min(10, maxInFlight - inFlight.size),
        waitSeconds: options.waitSeconds ?? 20,
        abortSignal: signal,
      });
      if (failures > 0) log(`receiving from the worker queue works again`);
      failures = 0;
    } catch (error) {
      if (signal.aborted) break;
      failures++;
      // One line per outage, not one per try.
      if (failures === 1) {
        log(`receiving from the worker queue failed, retrying: ${(error as Error).message}`);
      }
      await sleep(backoffDelay(failures, 500, 15_000), signal);
      continue;
    }
    for (const message of messages) {
      const work = handleMessage(options, message)
        .catch((error: Error) => log(`handling a message failed: ${error.message}`))
        .finally(() => inFlight.delete(work));
      inFlight.add(work);
    }
  }
  await Promise.allSettled(inFlight);
}

async function handleMessage(options: QueueLoopOptions, message: Message): Promise<void> {
  const { log } = options;
  const body = message.Body ?? '';
  let parsed: WorkerMessage;
  try {
    parsed = parseWorkerMessage(body);
  } catch (error) {
    if (!(error instanceof MalformedMessageError)) throw error;
    log(`dead-lettering a malformed message (${error.message}): ${body.slice(0, 200)}`);
    try {
      await options.deadLetter?.(body, error.message);
    } catch (sendError) {
      // Not deleted: after its redeliveries SQS's redrive policy moves it there instead.
      log(`dead-lettering failed, leaving it for redrive: ${(sendError as Error).message}`);
      return;
    }
    await deleteMessage(options, message);
    return;
  }
  try {
    const outcome = await options.handle(parsed);
    log(`${parsed.kind} ${parsed.taskId} attempt ${parsed.attempt}: ${outcome}`);
  } catch (error) {
    log(
      `${parsed.kind} ${parsed.taskId} attempt ${parsed.attempt} failed, ` +
        `left for redelivery: ${(error as Error).message}`,
    );
    return;
  }
  await deleteMessage(options, message);
}

async function deleteMessage(options: QueueLoopOptions, message: Message): Promise<void> {
  if (!message.ReceiptHandle) return;
  try {
    await options.queues.delete(options.queueUrl, message.ReceiptHandle);
  } catch (error) {
    // Redelivery is harmless: every handler is idempotent.
    options.log(`deleting a message failed: ${(error as Error).message}`);
  }
}
