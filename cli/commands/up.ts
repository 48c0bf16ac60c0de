// `cube up`: a whole local cluster on this machine, until Ctrl-C.
import { Command, Option, UsageError } from 'clipanion';
import * as t from 'typanion';
import { CubeCommand } from '../baseCommand.js';

export class UpCommand extends CubeCommand {
  static override paths = [['up']];
  static override usage = Command.Usage({
    description: 'Run a local control plane, AWS emulator and worker on this machine',
    details: `
      Starts the AWS emulator on loopback (unless \`AWS_ENDPOINT_URL\` points at one, such as
      LocalStack), creates the tables and queues, serves the API on 127.0.0.1, runs the
      scheduler and reconciler, and starts local workers. It prints the API URL and an admin
      token and writes both to the CLI config file. Ctrl-C stops everything it started.
    `,
    examples: [
      ['Start a cluster with one worker', 'cube up'],
      ['Start only the control plane, on port 9000', 'cube up --port 9000 --workers 0'],
      ['Let tasks use host networking', 'cube up --allow host-network'],
    ],
  });

  port = Option.String('--port', '8470', {
    description: 'API port on 127.0.0.1 (0 picks a free one)',
    validator: t.isNumber(),
  });
  workers = Option.String('--workers', '1', {
    description: 'Local workers to start',
    validator: t.isNumber(),
  });
  emulatorPort = Option.String('--emulator-port', '4566', {
    description: 'Port of the AWS emulator it starts',
    validator: t.isNumber(),
  });
  reconcileInterval = Option.String('--reconcile-interval', '1', {
    description: 'Seconds between reconciler runs',
    validator: t.isNumber(),
  });
  allow = Option.String('--allow', {
    description:
      'What tasks may ask of this machine, comma-separated: host-network, privileged, host-mounts (default: none)',
  });
  workerCpu = Option.String('--worker-cpu', { description: 'Cores each local worker offers' });
  workerMemory = Option.String('--worker-memory', {
    description: 'Memory each local worker offers (e.g. 2g)',
  });

  async run(): Promise<number> {
    const log = (line: string) => this.context.stderr.write(`${line}\n`);
    const { startLocalCluster, CONTAINER_ALLOWANCES } = await import('../local/cluster.js');
    const allow = (this.allow ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const item of allow) {
      if (!(item in CONTAINER_ALLOWANCES)) {
        throw new UsageError(
          `--allow takes ${Object.keys(CONTAINER_ALLOWANCES).join(', ')}; not '${item}'`,
        );
      }
    }
    const cluster = await startLocalCluster({
      allow: allow as (keyof typeof CONTAINER_ALLOWANCES)[],
      port: this.port,
      workers: this.workers,
      emulatorPort: this.emulatorPort,
      reconcileIntervalMs: this.reconcileInterval * 1000,
      workerArgs: [
        ...(this.workerCpu ? ['--cpu', this.workerCpu] : []),
        ...(this.workerMemory ? ['--memory', this.workerMemory] : []),
      ],
      log,
    });
    this.context.stdout.write(
      `Cube is up.\n  API:    ${cluster.apiUrl}\n  Token:  ${cluster.token}\n` +
        `  AWS:    ${cluster.emulatorEndpoint}\n  Config: ${cluster.configFile}\n` +
        'Press Ctrl-C to stop.\n',
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    log('stopping ...');
    await cluster.stop();
    log('stopped');
    return 0;
  }
}
