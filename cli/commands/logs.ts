import { Command, Option, UsageError } from 'clipanion';
import {
  type ApiClient,
  ApiError,
  type ServiceLogsPage,
  type TaskLogsPage,
  type TaskLogsQuery,
} from '../apiClient.js';
import { CubeCommand } from '../baseCommand.js';

/** Follow mode asks at most this often (one request per second per follower). */
export const FOLLOW_INTERVAL_MS = 1000;
/** Lines per page: a backlog comes in few requests. */
const PAGE_LINES = 10_000;
/**
 * A service's replicas ship independently (each flushes within a second): a follower asks
 * again from this far before the newest line it printed, and skips what it printed already.
 */
const SERVICE_LOOKBACK_MS = 5000;

export class LogsCommand extends CubeCommand {
  static override paths = [['logs']];
  static override usage = Command.Usage({
    description: "Print a task's or a service's output, also after its worker is gone",
    details: `
      Prints what the task's container printed (stdout and stderr), in order, as its worker
      shipped it to the control plane's log group (one stream per attempt; see docs/LOGS.md).
      TARGET is a task id, a unique prefix of one, or a service name: a service's current
      replicas are interleaved by time, each line tagged with its replica. Lines are printed
      as the container wrote them.

      With -f, keeps printing new lines as they arrive (asking once a second) and exits when
      the task ends; an attempt replaced by a restart is followed into the next one. A
      service is followed until Ctrl-C or until it is deleted.
    `,
    examples: [
      ['Everything a task printed', 'cube logs t3f9a1c2b7d4e'],
      ['Follow the last 100 lines and what comes', 'cube logs -f --tail 100 t3f9a1c2b7d4e'],
      ['The last 10 minutes, with times', 'cube logs --since 10m --timestamps t3f9'],
      ['A previous attempt', 'cube logs --attempt 1 t3f9'],
      ["Follow a service's replicas", 'cube logs -f web'],
    ],
  });

  follow = Option.Boolean('-f,--follow', false, { description: 'Keep printing new lines' });
  since = Option.String('--since', {
    description: 'Only lines from then on: a duration (10m, 1h30m) or a time (RFC 3339)',
  });
  tail = Option.String('--tail', { description: 'Only the last N lines (then new ones, with -f)' });
  attempt = Option.String('--attempt', { description: "The attempt's output (default: latest)" });
  timestamps = Option.Boolean('-t,--timestamps', false, {
    description: 'Prefix each line with its time (RFC 3339, milliseconds)',
  });
  json = Option.Boolean('--json', false, {
    description: 'One JSON object per line: {time, message}',
  });
  target = Option.String({ name: 'TARGET' });

  protected async run(): Promise<number> {
    const tail = positive('--tail', this.tail, 10_000);
    const attempt = positive('--attempt', this.attempt, 1_000_000);
    const client = this.client();
    // A task id, else a service's name (its replicas' ids start with it), else an id prefix.
    let task = await orNotFound(client.getTask(this.target));
    if (!task) {
      const serviceFirst = {
        limit: PAGE_LINES,
        ...(this.since !== undefined ? { since: this.since } : {}),
        ...(tail !== undefined ? { tail } : {}),
      };
      // A 400: the name breaks the service name rule, so it is no service.
      const page = await orNotFound(client.serviceLogs(this.target, serviceFirst), [404, 400]);
      if (page) {
        if (attempt !== undefined) {
          throw new UsageError('--attempt applies to a task, not a service');
        }
        return this.service(client, this.target, tail, page);
      }
      task = await orNotFound(client.findTask(this.target));
      if (!task) throw new ApiError(404, 'NOT_FOUND', `no task or service '${this.target}'`);
    }
    const query: TaskLogsQuery = {
      limit: PAGE_LINES,
      ...(attempt !== undefined ? { attempt } : {}),
      ...(this.since !== undefined ? { since: this.since } : {}),
      ...(tail !== undefined ? { tail } : {}),
    };
    return this.follow
      ? this.followTask(client, task.task.id, query, attempt === undefined)
      : this.printAll(client, task.task.id, query);
  }

  /** Every page there is now. */
  private async printAll(client: ApiClient, id: string, query: TaskLogsQuery): Promise<number> {
    let page = await client.taskLogs(id, query);
    for (;;) {
      this.printLines(page);
      const token = page.nextToken;
      if (page.lines.length === 0 || query.tail !== undefined || !token) return 0;
      page = await client.taskLogs(id, {
        ...query,
        tail: undefined,
        since: undefined,
        nextToken: token,
      });
      if (page.nextToken === token && page.lines.length === 0) return 0;
    }
  }

  /** Pages as they come, once a second, until the task is over. */
  private async followTask(
    client: ApiClient,
    id: string,
    first: TaskLogsQuery,
    nextAttempts: boolean,
  ): Promise<number> {
    let query = first;
    for (;;) {
      const asked = Date.now();
      const page = await client.taskLogs(id, query);
      this.printLines(page);
      if (page.lines.length === 0 && page.ended) {
        if (page.over) return 0;
        if (!nextAttempts) return 0;
        if (page.latestAttempt > page.attempt) {
          this.warn(`cube: attempt ${page.attempt} ended; following attempt ${page.latestAttempt}`);
          query = { limit: PAGE_LINES, attempt: page.latestAttempt };
        }
        // Else a restart is planned and its attempt not made yet: ask again.
      } else {
        query = {
          limit: PAGE_LINES,
          attempt: page.attempt,
          ...(page.nextToken ? { nextToken: page.nextToken } : { since: sinceOf(page, query) }),
        };
      }
      await new Promise((r) => setTimeout(r, Math.max(0, asked + FOLLOW_INTERVAL_MS - Date.now())));
    }
  }

