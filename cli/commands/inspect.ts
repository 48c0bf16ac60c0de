import { Command, Option } from 'clipanion';
import type {
  HealthCheckSpec,
  PlacementExplanation,
  TaskEvent,
  TaskHealth,
  TaskRecord,
} from '../../core/types.js';
import { CubeCommand, workerNames } from '../baseCommand.js';
import {
  formatCommand,
  formatLabels,
  formatPorts,
  formatResources,
  formatRestart,
  oneLine,
} from '../format.js';
import { formatTable } from '../table.js';

export class InspectCommand extends CubeCommand {
  static override paths = [['inspect']];
  static override usage = Command.Usage({
    description: "Show a task's spec, state, placement and event timeline",
    details: 'ID may be the full task id or a unique prefix of it.',
    examples: [
      ['Inspect a task', 'cube inspect t3f9a1c07d2e4'],
      ['Get the record and events as JSON', 'cube inspect --json t3f9a1c07d2e4'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print { task, events } as JSON' });
  id = Option.String({ name: 'id' });

  protected async run(): Promise<number> {
    const client = this.client();
    const detail = await client.findTask(this.id);
    if (this.json) {
      this.printJson(detail);
      return 0;
    }
    const names = await workerNames(client);
    this.print(renderTask(detail.task, detail.events, names));
    return 0;
  }
}

export function renderTask(
  task: TaskRecord,
  events: readonly TaskEvent[],
  names: ReadonlyMap<string, string>,
): string {
  const worker = (id: string | undefined) => {
    if (!id) return '-';
    const name = names.get(id);
    return name && name !== id ? `${name} (${id})` : id;
  };
  const fields: [string, string | undefined][] = [
    ['ID', task.id],
    ['Name', task.spec.name],
    ['Image', task.spec.image],
    ['Command', formatCommand(task.spec.command)],
    ['Resources', formatResources(task.spec.resources)],
    ['Network', task.spec.network],
    ['Ports', formatPorts(task)],
    ['Env', Object.keys(task.spec.env).length > 0 ? Object.keys(task.spec.env).join(', ') : '-'],
    // Names only: where a secret is read from is the spec's business (--json), its value nobody's.
    ['Secrets', task.spec.secrets?.map((secret) => secret.name).join(', ')],
    ['Labels', formatLabels(task.spec.labels)],
    ['Restart', formatRestart(task)],
    ['Max reschedules', formatOptional(task.spec.restart.maxReschedules, '(default)')],
    ['Health check', formatHealthCheck(task.spec.healthCheck)],
    ['Stop', formatStop(task)],
    ['Scheduler', task.spec.scheduler ?? '(default)'],
    ['State', task.state],
    ['Attempt', String(task.attempt)],
    ['Restarts', `${task.restartCount} in place, ${task.rescheduleCount ?? 0} rescheduled`],
    ['Planned restart', task.restart ? `${task.restart.kind} at ${task.restart.at}` : undefined],
    ['Health', formatHealth(task.health)],
    ['Previous workers', task.previousWorkerIds?.map(worker).join(', ')],
    ['Worker', worker(task.workerId)],
    ['Container', task.containerId],
    ['Exit code', task.exitCode === undefined ? undefined : String(task.exitCode)],
    ['Reason', task.reason],
    ['Created', task.createdAt],
    ['Scheduled', task.scheduledAt],
    ['Started', task.startedAt],
    ['Finished', task.finishedAt],
  ];
  const shown = fields.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== '');
  const labelWidth = Math.max(...shown.map(([k]) => k.length)) + 2;
  let out = shown.map(([k, v]) => `${`${k}:`.padEnd(labelWidth)}${oneLine(v)}`).join('\n') + '\n';
  if (task.placement) out += `\n${renderPlacement(task.placement)}`;
  out += '\nEvents:\n';
  if (events.length === 0) {
    out += '  (none)\n';
  } else {
    const sorted = [...events].sort((a, b) => a.version - b.version);
    const rows = sorted.map((e) => [
      e.at,
      e.from ? `${e.from} → ${e.to}` : e.to,
      String(e.attempt),
      e.by,
      e.reason ?? '',
    ]);
    out += formatTable(['TIME', 'TRANSITION', 'ATTEMPT', 'BY', 'REASON'], rows)
      .split('\n')
      .map((line) => (line ? `  ${line}` : line))
      .join('\n');
  }
  return out;
}

const formatOptional = (value: number | undefined, fallback: string) =>
  value === undefined ? fallback : String(value);

export function formatHealthCheck(check: HealthCheckSpec | undefined): string | undefined {
  if (!check) return undefined;
  const probe = check.http
    ? `GET :${check.http.port}${check.http.path}`
    : `exec ${formatCommand(check.command ?? [])}`;
  return (
    `${probe} every ${check.intervalSeconds}s, timeout ${check.timeoutSeconds}s, ` +
    `unhealthy after ${check.retries} failures, start period ${check.startPeriodSeconds}s`
  );
}

export function formatHealth(health: TaskHealth | undefined): string | undefined {
  if (!health) return undefined;
  const parts: string[] = [health.status];
  if (health.failingStreak > 0) parts.push(`${health.failingStreak} failing in a row`);
  if (health.checkedAt) parts.push(`checked ${health.checkedAt}`);
  const text = parts.length > 1 ? `${parts[0]} (${parts.slice(1).join(', ')})` : parts[0]!;
  return health.output ? `${text}: ${health.output}` : text;
}

function formatStop(task: TaskRecord): string {
  const signal = task.spec.stopSignal ?? 'SIGTERM';
  const timeout = task.spec.stopTimeoutSeconds ?? 10;
  return `${signal}, then SIGKILL after ${timeout}s`;
}

function renderPlacement(p: PlacementExplanation): string {
  const lines = [
    `Placement (policy ${p.policy}, at ${p.at}):`,
    `  ${p.workersFeasible}/${p.workersEvaluated} workers fit`,
  ];
  const rejected = Object.entries(p.rejected).sort((a, b) => b[1] - a[1]);
  for (const [reason, count] of rejected) lines.push(`  ${count} rejected: ${oneLine(reason)}`);
  if (p.topScores.length > 0) {
    lines.push('  Top scores:');
    for (const s of p.topScores.slice(0, 5)) {
      const chosen = s.workerId === p.chosenWorkerId ? '  (chosen)' : '';
      const name = oneLine(s.workerName);
      lines.push(`    ${s.score.toFixed(2).padStart(8)}  ${name} (${s.workerId})${chosen}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
