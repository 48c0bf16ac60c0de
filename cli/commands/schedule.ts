import { readFile } from 'node:fs/promises';
import { Command, Option, UsageError } from 'clipanion';
import type { TaskSpecInput } from '../../core/taskSpec.js';
import { CubeCommand } from '../baseCommand.js';
import { renderExplanation } from '../placement.js';

export class ScheduleCommand extends CubeCommand {
  static override paths = [['schedule']];
  static override usage = Command.Usage({
    description: 'Show where a task would be placed now, and why, without placing it',
    details: `
      Reads a task spec (the body of POST /v1/tasks, as JSON) and asks the control plane's
      scheduler to decide on it against the workers as they are now. Nothing is reserved or
      started. Exits 0 when the task would be placed and 1 when no worker fits.
    `,
    examples: [
      ['Where would this task go?', 'cube schedule --dry-run -f task.json'],
      [
        'Read the spec from stdin',
        'echo \'{"image":"busybox","memory":"2g"}\' | cube schedule --dry-run -f -',
      ],
      ['The decision as JSON', 'cube schedule --dry-run -f task.json --json'],
    ],
  });

  dryRun = Option.Boolean('--dry-run', false, { description: 'Decide, place nothing (required)' });
  file = Option.String('-f,--file', {
    description: 'Task spec JSON file, or - for stdin',
    required: true,
  });
  json = Option.Boolean('--json', false, { description: 'Print the decision as JSON' });

  protected async run(): Promise<number> {
    if (!this.dryRun) {
      throw new UsageError(
        "cube schedule only answers questions: add --dry-run (use 'cube run' to place a task)",
      );
    }
    const spec = await this.readSpec();
    const result = await this.client().dryRunSchedule(spec);
    if (this.json) {
      this.printJson(result);
    } else {
      const head = result.placed
        ? `would place on ${result.workerName} (${result.workerId}), score ${result.score?.toFixed(1)}`
        : `would stay PENDING: ${result.reason}`;
      this.print(`${head}\n${renderExplanation(result.explanation)}`);
    }
    return result.placed ? 0 : 1;
  }

  private async readSpec(): Promise<TaskSpecInput> {
    let text: string;
    try {
      text =
        this.file === '-' ? await readStdin(this.context.stdin) : await readFile(this.file, 'utf8');
    } catch (error) {
      throw new UsageError(
        `cannot read ${this.file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
      );
    }
    try {
      return JSON.parse(text) as TaskSpecInput;
    } catch (error) {
      throw new UsageError(`${this.file} is not JSON: ${(error as Error).message}`);
    }
  }
}

async function readStdin(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk;
  return text;
}
