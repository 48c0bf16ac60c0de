// Reads container output back from the control plane's log group: one attempt's stream
// page by page (GetLogEvents: forward from a token or a time, or its last N events), or
// several streams interleaved by time (FilterLogEvents, for a service's replicas).
import {
  type CloudWatchLogsClient,
  FilterLogEventsCommand,
  GetLogEventsCommand,
  InvalidParameterException,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { foreignToken } from './paging.js';

/** CloudWatch refusing a token it did not give (or gave for another stream): a 400. */
const refusedToken = (error: unknown, token: string | undefined) =>
  token !== undefined && error instanceof InvalidParameterException;

export interface StoredLogEvent {
  /** Milliseconds since the epoch, as the engine stamped the line. */
  timestamp: number;
  message: string;
  /** The stream it came from, and CloudWatch's id of the event (several-stream reads only). */
  stream?: string;
  id?: string;
}

export interface LogPage {
  events: StoredLogEvent[];
  /**
   * Where the next read continues. A page that comes back with the token it was asked with
   * is the end of what is there now (new lines may come later: ask again).
   */
  nextToken?: string;
}

export interface ReadOptions {
  /** Only events at or after this time (ms). */
  startTime?: number;
  /** The last N events (ignored with a token). */
  tail?: number;
  nextToken?: string;
  /** Events per page (CloudWatch caps a page at 10,000 events and 1 MB). */
  limit?: number;
}

export const DEFAULT_PAGE_EVENTS = 1000;

export class LogStore {
  constructor(
    private readonly client: CloudWatchLogsClient,
    readonly group: string,
  ) {}

  async read(stream: string, options: ReadOptions = {}): Promise<LogPage> {
    const fromToken = options.nextToken !== undefined;
    const tail = !fromToken && options.tail !== undefined;
    try {
      const out = await this.client.send(
        new GetLogEventsCommand({
          logGroupName: this.group,
          logStreamName: stream,
          startFromHead: !tail,
          limit: tail ? options.tail : (options.limit ?? DEFAULT_PAGE_EVENTS),
          ...(options.startTime !== undefined ? { startTime: options.startTime } : {}),
          ...(fromToken ? { nextToken: options.nextToken } : {}),
        }),
      );
      const events = (out.events ?? []).map((e) => ({
        timestamp: e.timestamp ?? 0,
        message: e.message ?? '',
      }));
      return { events, ...(out.nextForwardToken ? { nextToken: out.nextForwardToken } : {}) };
    } catch (error) {
      // No stream yet: the container has printed nothing shipped so far.
      if (error instanceof ResourceNotFoundException) {
        return { events: [], ...(fromToken ? { nextToken: options.nextToken } : {}) };
      }
      if (refusedToken(error, options.nextToken)) throw foreignToken();
      throw error;
    }
  }

  /** Every event of one stream from the start (tests, small streams). */
  async readAll(stream: string): Promise<StoredLogEvent[]> {
    const all: StoredLogEvent[] = [];
    let token: string | undefined;
    for (;;) {
      const page = await this.read(stream, token ? { nextToken: token } : {});
      all.push(...page.events);
      if (page.nextToken === undefined || page.nextToken === token) return all;
      token = page.nextToken;
    }
  }

  /** Several streams interleaved by time (at most 100 streams per call). */
  async readMany(
    streams: readonly string[],
    options: Pick<ReadOptions, 'startTime' | 'nextToken' | 'limit'> = {},
  ): Promise<LogPage> {
    if (streams.length === 0) return { events: [] };
    try {
      const out = await this.client.send(
        new FilterLogEventsCommand({
          logGroupName: this.group,
          logStreamNames: [...streams],
          limit: options.limit ?? DEFAULT_PAGE_EVENTS,
          // Always so in CloudWatch today (the field is deprecated); emulators need it said.
          interleaved: true,
          ...(options.startTime !== undefined ? { startTime: options.startTime } : {}),
          ...(options.nextToken !== undefined ? { nextToken: options.nextToken } : {}),
        }),
      );
      const events = (out.events ?? []).map((e) => ({
        timestamp: e.timestamp ?? 0,
        message: e.message ?? '',
        stream: e.logStreamName ?? '',
        id: e.eventId ?? '',
      }));
      return { events, ...(out.nextToken ? { nextToken: out.nextToken } : {}) };
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return { events: [] };
      if (refusedToken(error, options.nextToken)) throw foreignToken();
      throw error;
    }
  }
}
