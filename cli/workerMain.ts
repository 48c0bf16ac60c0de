// Entry of the bundled worker (dist/cube-worker.mjs, `npm run build:worker`): `cube worker`
// alone, without the rest of the CLI and without tsx's compiler hooks at run time, which
// cost a long-running daemon memory it never needs again after start-up.
import { Builtins, Cli } from 'clipanion';
import { WorkerCommand } from './commands/worker.js';
import { EXIT_USAGE, reportError } from './errors.js';

const cli = new Cli({ binaryLabel: 'Cube', binaryName: 'cube', enableColors: false });
cli.register(WorkerCommand);
cli.register(Builtins.HelpCommand);

const argv = process.argv.slice(2);
let command: ReturnType<Cli['process']>;
try {
  command = cli.process(argv, Cli.defaultContext);
} catch (error) {
  process.stderr.write(
    `cube: ${(error as Error).message.split('\n')[0]!.replace(/\.$/, '')}; see 'cube worker --help'\n`,
  );
  process.exit(EXIT_USAGE);
}
process.exitCode = await cli
  .run(command, Cli.defaultContext)
  .catch((error: unknown) => reportError(error, process.stderr));
