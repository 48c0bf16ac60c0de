// Placeholder: the lead replaces this file with the real `cube up`.
import { Command } from 'clipanion';

export class UpCommand extends Command {
  static override paths = [['up']];
  static override usage = Command.Usage({
    description: 'Start a local control plane (not implemented yet)',
  });

  async execute(): Promise<number> {
    this.context.stderr.write('cube: up is not implemented yet\n');
    return 1;
  }
}
