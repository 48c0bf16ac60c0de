// Puts one container's batches into its stream (one stream per task attempt), creating the
// stream on first use. The log group belongs to the control plane (the CDK stack, `cube up`):
// a worker may create streams and put events in it, nothing more.
import {
  type CloudWatchLogsClient,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  ResourceAlreadyExistsException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import type { BufferedEvent } from '../../core/logs/logBuffer.js';

export interface PutResult {
  /** Events CloudWatch refused (older than 14 days, more than 2 h ahead). */
  rejected: number;
}

export class CloudWatchSink {
  private created = false;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly group: string,
    private readonly stream: string,
  ) {}

  async put(batch: readonly BufferedEvent[]): Promise<PutResult> {
    if (!this.created) await this.createStream();
    const send = () =>
      this.client.send(
        new PutLogEventsCommand({
          logGroupName: this.group,
          logStreamName: this.stream,
          logEvents: batch.map((e) => ({ timestamp: e.timestamp, message: e.message })),
        }),
      );
    let out: Awaited<ReturnType<typeof send>>;
    try {
      out = await send();
    } catch (error) {
      // The stream was deleted meanwhile (by hand, or a retention sweep): make it again.
      if (!(error instanceof ResourceNotFoundException)) throw error;
      await this.createStream();
      out = await send();
    }
    const info = out.rejectedLogEventsInfo;
    const rejected =
      (info?.tooOldLogEventEndIndex !== undefined ? info.tooOldLogEventEndIndex + 1 : 0) +
      (info?.tooNewLogEventStartIndex !== undefined
        ? batch.length - info.tooNewLogEventStartIndex
        : 0);
    return { rejected };
  }

  private async createStream(): Promise<void> {
    try {
      await this.client.send(
        new CreateLogStreamCommand({ logGroupName: this.group, logStreamName: this.stream }),
      );
    } catch (error) {
      if (!(error instanceof ResourceAlreadyExistsException)) throw error;
    }
    this.created = true;
  }
}
