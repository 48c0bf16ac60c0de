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
// Stops never wait behind starts: the loop keeps receiving while its runs wait for a slot
// (up to `maxHeld` messages in hand), handles every stop at once, and queues the runs here in
// the order they came, keeping them invisible in SQS (each visibility timeout is extended
// while it waits) so no copy is handed out meanwhile.
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
  queues: Pick<Queues, 'receive' | 'deleteBatch'> & Partial<Pick<Queues, 'changeVisibility'>>;
  queueUrl: string;
  signal: AbortSignal;
  handle: (message: ReceivedWorkerMessage) => Promise<string>;
  log: (line: string) => void;
  /** Run messages handled at once; more wait here, in order (stops never wait). */
  maxInFlight?: number;
  /** Messages in hand (handled or waiting) at most; polling pauses at this many (default 100). */
  maxHeld?: number;
  /** Called as each well-formed message is received, before it may wait for a slot. */
  onReceived?: (message: ReceivedWorkerMessage) => void;
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
export const DEFAULT_MAX_HELD = 100;
/** The worker queues' visibility timeout (aws/queues.ts); held messages are kept invisible. */
const VISIBILITY_SECONDS = 60;
/** A held message's visibility is extended once less than this is left of it. */
const EXTEND_WHEN_LEFT_MS = 30_000;
const EXTEND_CHECK_MS = 10_000;

/** A run message received and waiting for a slot. */
interface WaitingRun {
  message: Message;
  parsed: ReceivedWorkerMessage;
}

/** Receipt handles of the messages in hand, with when each becomes visible again. */
class HeldMessages {
  private readonly visibleAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: QueueLoopOptions) {}

  hold(handle: string | undefined): void {
    if (!handle || !this.options.queues.changeVisibility) return;
    this.visibleAt.set(handle, Date.now() + VISIBILITY_SECONDS * 1000);
    this.timer ??= setInterval(() => void this.extend(), EXTEND_CHECK_MS);
  }

  release(handle: string | undefined): void {
    if (handle) this.visibleAt.delete(handle);
    if (this.visibleAt.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Makes the waiting ones visible again at once (shutting down: another run may take them). */
  async giveBack(handles: string[]): Promise<void> {
    for (const handle of handles) this.release(handle);
    if (handles.length === 0 || !this.options.queues.changeVisibility) return;
    await this.options.queues
      .changeVisibility(this.options.queueUrl, handles, 0)
      .catch((error: Error) =>
        this.options.log(`giving back held messages failed: ${error.message}`),
      );
  }

  private async extend(): Promise<void> {
    const now = Date.now();
    const due = [...this.visibleAt].filter(([, at]) => at - now < EXTEND_WHEN_LEFT_MS);
    if (due.length === 0) return;
    const handles = due.map(([handle]) => handle);
    try {
      await this.options.queues.changeVisibility!(
        this.options.queueUrl,
        handles,
        VISIBILITY_SECONDS,
      );
      const until = now + VISIBILITY_SECONDS * 1000;
      for (const handle of handles)
        if (this.visibleAt.has(handle)) this.visibleAt.set(handle, until);
    } catch (error) {
      // At worst a copy is handed out later, and handled idempotently.
      this.options.log(`extending held messages failed: ${(error as Error).message}`);
    }
  }
}

/** Receipt handles waiting to be deleted together. */
class DeleteBatcher {
  private handles: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: QueueLoopOptions,
    private readonly delayMs: number,
    private readonly held: HeldMessages,
  ) {}

  add(handle: string): void {
    this.held.release(handle);
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
  // A run holds one of these while it waits for one of the runtime's start slots (the agent
  // passes twice those); the rest of a backlog waits in `waiting`, kept invisible in SQS.
  const maxRuns = options.maxInFlight ?? 16;
  const maxHeld = Math.max(options.maxHeld ?? DEFAULT_MAX_HELD, maxRuns);
  const handling = new Set<Promise<void>>();
  const waiting: WaitingRun[] = [];
  let runsHandled = 0;
  const held = new HeldMessages(options);
  const deletes = new DeleteBatcher(options, options.deleteDelayMs ?? 5_000, held);
  const windowMs = options.receiveWindowMs ?? DEFAULT_RECEIVE_WINDOW_MS;
  /** An empty queue seen while runs still waited here: reported once they no longer do. */
  let caughtUpPending: Date | undefined;

  const begin = (work: () => Promise<void>, isRun: boolean) => {
    if (isRun) runsHandled++;
    const running = work()
      .catch((error: Error) => log(`handling a message failed: ${error.message}`))
      .finally(() => {
        handling.delete(running);
        if (isRun) {
          runsHandled--;
          dispatch();
        }
      });
    handling.add(running);
  };
  const dispatch = () => {
    while (runsHandled < maxRuns && waiting.length > 0 && !signal.aborted) {
      const next = waiting.shift()!;
      begin(() => handleParsed(options, next.message, next.parsed, deletes, held), true);
    }
    if (waiting.length === 0 && caughtUpPending) {
      options.onCaughtUp?.(caughtUpPending);
      caughtUpPending = undefined;
    }
  };

  let failures = 0;
  while (!signal.aborted) {
    while (handling.size + waiting.length >= maxHeld) await Promise.race(handling);
    let messages: Message[];
    const max = Math.min(10, maxHeld - handling.size - waiting.length);
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
      const parsed = parse(options, message);
      if (typeof parsed === 'string') {
        begin(() => deadLetter(options, message, parsed, deletes), false);
        continue;
      }
      held.hold(message.ReceiptHandle);
      options.onReceived?.(parsed);
      if (parsed.kind === 'run') waiting.push({ message, parsed });
      else begin(() => handleParsed(options, message, parsed, deletes, held), false);
    }
    dispatch();
    if (messages.length < max) {
      if (waiting.length === 0) options.onCaughtUp?.(receiveStartedAt);
      else caughtUpPending = receiveStartedAt;
    }
    // Empty: the long poll found nothing, poll again. Full: more are likely waiting.
    if (messages.length > 0 && messages.length < max && windowMs > 0) {
      await sleep(windowMs, signal);
    }
  }
  await held.giveBack(waiting.splice(0).flatMap((w) => w.message.ReceiptHandle ?? []));
  await Promise.allSettled(handling);
  held.stop();
  await deletes.flush();
}

