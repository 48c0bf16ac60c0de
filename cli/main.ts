// The `cube` command line: parses argv with the Cli of commandLine.ts and turns every parse
// error into one `cube: ...` line on stderr (clipanion would print it, with a usage dump, on
// stdout).
import { Cli, UsageError } from 'clipanion';
import { buildCli, describeSyntaxError, isSyntaxError } from './commandLine.js';
import { EXIT_USAGE, reportError } from './errors.js';

export async function main(argv: string[]): Promise<number> {
  const cli = buildCli();
  const context = Cli.defaultContext;
  if (argv.length === 0) {
    context.stdout.write(cli.usage(null, { colored: cli.enableColors }));
    return 0;
  }
  let command: Awaited<ReturnType<Cli['process']>>;
  try {
    command = cli.process(argv, context);
  } catch (error) {
    if (isSyntaxError(error)) {
      context.stderr.write(`cube: ${describeSyntaxError(error, argv)}\n`);
      return EXIT_USAGE;
    }
    // Bad option values (validators) arrive here as UsageError; anything else is ours.
    return reportError(
      error instanceof Error ? error : new UsageError(String(error)),
      context.stderr,
    );
  }
  return cli.run(command, context);
}

// EPIPE when the reader goes away (`cube ps | head`) is not an error worth a trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

process.exitCode = await main(process.argv.slice(2));
