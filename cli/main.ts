// The `cube` command line: registers the commands and turns every parse error into one
// `cube: ...` line on stderr (clipanion would print it, with a usage dump, on stdout).
import { readFileSync } from 'node:fs';
import { Builtins, Cli, UsageError } from 'clipanion';
import { EventsCommand } from './commands/events.js';
import { InspectCommand } from './commands/inspect.js';
import { LogsCommand } from './commands/logs.js';
import {
  NodeCordonCommand,
  NodeDrainCommand,
  NodeRemoveCommand,
  NodeUncordonCommand,
} from './commands/node.js';
import { NodesCommand } from './commands/nodes.js';
import { PsCommand } from './commands/ps.js';
import { RunCommand } from './commands/run.js';
import { ScheduleCommand } from './commands/schedule.js';
import { ApplyCommand } from './commands/services/apply.js';
import {
  RolloutHistoryCommand,
  ServiceInspectCommand,
  ServicesCommand,
} from './commands/services/list.js';
import {
  EndpointsCommand,
  RolloutStatusCommand,
  RolloutUndoCommand,
  ScaleCommand,
  ServiceRmCommand,
} from './commands/services/manage.js';
import { StopCommand } from './commands/stop.js';
import { TokenCreateCommand, TokenListCommand, TokenRevokeCommand } from './commands/token.js';
import { UpCommand } from './commands/up.js';
import { WorkerCommand } from './commands/worker.js';
import { WorkerInstallCommand, WorkerUninstallCommand } from './commands/workerInstall.js';
import { EXIT_USAGE, reportError } from './errors.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export function buildCli(): Cli {
  const cli = new Cli({
    binaryLabel: 'Cube',
    binaryName: 'cube',
    binaryVersion: packageVersion(),
    // clipanion colours by the terminal's depth even when stdout is a pipe.
    enableColors: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR,
  });
  for (const command of [
    RunCommand,
    PsCommand,
    InspectCommand,
    LogsCommand,
    StopCommand,
    NodesCommand,
    NodeCordonCommand,
    NodeUncordonCommand,
    NodeDrainCommand,
    NodeRemoveCommand,
    EventsCommand,
    ScheduleCommand,
    ApplyCommand,
    ServicesCommand,
    ServiceInspectCommand,
    ServiceRmCommand,
    ScaleCommand,
    RolloutStatusCommand,
    RolloutUndoCommand,
    RolloutHistoryCommand,
    EndpointsCommand,
    TokenCreateCommand,
    TokenListCommand,
    TokenRevokeCommand,
    WorkerCommand,
    WorkerInstallCommand,
    WorkerUninstallCommand,
    UpCommand,
    Builtins.HelpCommand,
    Builtins.VersionCommand,
  ]) {
    cli.register(command);
  }
  return cli;
}

const TOP_LEVEL = [
  'run',
  'ps',
  'inspect',
  'logs',
  'stop',
  'nodes',
  'node',
  'events',
  'schedule',
  'apply',
  'services',
  'service',
  'scale',
  'rollout',
  'endpoints',
  'token',
  'tokens',
  'worker',
  'up',
];

// clipanion does not export this class from its entry point; it is recognised by name.
interface UnknownSyntaxError extends Error {
  candidates: { usage: string; reason: string | null }[];
}

const isSyntaxError = (error: unknown): error is UnknownSyntaxError =>
  error instanceof Error &&
  error.name === 'UnknownSyntaxError' &&
  Array.isArray((error as Partial<UnknownSyntaxError>).candidates);

/** One line for a command line clipanion could not match to any command. */
export function describeSyntaxError(error: UnknownSyntaxError, argv: readonly string[]): string {
  const verb = argv.find((arg) => !arg.startsWith('-'));
  if (verb === undefined || !TOP_LEVEL.includes(verb)) {
    return verb === undefined
      ? `unknown option '${argv[0]}'; see 'cube --help'`
      : `unknown command '${verb}'; see 'cube --help'`;
  }
  const help = `see 'cube ${verb} --help'`;
  const reasons = new Set(error.candidates.map((c) => c.reason).filter((r) => r !== null));
  if (reasons.size === 1) {
    const [reason] = reasons;
    const text = String(reason).replace(/\.$/, '');
    return `${text.charAt(0).toLowerCase()}${text.slice(1)}; ${help}`;
  }
  if (verb === 'run') {
    return `cannot parse these arguments; put the container's command after '--' (cube run IMAGE -- CMD ARGS...); ${help}`;
  }
  return `cannot parse these arguments; ${help}`;
}

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
