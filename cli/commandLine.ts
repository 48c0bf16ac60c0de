// The `cube` command line's definition: every command, the Cli that parses them, and the one
// line a command line that matches none of them gets. Apart from main.ts so the docs check
// (test/cli/docCommands.test.ts) resolves argv against the very same Cli without running it.
import { readFileSync } from 'node:fs';
import { Builtins, Cli } from 'clipanion';
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

/** Every command of the CLI (the worker bundle, cli/workerMain.ts, has WorkerCommand alone). */
export const COMMANDS = [
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
];

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
  for (const command of [...COMMANDS, Builtins.HelpCommand, Builtins.VersionCommand]) {
    cli.register(command);
  }
  return cli;
}

/** The first word of every command (`run`, `node`, `token`, `tokens`, ...). */
const TOP_LEVEL = new Set(COMMANDS.flatMap((command) => command.paths.map((path) => path[0])));

// clipanion does not export this class from its entry point; it is recognised by name.
export interface UnknownSyntaxError extends Error {
  candidates: { usage: string; reason: string | null }[];
}

export const isSyntaxError = (error: unknown): error is UnknownSyntaxError =>
  error instanceof Error &&
  error.name === 'UnknownSyntaxError' &&
  Array.isArray((error as Partial<UnknownSyntaxError>).candidates);

/** One line for a command line clipanion could not match to any command. */
export function describeSyntaxError(error: UnknownSyntaxError, argv: readonly string[]): string {
  const verb = argv.find((arg) => !arg.startsWith('-'));
  if (verb === undefined || !TOP_LEVEL.has(verb)) {
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
