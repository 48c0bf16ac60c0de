import { Command, Option } from 'clipanion';
import { formatCpu, formatSize } from '../../core/units.js';
import { CubeCommand } from '../baseCommand.js';
import { formatAge, formatLabels, formatWorkerState } from '../format.js';
import { formatTable } from '../table.js';

export class NodesCommand extends CubeCommand {
  static override paths = [['nodes']];
  static override usage = Command.Usage({
    description: 'List workers and what they have allocated',
    details: `
      CPU, MEMORY and DISK show allocated/capacity: what placed tasks reserve, not what
      they use. HEARTBEAT is the time since the worker last reported.
    `,
    examples: [
      ['List workers', 'cube nodes'],
      ['Worker records as JSON', 'cube nodes --json'],
    ],
  });

  json = Option.Boolean('--json', false, {
    description: 'Print the worker records as a JSON array',
  });

  protected async run(): Promise<number> {
    const nodes = await this.client().listNodes();
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
      formatLabels(w.labels),
      `${formatCpu(w.allocated.cpuMillis)}/${formatCpu(w.capacity.cpuMillis)}`,
      `${formatSize(w.allocated.memoryBytes)}/${formatSize(w.capacity.memoryBytes)}`,
      `${formatSize(w.allocated.diskBytes)}/${formatSize(w.capacity.diskBytes)}`,
      String(w.allocated.tasks),
      formatAge(w.heartbeatAt, now),
    ]);
    this.context.stdout.write(
      formatTable(
        ['ID', 'NAME', 'STATE', 'LABELS', 'CPU', 'MEMORY', 'DISK', 'TASKS', 'HEARTBEAT'],
        rows,
        { maxWidths: { NAME: 32, LABELS: 40 } },
      ),
    );
    return 0;
  }
}
