import { Command, Option, UsageError } from 'clipanion';
import { TASK_STATES, type TaskRecord, type TaskState } from '../../core/types.js';
import { CubeCommand, workerNames } from '../baseCommand.js';
import { ACTIVE_STATES, formatAge } from '../format.js';
import { createProgress } from '../progress.js';
import { formatTable } from '../table.js';

export class PsCommand extends CubeCommand {
  static override paths = [['ps']];
  static override usage = Command.Usage({
    description: 'List tasks',
    details: `
      Without --all, lists the tasks that are pending, placed, starting, running or
      stopping; --all adds COMPLETED, FAILED, STOPPED and LOST ones. Newest first.
      STATE shows the health of a task with a health check, e.g. RUNNING (healthy);
      RESTARTS counts its attempts after the first (in place and rescheduled). SERVICE names
      the service a replica belongs to (- for a task submitted on its own).
    `,
    examples: [
      ['List active tasks', 'cube ps'],
      ['List every task', 'cube ps --all'],
      ['List pending tasks as JSON', 'cube ps --state PENDING --json'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Include finished tasks' });
  state = Option.String('--state', { description: 'Only these states, comma-separated' });
  json = Option.Boolean('--json', false, { description: 'Print the task records as a JSON array' });

  protected async run(): Promise<number> {
    const client = this.client();
    const states = this.states();
    // A long listing comes in pages: say how far it got (on a terminal only).
    const progress = createProgress(this.progressStream, 'listing tasks');
    let tasks: TaskRecord[];
    let names: Map<string, string>;
    try {
      [tasks, names] = await Promise.all([
        client.listTasks(states, (n) => progress.update(`listing tasks: ${n} so far`)),
        this.json ? Promise.resolve(new Map<string, string>()) : workerNames(client),
      ]);
    } finally {
      progress.done();
    }
    tasks.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    if (this.json) {
      this.printJson(tasks);
      return 0;
    }
    const now = new Date();
    const rows = tasks.map((t) => [
      t.id,
      t.spec.name,
      t.service ?? '-',
      t.spec.image,
      formatStateWithHealth(t),
      String(t.attempt - 1),
      t.workerId ? (names.get(t.workerId) ?? t.workerId) : '-',
      formatAge(t.createdAt, now),
      t.reason ?? '',
    ]);
    this.context.stdout.write(
      formatTable(
        ['ID', 'NAME', 'SERVICE', 'IMAGE', 'STATE', 'RESTARTS', 'WORKER', 'AGE', 'REASON'],
        rows,
        { maxWidths: { NAME: 32, SERVICE: 32, IMAGE: 40, WORKER: 24, REASON: 60 } },
      ),
    );
    return 0;
  }

  private states(): readonly TaskState[] | undefined {
    if (this.state !== undefined) {
      const wanted = this.state
        .split(',')
        .map((s) => s.trim().toUpperCase())
        .filter(Boolean);
      const unknown = wanted.filter((s) => !(TASK_STATES as readonly string[]).includes(s));
      if (unknown.length > 0 || wanted.length === 0) {
        throw new UsageError(`--state takes states from ${TASK_STATES.join(', ')}`);
      }
      return wanted as TaskState[];
    }
    return this.all ? undefined : ACTIVE_STATES;
  }
}

/**
 * `RUNNING (healthy)`: a RUNNING task with a health check shows its health (`starting` until
 * the first verdict); an ended task shows the verdict that ended it, `FAILED (unhealthy)`.
 */
export function formatStateWithHealth(task: TaskRecord): string {
  if (!task.spec.healthCheck) return task.state;
  if (task.state === 'RUNNING') return `RUNNING (${task.health?.status ?? 'starting'})`;
  return task.health?.status === 'unhealthy' ? `${task.state} (unhealthy)` : task.state;
}
