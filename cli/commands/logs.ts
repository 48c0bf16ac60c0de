import { Command, Option, UsageError } from 'clipanion';
import type { ApiClient, TaskLogsPage, TaskLogsQuery } from '../apiClient.js';
import { CubeCommand } from '../baseCommand.js';

/** Follow mode asks at most this often (one request per second per follower). */
export const FOLLOW_INTERVAL_MS = 1000;
/** Lines per page: a backlog comes in few requests. */
const PAGE_LINES = 10_000;

export class LogsCommand extends CubeCommand {
  static override paths = [['logs']];
  static override usage = Command.Usage({
    description: "Print a task's output (stdout and stderr), also after its worker is gone",
    details: `
      Prints what the task's container printed, in order, as its worker shipped it to the
      control plane's log group (one stream per attempt; see docs/LOGS.md). TASK is a task
      id or a unique prefix of one. Lines are printed as the container wrote them.

      With -f, keeps printing new lines as they arrive (asking once a second) and exits when
      the task ends; an attempt replaced by a restart is followed into the next one.
    `,
    examples: [
      ['Everything a task printed', 'cube logs t3f9a1c2b7d4e'],
      ['Follow the last 100 lines and what comes', 'cube logs -f --tail 100 t3f9a1c2b7d4e'],
      ['The last 10 minutes, with times', 'cube logs --since 10m --timestamps t3f9'],
      ['A previous attempt', 'cube logs --attempt 1 t3f9'],
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
  target = Option.String({ name: 'TASK' });

  protected async run(): Promise<number> {
    const tail = positive('--tail', this.tail, 10_000);
    const attempt = positive('--attempt', this.attempt, 1_000_000);
    const client = this.client();
    const { task } = await client.findTask(this.target);
    const query: TaskLogsQuery = {
      limit: PAGE_LINES,
      ...(attempt !== undefined ? { attempt } : {}),
      ...(this.since !== undefined ? { since: this.since } : {}),
      ...(tail !== undefined ? { tail } : {}),
    };
    return this.follow
      ? this.followTask(client, task.id, query, attempt === undefined)
      : this.printAll(client, task.id, query);
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

  private printLines(page: TaskLogsPage): void {
    if (page.lines.length === 0) return;
    const out = page.lines.map((line) => {
      if (this.json) return `${JSON.stringify(line)}\n`;
      return this.timestamps ? `${line.time} ${line.message}\n` : `${line.message}\n`;
    });
    this.context.stdout.write(out.join(''));
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