/** The message, parsed with the record it carries; why not, when malformed. */
function parse(options: QueueLoopOptions, message: Message): ReceivedWorkerMessage | string {
  let parsed: ReceivedWorkerMessage;
  try {
    parsed = parseWorkerMessage(message.Body ?? '');
  } catch (error) {
    if (!(error instanceof MalformedMessageError)) throw error;
    const body = (message.Body ?? '').slice(0, 200);
    options.log(`dead-lettering a malformed message (${error.message}): ${body}`);
    return error.message;
  }
  const record = recordFromAttribute(
    parsed,
    message.MessageAttributes?.[RECORD_ATTRIBUTE]?.StringValue,
  );
  return record ? { ...parsed, record } : parsed;
}

async function deadLetter(
  options: QueueLoopOptions,
  message: Message,
  reason: string,
  deletes: DeleteBatcher,
): Promise<void> {
  try {
    await options.deadLetter?.(message.Body ?? '', reason);
  } catch (sendError) {
    // Not deleted: after its redeliveries SQS's redrive policy moves it there instead.
    options.log(`dead-lettering failed, leaving it for redrive: ${(sendError as Error).message}`);
    return;
  }
  if (message.ReceiptHandle) deletes.add(message.ReceiptHandle);
}

async function handleParsed(
  options: QueueLoopOptions,
  message: Message,
  parsed: ReceivedWorkerMessage,
  deletes: DeleteBatcher,
  held: HeldMessages,
): Promise<void> {
  const { log } = options;
  try {
    const outcome = await options.handle(parsed);
    log(`${parsed.kind} ${parsed.taskId} attempt ${parsed.attempt}: ${outcome}`);
  } catch (error) {
    log(
      `${parsed.kind} ${parsed.taskId} attempt ${parsed.attempt} failed, ` +
        `left for redelivery: ${(error as Error).message}`,
    );
    held.release(message.ReceiptHandle);
    return;
  }
  if (message.ReceiptHandle) deletes.add(message.ReceiptHandle);
}