  /** A service's replicas, interleaved by time; followed until Ctrl-C or its deletion. */
  private async service(
    client: ApiClient,
    name: string,
    tail: number | undefined,
    firstPage: ServiceLogsPage,
  ) {
    let page = firstPage;
    let windowStart = this.since;
    const printed = new LinesPrinted();
    // After the last N lines, nothing older than the first of them.
    if (tail !== undefined && page.lines[0]) printed.floor = Date.parse(page.lines[0].time);
    for (;;) {
      const asked = Date.now();
      this.printServiceLines(page, printed);
      if (!this.follow && (!page.nextToken || tail !== undefined)) return 0;
      const newest = printed.newest();
      if (!page.nextToken) {
        if (newest !== undefined) windowStart = String(Math.max(0, newest - SERVICE_LOOKBACK_MS));
        printed.startWindow(windowStart === undefined ? undefined : Number(windowStart));
      }
      if (this.follow) {
        await new Promise((r) =>
          setTimeout(r, Math.max(0, asked + FOLLOW_INTERVAL_MS - Date.now())),
        );
      }
      try {
        page = await client.serviceLogs(name, {
          limit: PAGE_LINES,
          ...(page.nextToken ? { nextToken: page.nextToken } : {}),
          ...(!page.nextToken && windowStart !== undefined ? { since: windowStart } : {}),
        });
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          this.warn(`cube: service ${name} is gone`);
          return 0;
        }
        throw error;
      }
    }
  }

  private printServiceLines(page: ServiceLogsPage, printed: LinesPrinted): void {
    const width = Math.max(0, ...page.replicas.map((r) => cleanTag(r.replica).length));
    const out: string[] = [];
    for (const line of page.lines) {
      if (!printed.isNew(line)) continue;
      if (this.json) {
        out.push(`${JSON.stringify(line)}\n`);
        continue;
      }
      const tag = `${cleanTag(line.replica).padEnd(width)} | `;
      out.push(`${tag}${this.timestamps ? `${line.time} ` : ''}${line.message}\n`);
    }
    if (out.length > 0) this.context.stdout.write(out.join(''));
  }

  private printLines(page: TaskLogsPage): void {
    if (page.lines.length === 0) return;
    const out = page.lines.map((line) => {
      if (this.json) return `${JSON.stringify(line)}\n`;
      return this.timestamps ? `${line.time} ${line.message}\n` : `${line.message}\n`;
    });
    this.context.stdout.write(out.join(''));
  }
}

/** The answer, or undefined when the API says there is no such thing. */
async function orNotFound<T>(answer: Promise<T>, statuses = [404]): Promise<T | undefined> {
  try {
    return await answer;
  } catch (error) {
    if (error instanceof ApiError && statuses.includes(error.status)) return undefined;
    throw error;
  }
}

/** A replica's name as a clean tag: nothing that could move the cursor or colour the line. */
function cleanTag(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/**
 * What a service follower printed: each window of lines (asked for again from a little
 * before the newest) repeats the lines printed before; a line is new when this window holds
 * more copies of it (same replica, time and text) than were printed.
 */
class LinesPrinted {
  private readonly printed = new Map<string, number>();
  private window = new Map<string, number>();
  private newestMs: number | undefined;
  /** Lines older than this are not printed. */
  floor = 0;

  isNew(line: { time: string; message: string; taskId: string }): boolean {
    if (Date.parse(line.time) < this.floor) return false;
    const key = `${line.taskId}|${line.time}|${line.message}`;
    const inWindow = (this.window.get(key) ?? 0) + 1;
    this.window.set(key, inWindow);
    if (inWindow <= (this.printed.get(key) ?? 0)) return false;
    this.printed.set(key, inWindow);
    const ms = Date.parse(line.time);
    if (this.newestMs === undefined || ms > this.newestMs) this.newestMs = ms;
    return true;
  }

  newest(): number | undefined {
    return this.newestMs;
  }

  /** A new window from `since`: what was printed before it cannot come again. */
  startWindow(since: number | undefined): void {
    this.window = new Map();
    if (since === undefined) return;
    for (const key of this.printed.keys()) {
      const time = Date.parse(key.split('|')[1]!);
      if (time < since) this.printed.delete(key);
    }
  }
}

/** Without a token (no stream yet), ask again from where the query started. */
function sinceOf(page: TaskLogsPage, query: TaskLogsQuery): string | undefined {
  const last = page.lines.at(-1);
  return last ? String(Date.parse(last.time) + 1) : query.since;
}

function positive(flag: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > max) {
    throw new UsageError(`${flag} must be a whole number from 1 to ${max} (got '${text}')`);
  }
  return value;
}
