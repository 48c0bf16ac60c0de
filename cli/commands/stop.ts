import { Command, Option } from 'clipanion';
import { CubeCommand } from '../baseCommand.js';
import { describeTask, FINISHED_STATES } from '../format.js';
import { createProgress } from '../progress.js';
import { parseTimeout, waitForTask } from '../wait.js';

export class StopCommand extends CubeCommand {
  static override paths = [['stop']];
  static override usage = Command.Usage({
    description: 'Stop a task',
    details: `
      Asks the control plane to stop the task: a pending task, or one waiting for a planned
      restart or reschedule, is STOPPED at once (the plan is cancelled); a placed or running
      one becomes STOPPING until its worker has stopped the container, and a drain moving it
      no longer places it elsewhere. Prints the task id. ID may be a unique prefix of the id.

      With --wait, waits until the task is STOPPED (exit 0) or ends otherwise (exit 1).
    `,
    examples: [
      ['Stop a task', 'cube stop t3f9a1c07d2e4'],
      ['Stop and wait for the container to be gone', 'cube stop --wait t3f9a1c07d2e4'],
    ],
  });

  wait = Option.Boolean('--wait', false, { description: 'Wait until the task is stopped' });
  timeout = Option.String('--timeout', {
    description: 'Seconds to wait with --wait (default 120)',
  });
  json = Option.Boolean('--json', false, { description: 'Print the task record as JSON' });
  id = Option.String({ name: 'id' });

  protected async run(): Promise<number> {
    const timeoutMs = parseTimeout(this.timeout, 120);
    const client = this.client();
    const { task: found } = await client.findTask(this.id);
    const stopping = await client.stopTask(found.id);
    if (!this.wait || FINISHED_STATES.includes(stopping.state)) {
      if (this.json) this.printJson(stopping);
      else this.print(stopping.id);
      return !this.wait || stopping.state === 'STOPPED' ? 0 : 1;
    }
    const progress = createProgress(this.progressStream, describeTask(stopping));
    let result: Awaited<ReturnType<typeof waitForTask>>;
    try {
      result = await waitForTask(client, stopping.id, {
        until: (task) => FINISHED_STATES.includes(task.state),
        timeoutMs,
        onUpdate: (task) => progress.update(describeTask(task)),
      });
    } catch (error) {
      progress.done();
      throw error;
    }
    const { task } = result.detail;
    if (result.timedOut) {
      progress.done(`cube: timed out after ${timeoutMs / 1000}s: ${describeTask(task)}`);
    } else if (task.state !== 'STOPPED') {
      progress.done(`cube: ${describeTask(task)}`);
    } else {
      progress.done();
    }
    if (this.json) this.printJson(task);
    else this.print(task.id);
    return !result.timedOut && task.state === 'STOPPED' ? 0 : 1;
  }
}
