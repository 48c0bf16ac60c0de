// Long-polls this worker's queue and hands each message to its handler, concurrently. A
// message is deleted once handled or found obsolete, and left for redelivery (after its
// visibility timeout) when handling failed unexpectedly. A malformed message goes to the
// dead-letter queue (when the control plane named one) and is deleted: it never crashes the loop.
// Deletes are gathered for up to `deleteDelayMs` (5 s) and sent ten to a request (bench:cost: a
// burst of stops cost one DeleteMessage each); the queue's visibility timeout (60 s) leaves
// ample room, and a message deleted late is at worst handled again, idempotently.
// Receives are gathered the same way: after a receive that brought some messages but not a
// full batch, the next waits `receiveWindowMs` (250 ms), so a burst arrives several to a
// request instead of one (Lambda's SQS batching window makes the same trade). An idle worker
// is long-polling when a message comes and gets it at once; only the rest of a burst waits.
import type { Message } from '@aws-sdk/client-sqs';
import type { Queues } from '../../aws/queues.js';
import {
  MalformedMessageError,
  parseWorkerMessage,
  RECORD_ATTRIBUTE,
  type ReceivedWorkerMessage,
  recordFromAttribute,
} from '../../core/messages.js';
import { backoffDelay, sleep } from '../timing.js';

export interface QueueLoopOptions {
  queues: Pick<Queues, 'receive' | 'deleteBatch'>;
  queueUrl: string;
  signal: AbortSignal;
  handle: (message: ReceivedWorkerMessage) => Promise<string>;
  log: (line: string) => void;
  /** Messages handled at once; polling pauses while this many are in flight. */
  maxInFlight?: number;
  waitSeconds?: number;
  /** Keeps a malformed message, with the reason, in the workers' dead-letter queue. */
  deadLetter?: (body: string, reason: string) => Promise<void>;
  /** How long a handled message may wait to be deleted with others (default 5 s). */
  deleteDelayMs?: number;
  /** Pause after a partial batch before receiving again (default 250 ms; 0 = none). */
  receiveWindowMs?: number;
  /**
   * Called with the start of each receive that brought fewer messages than asked: the queue
   * was empty then, so every message sent before that moment has reached this worker.
   */
  onCaughtUp?: (receiveStartedAt: Date) => void;
}

export const DEFAULT_RECEIVE_WINDOW_MS = 250;

/** Receipt handles waiting to be deleted together. */
class DeleteBatcher {
  private handles: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: QueueLoopOptions,
    private readonly delayMs: number,
  ) {}

  add(handle: string): void {
    this.handles.push(handle);
    if (this.handles.length >= 10) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.delayMs);
  }

  /** Sends what is waiting; resolves when every delete sent so far has finished. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const handles = this.handles;
    this.handles = [];
    if (handles.length > 0) {
      const { queues, queueUrl, log } = this.options;
      this.flushing = this.flushing.then(() =>
        queues.deleteBatch(queueUrl, handles).catch((error: Error) => {
          // Redelivery is harmless: every handler is idempotent.
          log(`deleting ${handles.length} message(s) failed: ${error.message}`);
        }),
      );
    }
    return this.flushing;
  }
}

/** Polls until the signal aborts, then waits for the messages still being handled. */
export async function runQueueLoop(options: QueueLoopOptions): Promise<void> {
  const { queues, queueUrl, signal, log } = options;
  // A backlog waits in the queue, not in here, where each message's visibility timeout (60 s)
  // runs while it waits for one of the runtime's start slots (the agent passes twice those).
  const maxInFlight = options.maxInFlight ?? 16;
  const inFlight = new Set<Promise<void>>();
  const deletes = new DeleteBatcher(options, options.deleteDelayMs ?? 5_000);
  const windowMs = options.receiveWindowMs ?? DEFAULT_RECEIVE_WINDOW_MS;
  let failures = 0;
  while (!signal.aborted) {
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    let messages: Message[];
    const max = Math.min(10, maxInFlight - inFlight.size);
    const receiveStartedAt = new Date();
    try {
      messages = await queues.receive(queueUrl, {
        max,
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
      const work = handleMessage(options, message, deletes)
        .catch((error: Error) => log(`handling a message failed: ${error.message}`))
        .finally(() => inFlight.delete(work));
      inFlight.add(work);
    }
    if (messages.length < max) options.onCaughtUp?.(receiveStartedAt);
    // Empty: the long poll found nothing, poll again. Full: more are likely waiting.
    if (messages.length > 0 && messages.length < max && windowMs > 0) {
      await sleep(windowMs, signal);
    }
  }
  await Promise.allSettled(inFlight);
  await deletes.flush();
}

async function handleMessage(
  options: QueueLoopOptions,
  message: Message,
  deletes: DeleteBatcher,
): Promise<void> {
  const { log } = options;
  const body = message.Body ?? '';
  let parsed: ReceivedWorkerMessage;
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
    if (message.ReceiptHandle) deletes.add(message.ReceiptHandle);
    return;
  }
  const record = recordFromAttribute(
    parsed,
    message.MessageAttributes?.[RECORD_ATTRIBUTE]?.StringValue,
  );
  if (record) parsed = { ...parsed, record };
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
  if (message.ReceiptHandle) deletes.add(message.ReceiptHandle);
}
