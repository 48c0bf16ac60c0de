// SQS: the scheduling queue (nudges to place a task) and one queue per worker (run/stop).
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  DeleteQueueCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import {
  MAX_RECORD_ATTRIBUTE_BYTES,
  RECORD_ATTRIBUTE,
  type SchedulingMessage,
  type WorkerMessage,
} from '../core/messages.js';
import type { TaskRecord } from '../core/types.js';
import type { ControlPlaneConfig } from './config.js';

/**
 * Every queue Cube creates at run time is encrypted at rest with SQS-owned keys (SSE-SQS),
 * said explicitly rather than left to the account's default. No KMS key, so no IAM grant.
 */
export const QUEUE_ENCRYPTION = { SqsManagedSseEnabled: 'true' } as const;

/** Worker queues hold a run message for a while: a worker might be restarting. */
const WORKER_QUEUE_ATTRIBUTES = {
  VisibilityTimeout: '60',
  MessageRetentionPeriod: '86400',
  ReceiveMessageWaitTimeSeconds: '20',
  ...QUEUE_ENCRYPTION,
};

/** CreateQueue's answer when the name exists with other attributes (SDK name, then wire name). */
const isQueueNameTaken = (error: unknown) =>
  ['QueueNameExists', 'QueueAlreadyExists', 'AWS.SimpleQueueService.QueueNameExists'].includes(
    (error as Error).name,
  );

