import { Command, Option, UsageError } from 'clipanion';
import { parseSince } from '../../core/history/duration.js';
import { type ClusterEvent, EVENT_KINDS } from '../../core/history/events.js';
import type { ApiClient, EventQuery } from '../apiClient.js';
import { CubeCommand, workerNames } from '../baseCommand.js';

/** Follow mode asks again this often. */
const POLL_MS = 1000;
/**
 * Each poll reads again from this far before the newest event seen: an event may become
 * visible after a later one (writers' clocks, the index's eventual consistency); ids already
 * printed are skipped.
 */
const OVERLAP_MS = 15_000;

export class EventsCommand extends CubeCommand {
  static override paths = [['events']];
  static override usage = Command.Usage({
    description: "Show the cluster's timeline: tasks, workers, placements, services",
    details: `
      Events from --since (default 1h) to now, oldest first: task transitions, workers
      up/down/cordon/uncordon/drain/removed, placements that failed, service rollouts.
      With -f, keeps printing new events as they happen (it asks about once a second) until
      interrupted. --json prints a JSON array, or with -f one JSON object per line.
    `,
    examples: [
      ['The last hour', 'cube events'],
      ['Follow from now on', 'cube events -f --since 0s'],
      ['What happened to workers today', 'cube events --since 24h --kind worker'],
      ['One task as JSON', 'cube events --task t1a2b3c4d5e6 --json'],
    ],
  });

  follow = Option.Boolean('-f,--follow', false, { description: 'Keep printing new events' });
  since = Option.String('--since', {
    description: 'An ISO time or a duration back from now, e.g. 10m, 6h, 2d (default 1h)',
  });
  kind = Option.String('--kind', { description: `Only one kind: ${EVENT_KINDS.join(', ')}` });
  task = Option.String('--task', { description: 'Only the events of this task id' });
  service = Option.String('--service', { description: 'Only the events of this service' });
  worker = Option.String('--worker', {
    description: 'Only the events of this worker (id or name)',
  });
  json = Option.Boolean('--json', false, { description: 'Print events as JSON' });

  protected async run(): Promise<number> {
    const client = this.client();
    const since = parseSince(this.since ?? '1h');
    if (!since) {
      throw new UsageError('--since takes an ISO time or a duration such as 10m, 6h or 2d');
    }
    if (this.kind !== undefined && !(EVENT_KINDS as readonly string[]).includes(this.kind)) {
      throw new UsageError(`--kind must be one of ${EVENT_KINDS.join(', ')}`);
    }
    let names = this.json ? new Map<string, string>() : await workerNames(client);
    const filters: EventQuery = {
      ...(this.kind ? { kind: this.kind } : {}),
      ...(this.task ? { task: this.task } : {}),
      ...(this.service ? { service: this.service } : {}),
      ...(this.worker ? { worker: await workerId(client, this.worker) } : {}),
    };
    let from = since;
    const seen = new Map<string, number>();
    const all: ClusterEvent[] = [];
    if (!this.json) this.print(EVENT_HEADER);
    for (;;) {
      const fresh = (await fetchSince(client, from, filters)).filter((e) => !seen.has(e.id));
      // A worker that joined since the names were read: read them again.
      if (!this.json && fresh.some((e) => e.workerId && !names.has(e.workerId))) {
        names = await workerNames(client);
      }
      for (const event of fresh) {
        seen.set(event.id, Date.parse(event.at));
        if (this.json && !this.follow) all.push(event);
        else if (this.json) this.context.stdout.write(`${JSON.stringify(event)}\n`);
        else this.print(formatEventLine(event, names));
      }
      if (!this.follow) break;
      const newest = Math.max(from.getTime(), ...fresh.map((e) => Date.parse(e.at)));
      from = new Date(Math.max(from.getTime(), newest - OVERLAP_MS));
      for (const [id, at] of seen) if (at < from.getTime()) seen.delete(id);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    if (this.json) this.printJson(all);
    return 0;
  }
}

async function fetchSince(client: ApiClient, since: Date, filters: EventQuery) {
  const events: ClusterEvent[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.listEvents({
      ...filters,
      since: since.toISOString(),
      limit: 1000,
      ...(nextToken ? { nextToken } : {}),
    });
    events.push(...page.events);
    nextToken = page.nextToken;
  } while (nextToken);
  return events.sort((a, b) => a.at.localeCompare(b.at));
}

/** A worker name becomes its id (the API filters by id). */
async function workerId(client: ApiClient, key: string): Promise<string> {
  const byName = (await client.listNodes()).find((w) => w.name === key);
  return byName?.id ?? key;
}

export const EVENT_HEADER = `${'TIME'.padEnd(24)}  ${'KIND'.padEnd(9)}  ${'SUBJECT'.padEnd(20)}  ${'WHAT'.padEnd(24)}  ${'BY'.padEnd(16)}  REASON`;

/** One event on one line, in the columns of EVENT_HEADER (follow mode cannot size a table). */
export function formatEventLine(event: ClusterEvent, names: ReadonlyMap<string, string>): string {
  const worker = event.workerId ? (names.get(event.workerId) ?? event.workerId) : undefined;
  const subject =
    event.kind === 'worker'
      ? (worker ?? '-')
      : event.kind === 'service'
        ? (event.service ?? '-')
        : (event.taskId ?? '-');
  const what =
    event.to !== undefined
      ? `${event.from ? `${event.from} → ` : ''}${event.to}`
      : (event.action ?? '-');
  const where = event.kind === 'task' && worker ? ` on ${worker}` : '';
  const reason = `${event.reason ?? ''}${where}`.replace(/\s+/g, ' ').trim();
  const cut = (text: string, width: number) =>
    text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
  return [
    event.at.padEnd(24),
    cut(event.kind, 9),
    cut(subject, 20),
    cut(what, 24),
    cut(event.by, 16),
    reason,
  ]
    .join('  ')
    .trimEnd();
}
