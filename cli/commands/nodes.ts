import { Command, Option, UsageError } from 'clipanion';
import { matchesConstraint, parseConstraint } from '../../core/scheduler/constraints.js';
import type { WorkerRecord } from '../../core/types.js';
import { formatCpu, formatSize } from '../../core/units.js';
import { CubeCommand } from '../baseCommand.js';
import { formatAge, formatWorkerState } from '../format.js';
import { formatTable } from '../table.js';

/** `gpu=1,zone=a`: sorted by key, so workers line up and read alike. */
export function formatNodeLabels(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).sort();
  return keys.length === 0 ? '-' : keys.map((k) => `${k}=${labels[k]}`).join(',');
}

/** Workers whose labels meet every constraint (same syntax as a task's constraints). */
export function selectNodes(nodes: WorkerRecord[], constraints: readonly string[]): WorkerRecord[] {
  const parsed = constraints.map((text) => {
    const c = parseConstraint(text);
    if (typeof c === 'string') throw new UsageError(`--constraint ${c}`);
    return c;
  });
  return nodes.filter((w) => parsed.every((c) => matchesConstraint(c, w.labels)));
}

export class NodesCommand extends CubeCommand {
  static override paths = [['nodes']];
  static override usage = Command.Usage({
    description: 'List workers and what they have allocated',
    details: `
      CPU, MEMORY and DISK show allocated/capacity: what placed tasks reserve, not what
      they use. HEARTBEAT is the time since the worker last reported. ADDRESS is where the
      worker's published ports are reached (its --advertise-addr). The last line is the
      fingerprint of the key placements are signed with: every worker listed verifies against
      it (each logs the fingerprint it holds when it registers).
    `,
    examples: [
      ['List workers', 'cube nodes'],
      ['Worker records as JSON', 'cube nodes --json'],
      ['Workers in zone a or b', "cube nodes --constraint 'zone in (a,b)'"],
    ],
  });

  json = Option.Boolean('--json', false, {
    description: 'Print the worker records as a JSON array',
  });

  constraint = Option.Array('--constraint', {
    description: "Only workers whose labels match, e.g. 'zone=a', 'gpu exists' (repeatable)",
  });

  protected async run(): Promise<number> {
    const client = this.client();
    const nodes = selectNodes(await client.listNodes(), this.constraint ?? []);
    nodes.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    if (this.json) {
      this.printJson(nodes);
      return 0;
    }
    const now = new Date();
    const rows = nodes.map((w) => [
      w.id,
      w.name,
      formatWorkerState(w),
      w.address ?? '-',
      formatNodeLabels(w.labels),
      `${formatCpu(w.allocated.cpuMillis)}/${formatCpu(w.capacity.cpuMillis)}`,
      `${formatSize(w.allocated.memoryBytes)}/${formatSize(w.capacity.memoryBytes)}`,
      `${formatSize(w.allocated.diskBytes)}/${formatSize(w.capacity.diskBytes)}`,
      String(w.allocated.tasks),
      formatAge(w.heartbeatAt, now),
    ]);
    this.context.stdout.write(
      formatTable(
        ['ID', 'NAME', 'STATE', 'ADDRESS', 'LABELS', 'CPU', 'MEMORY', 'DISK', 'TASKS', 'HEARTBEAT'],
        rows,
        { maxWidths: { NAME: 32, LABELS: 40 } },
      ),
    );
    // An older control plane has no such route: the table alone.
    const key = await client.placementKey().catch(() => undefined);
    if (key) this.context.stdout.write(`\nplacement key ${key.fingerprint}\n`);
    return 0;
  }
}
