import { hostname } from 'node:os';
import { Command, Option, UsageError } from 'clipanion';
import { advertiseAddressProblem } from '../../core/endpoints.js';
import { parsePlacementKey } from '../../core/placementSignature.js';
import type { Resources } from '../../core/types.js';
import { coresToMillis, parseSize } from '../../core/units.js';
import { CubeCommand } from '../baseCommand.js';
import {
  type CubeConfigFile,
  localAwsEnv,
  readConfig,
  readConfigFile,
  readTokenFile,
} from '../config.js';
import { parseCpu, parseLabels } from '../taskRequest.js';

/** `--start-concurrency`: a whole number of at least 1. */
export function parseStartConcurrency(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1) {
    throw new UsageError(
      `--start-concurrency must be a whole number of at least 1, not '${value}'`,
    );
  }
  return n;
}

/** `--advertise-addr`: an IP address or a host name. */
export function parseAdvertiseAddr(value: string): string {
  const problem = advertiseAddressProblem(value);
  if (problem) throw new UsageError(`--advertise-addr ${problem}`);
  return value;
}

/** `--bridge-network`: a Docker network name. */
export function parseBridgeNetwork(value: string): string {
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/.test(value)) {
    throw new UsageError(`--bridge-network must be a Docker network name, not '${value}'`);
  }
  return value;
}

export class WorkerCommand extends CubeCommand {
  static override paths = [['worker']];
  static override usage = Command.Usage({
    description: 'Run a worker daemon on this host',
    details: `
      Registers this host with the control plane, then runs the tasks placed on it as
      Docker containers until interrupted (Ctrl-C or SIGTERM stop it cleanly; a second
      signal exits at once). Capacity is detected from the host unless overridden.
      The API URL and token come from the flags, else CUBE_API_URL / CUBE_TOKEN, else the
      config file written by \`cube up\`. AWS settings come from the SDK's environment
      (AWS_ENDPOINT_URL, AWS_REGION, credentials); a worker of the cluster \`cube up\` wrote
      to the config file takes what that environment does not name from the file.
    `,
    examples: [
      ['Run a worker with the detected capacity', 'cube worker'],
      [
        'Offer 2 cores and 4g of memory, labelled',
        'cube worker --name w1 --label zone=a --cpu 2 --memory 4g',
      ],
    ],
  });

  name = Option.String('--name', { description: 'Worker name (default: the host name)' });
  label = Option.Array('--label', {
    description: 'Label k=v for placement constraints (repeatable)',
  });
  cpu = Option.String('--cpu', { description: 'CPU cores to offer (default: detected)' });
  memory = Option.String('--memory', {
    description: 'Memory to offer, e.g. 4g (default: detected)',
  });
  disk = Option.String('--disk', { description: 'Disk to offer, e.g. 20g (default: detected)' });
  oversubscribe = Option.Boolean('--oversubscribe', false, {
    description:
      'Offer --cpu and --memory as given even above what the host has (default: clamped to the host)',
  });
  startConcurrency = Option.String('--start-concurrency', {
    description: 'Containers started at once (default 4; a backlog waits in the queue)',
  });
  advertiseAddr = Option.String('--advertise-addr', {
    description:
      "Address clients reach this host's published ports on (default: the default route's IPv4)",
  });
  bridgeNetwork = Option.String('--bridge-network', {
    description: 'Docker network for tasks with network bridge (default: bridge)',
  });
  apiUrl = Option.String('--api-url', { description: 'Control plane API URL' });
  token = Option.String('--token', {
    description: 'API token (a worker or admin token); --token-file keeps it out of `ps`',
  });
  tokenFile = Option.String('--token-file', {
    description: 'Read the API token from this file (- for standard input)',
  });
  controlPlaneKey = Option.String('--control-plane-key', {
    description:
      'Pin the control plane key placements must be signed with (default: CUBE_CONTROL_PLANE_KEY, else the one registration returns)',
  });

  protected async run(): Promise<number> {
    const startConcurrency =
      this.startConcurrency === undefined
        ? undefined
        : parseStartConcurrency(this.startConcurrency);
    const capacity: Partial<Resources> = {};
    if (this.cpu !== undefined) capacity.cpuMillis = coresToMillis(parseCpu(this.cpu));
    if (this.memory !== undefined) capacity.memoryBytes = size('--memory', this.memory);
    if (this.disk !== undefined) capacity.diskBytes = size('--disk', this.disk);
    const labels = parseLabels(this.label ?? []);
    const address =
      this.advertiseAddr === undefined ? undefined : parseAdvertiseAddr(this.advertiseAddr);
    const bridgeNetwork =
      this.bridgeNetwork === undefined ? undefined : parseBridgeNetwork(this.bridgeNetwork);
    const name = this.name ?? hostname();
    const token = readTokenFile(this.tokenFile, this.token);
    const config = readConfig({ apiUrl: this.apiUrl, token });
    // Before the SDK's clients exist: they read the environment when they are made.
    Object.assign(process.env, localAwsEnv(config.apiUrl, configFileOrNone()));
    const pinnedKey = this.controlPlaneKey ?? process.env.CUBE_CONTROL_PLANE_KEY;
    if (pinnedKey) {
      try {
        parsePlacementKey(pinnedKey);
      } catch (error) {
        throw new UsageError(`--control-plane-key: ${(error as Error).message}`);
      }
    }

    // The only place the CLI loads worker code: the daemon runs in this process.
    const { runWorker } = await import('../../worker/daemon.js');

    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals) => {
      if (controller.signal.aborted) {
        this.warn(`cube: ${signal} again, exiting now`);
        process.exit(130);
      }
      this.warn(`cube: ${signal} received, stopping worker ${name} (again to force)`);
      controller.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await runWorker(
        {
          apiUrl: config.apiUrl,
          token: config.token,
          name,
          labels,
          ...(Object.keys(capacity).length > 0 ? { capacity } : {}),
          ...(this.oversubscribe ? { oversubscribe: true } : {}),
          ...(startConcurrency !== undefined ? { startConcurrency } : {}),
          ...(address !== undefined ? { address } : {}),
          ...(bridgeNetwork !== undefined ? { bridgeNetwork } : {}),
          ...(pinnedKey ? { controlPlaneKey: pinnedKey } : {}),
          log: (line: string) => this.warn(line),
        },
        controller.signal,
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return 0;
  }
}

/** The config file, or nothing when it is unreadable (the flags or environment sufficed). */
function configFileOrNone(): CubeConfigFile {
  try {
    return readConfigFile();
  } catch {
    return {};
  }
}

function size(flag: string, text: string): number {
  const bytes = parseSize(text);
  if (bytes === undefined || bytes <= 0) {
    throw new UsageError(`${flag} must be a size like 512m or 4g (got '${text}')`);
  }
  return bytes;
}