/** Deliveries of one worker message before it is dead-lettered. */
export const WORKER_MAX_RECEIVES = 5;

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` (or an emulator's) -> the queue ARN. */
export function queueArnFromUrl(
  url: string,
  region = process.env.AWS_REGION ?? 'us-east-1',
): string {
  const [account, name] = new URL(url).pathname.split('/').filter(Boolean).slice(-2);
  const hostRegion = /sqs\.([a-z0-9-]+)\.amazonaws/.exec(url)?.[1];
  return `arn:aws:sqs:${hostRegion ?? region}:${account}:${name}`;
}

export class Queues {
  private workerDlqUrl: string | undefined;

  private schedulingUrl: string | undefined;
  private deadLetterUrl: string | undefined;

  constructor(
    private readonly sqs: SQSClient,
    private readonly config: Pick<
      ControlPlaneConfig,
      'schedulingQueueName' | 'schedulingQueueUrl' | 'workerQueuePrefix'
    > &
      Partial<Pick<ControlPlaneConfig, 'schedulingDlqUrl'>>,
  ) {
    this.schedulingUrl = config.schedulingQueueUrl;
    this.deadLetterUrl = config.schedulingDlqUrl;
  }

  /** The scheduling queue's dead-letter queue (`<scheduling queue>-dlq` unless configured). */
  async schedulingDeadLetterUrl(): Promise<string> {
    if (!this.deadLetterUrl) {
      const out = await this.sqs.send(
        new GetQueueUrlCommand({ QueueName: `${this.config.schedulingQueueName}-dlq` }),
      );
      this.deadLetterUrl = out.QueueUrl!;
    }
    return this.deadLetterUrl;
  }

  /**
   * Puts a message that can never be handled (malformed, say) straight into a dead-letter
   * queue (the scheduling one unless `queueUrl` names another, e.g. the workers'), with the
   * reason as an attribute, instead of letting it be received and failed again until the
   * redrive policy moves it.
   */
  async sendToDeadLetter(body: string, reason: string, queueUrl?: string): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl ?? (await this.schedulingDeadLetterUrl()),
        // An empty body cannot be sent; a placeholder keeps the evidence that one arrived.
        MessageBody: body.length > 0 ? body : '(empty message body)',
        // Attributes count towards SQS's 256 KiB limit: a body near it goes without one.
        ...(Buffer.byteLength(body) < 250 * 1024
          ? {
              MessageAttributes: {
                'cube-dead-letter-reason': {
                  DataType: 'String',
                  StringValue: reason.slice(0, 1024),
                },
              },
            }
          : {}),
      }),
    );
  }

  async schedulingQueueUrl(): Promise<string> {
    if (!this.schedulingUrl) {
      const out = await this.sqs.send(
        new GetQueueUrlCommand({ QueueName: this.config.schedulingQueueName }),
      );
      this.schedulingUrl = out.QueueUrl!;
    }
    return this.schedulingUrl;
  }

  async sendSchedule(message: SchedulingMessage, delaySeconds = 0): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: await this.schedulingQueueUrl(),
        MessageBody: JSON.stringify(message),
        ...(delaySeconds > 0 ? { DelaySeconds: Math.min(900, Math.ceil(delaySeconds)) } : {}),
      }),
    );
  }

  async sendToWorker(queueUrl: string, message: WorkerMessage, record?: TaskRecord): Promise<void> {
    const recordJson = record ? JSON.stringify(record) : undefined;
    const attach =
      recordJson !== undefined && Buffer.byteLength(recordJson) <= MAX_RECORD_ATTRIBUTE_BYTES;
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        ...(attach
          ? {
              MessageAttributes: {
                [RECORD_ATTRIBUTE]: { DataType: 'String', StringValue: recordJson },
              },
            }
          : {}),
      }),
    );
  }

  /**
   * A run or stop nudge for the task's current attempt, carrying the record the caller has
   * just written or read (the worker claims with it instead of reading it again).
   */
  sendTaskToWorker(queueUrl: string, kind: WorkerMessage['kind'], task: TaskRecord) {
    return this.sendToWorker(queueUrl, { kind, taskId: task.id, attempt: task.attempt }, task);
  }

  workerQueueName(workerId: string): string {
    return `${this.config.workerQueuePrefix}${workerId}`;
  }

  /**
   * A worker's queue URL without reading its record: the scheduling queue's URL with the
   * worker queue's name (same account and region, as the stack and `cube up` create them).
   */
  async workerQueueUrl(workerId: string): Promise<string> {
    const url = new URL(await this.schedulingQueueUrl());
    url.pathname = url.pathname.replace(/[^/]+$/, this.workerQueueName(workerId));
    return url.toString();
  }

  /**
   * Creates (or finds: CreateQueue is idempotent for equal attributes) a worker's queue,
   * whose poison messages go to the workers' shared dead-letter queue. A queue made earlier
   * with other attributes (encryption turned off, an older release's settings) is brought to
   * these ones instead of refusing the worker.
   */
  async ensureWorkerQueue(workerId: string): Promise<string> {
    const deadLetterUrl = await this.workerDeadLetterQueueUrl();
    const attributes = {
      ...WORKER_QUEUE_ATTRIBUTES,
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: queueArnFromUrl(deadLetterUrl),
        maxReceiveCount: WORKER_MAX_RECEIVES,
      }),
    };
    return this.ensureQueueUnderWorkerPrefix(workerId, attributes);
  }

  /** CreateQueue; when the name exists with other attributes, SetQueueAttributes to these. */
  private async ensureQueueUnderWorkerPrefix(
    suffix: string,
    attributes: Record<string, string>,
  ): Promise<string> {
    try {
      const out = await this.sqs.send(
        new CreateQueueCommand({ QueueName: this.workerQueueName(suffix), Attributes: attributes }),
      );
      return out.QueueUrl!;
    } catch (error) {
      if (!isQueueNameTaken(error)) throw error;
      const queueUrl = await this.workerQueueUrl(suffix);
      await this.sqs.send(
        new SetQueueAttributesCommand({ QueueUrl: queueUrl, Attributes: attributes }),
      );
      return queueUrl;
    }
  }

  /** Deletes a removed worker's queue; one already gone is no error. */
  async deleteWorkerQueue(queueUrl: string): Promise<void> {
    try {
      await this.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    } catch (error) {
      const name = (error as Error).name;
      if (name !== 'QueueDoesNotExist' && name !== 'AWS.SimpleQueueService.NonExistentQueue') {
        throw error;
      }
    }
  }

  /** `<prefix>-worker-dlq`: under the worker queue prefix, so the same grants cover it. */
  async workerDeadLetterQueueUrl(): Promise<string> {
    this.workerDlqUrl ??= await this.ensureQueueUnderWorkerPrefix('dlq', {
      MessageRetentionPeriod: '1209600',
      ...QUEUE_ENCRYPTION,
    });
    return this.workerDlqUrl;
  }

  async receive(
    queueUrl: string,
    options: { max?: number; waitSeconds?: number; abortSignal?: AbortSignal } = {},
  ): Promise<Message[]> {
    const out = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: options.max ?? 10,
        WaitTimeSeconds: options.waitSeconds ?? 20,
        MessageSystemAttributeNames: ['ApproximateReceiveCount', 'SentTimestamp'],
        MessageAttributeNames: [RECORD_ATTRIBUTE],
      }),
      options.abortSignal ? { abortSignal: options.abortSignal } : {},
    );
    return out.Messages ?? [];
  }

  /** Deletes up to 10 received messages in one request (one request per ten, not per one). */
  async deleteBatch(queueUrl: string, receiptHandles: string[]): Promise<void> {
    for (let i = 0; i < receiptHandles.length; i += 10) {
      const chunk = receiptHandles.slice(i, i + 10);
      if (chunk.length === 1) {
        await this.delete(queueUrl, chunk[0]!);
        continue;
      }
      const out = await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((handle, n) => ({ Id: String(n), ReceiptHandle: handle })),
        }),
      );
      if (out.Failed?.length) {
        throw new Error(`deleting ${out.Failed.length} messages failed: ${out.Failed[0]?.Message}`);
      }
    }
  }

  /** Makes held messages invisible for `seconds` from now (0: visible again at once). */
  async changeVisibility(queueUrl: string, receiptHandles: string[], seconds: number) {
    for (let i = 0; i < receiptHandles.length; i += 10) {
      const chunk = receiptHandles.slice(i, i + 10);
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((handle, n) => ({
            Id: String(n),
            ReceiptHandle: handle,
            VisibilityTimeout: seconds,
          })),
        }),
      );
    }
  }

  async delete(queueUrl: string, receiptHandle: string): Promise<void> {
    await this.sqs.send(
      new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }),
    );
  }
}
