import { Command, Option } from 'clipanion';
import type { NodeAction } from '../apiClient.js';
import { CubeCommand } from '../baseCommand.js';

abstract class NodeActionCommand extends CubeCommand {
  protected abstract readonly action: NodeAction;
  id = Option.String({ name: 'id' });
  json = Option.Boolean('--json', false, { description: 'Print the answer as JSON' });

  protected async run(): Promise<number> {
    const result = await this.client().nodeAction(this.action, this.id);
    if (this.json) {
      this.printJson(result);
      return 0;
    }
    const w = result.node;
    const name = w.name === w.id ? w.id : `${w.name} (${w.id})`;
    if (this.action === 'drain') {
      const moving = result.stopping ?? [];
      this.print(
        `${name} cordoned and draining: ${moving.length} task(s) stopping to be placed elsewhere` +
          (moving.length > 0 ? `\n  ${moving.join('\n  ')}` : ''),
      );
    } else {
      this.print(
        `${name} ${this.action === 'cordon' ? 'cordoned: takes no new tasks' : 'uncordoned: takes new tasks'}`,
      );
    }
    return 0;
  }
}

export class NodeCordonCommand extends NodeActionCommand {
  static override paths = [['node', 'cordon']];
  static override usage = Command.Usage({
    description: 'Stop placing new tasks on a worker (its tasks keep running)',
    details: 'ID is the worker id or its name, as `cube nodes` shows them. Needs an admin token.',
    examples: [['Cordon worker w1', 'cube node cordon w1']],
  });
  protected readonly action = 'cordon';
}

export class NodeUncordonCommand extends NodeActionCommand {
  static override paths = [['node', 'uncordon']];
  static override usage = Command.Usage({
    description: 'Let a cordoned worker take new tasks again',
    details: 'ID is the worker id or its name. Needs an admin token.',
    examples: [['Uncordon worker w1', 'cube node uncordon w1']],
  });
  protected readonly action = 'uncordon';
}

export class NodeDrainCommand extends NodeActionCommand {
  static override paths = [['node', 'drain']];
  static override usage = Command.Usage({
    description: 'Cordon a worker and move its tasks to other workers',
    details: `
      The worker is cordoned, then each task it holds is stopped with a reschedule planned:
      once its container has stopped, the task goes back to PENDING and is placed on another
      worker. The worker stays cordoned; 'cube node uncordon' opens it again. Needs an admin
      token.
    `,
    examples: [['Drain worker w1 before maintenance', 'cube node drain w1']],
  });
  protected readonly action = 'drain';
}

export class NodeRemoveCommand extends CubeCommand {
  static override paths = [['node', 'rm']];
  static override usage = Command.Usage({
    description: 'Remove a DOWN worker and its queue now',
    details: `
      A DOWN worker is removed by the reconciler once the retention has passed
      (CUBE_RETAIN_FINISHED, default 7 days); this removes it now. A live (READY) worker is
      refused: stop its daemon first ('cube node drain' moves its tasks). A worker removed
      this way that starts again registers anew. Needs an admin token.
    `,
    examples: [['Forget the worker of a host that is gone', 'cube node rm host-3']],
  });
  id = Option.String({ name: 'id' });
  json = Option.Boolean('--json', false, { description: 'Print the removed worker as JSON' });

  protected async run(): Promise<number> {
    const w = await this.client().removeNode(this.id);
    if (this.json) this.printJson(w);
    else this.print(`${w.name === w.id ? w.id : `${w.name} (${w.id})`} removed with its queue`);
    return 0;
  }
}
