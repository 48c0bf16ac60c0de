// `cube up`: a whole local cluster on this machine, until Ctrl-C.
import { Command, Option, UsageError } from 'clipanion';
import * as t from 'typanion';
import { placementKeyFingerprint } from '../../core/placementSignature.js';
import { CubeCommand } from '../baseCommand.js';
import type { LocalCluster } from '../local/cluster.js';

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

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
    const log = (line: string) => this.warn(line);
    // Signals are caught from the start: the processes it starts are out of the terminal's
    // process group, so a Ctrl-C during start-up must still stop them. The first Ctrl-C (or
    // SIGTERM, SIGHUP) stops everything in order; a second one is most likely the same stop
    // sent twice (a terminal's and a wrapper script's), so it is only answered; a third kills
    // what is left at once.
    let cluster: LocalCluster | undefined;
    let signals = 0;
    const stopRequested = new Promise<void>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        signals++;
        if (signals === 1) return resolve();
        if (signals === 2) return log(`cube: ${signal}: stopping already; once more to kill`);
        log(`cube: ${signal} again, killing what is left`);
        cluster?.kill();
        process.exit(130);
      };
      for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
    });
    const { startLocalCluster, CONTAINER_ALLOWANCES } = await import('../local/cluster.js');
    const { portInUse } = await import('../local/emulator.js');
    // Another cube up (or npm run demo) on the same ports: said at once, before its emulator
    // would be taken for ours or an API port refused halfway through the start.
    const ports: [number, string][] = [[this.port, '--port']];
    if (!process.env.AWS_ENDPOINT_URL) ports.push([this.emulatorPort, '--emulator-port']);
    for (const [port, option] of ports) {
      if (port !== 0 && (await portInUse(port))) {
        throw new Error(
          `port ${port} (${option}) is in use on 127.0.0.1: is another 'cube up' or 'npm run demo' running? Stop it, or pick another port (${option} 0 takes a free one)`,
        );
      }
    }
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
    cluster = await startLocalCluster({
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
    if (signals === 0) {
      this.context.stdout.write(
        `Cube is up.\n  API:    ${cluster.apiUrl}\n  Token:  ${cluster.token}\n` +
          `  AWS:    ${cluster.emulatorEndpoint}\n  Config: ${cluster.configFile}\n` +
          `  Key:    ${placementKeyFingerprint(cluster.placementKey)} (placements are signed; ` +
          `a worker pins it with --control-plane-key ${cluster.placementKey})\n` +
          'Press Ctrl-C to stop.\n',
      );
    }
    await stopRequested;
    log('stopping ...');
    await cluster.stop();
    log('stopped');
    return 0;
  }
}
