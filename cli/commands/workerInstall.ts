// `cube worker install` / `cube worker uninstall`: the worker as a systemd service.
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Command, Option, UsageError } from 'clipanion';
import { CONTAINER_ALLOWANCES } from '../../core/containerPolicy.js';
import { parsePlacementKey, placementKeyFingerprint } from '../../core/placementSignature.js';
import { ApiClient } from '../apiClient.js';
import { readConfig, readTokenFile } from '../config.js';
import { reportError } from '../errors.js';
import {
  DEFAULT_ENV_FILE,
  DEFAULT_UNIT_DIR,
  installWorkerService,
  uninstallWorkerService,
} from '../install/systemdUnit.js';
import { PROJECT_ROOT } from '../local/emulator.js';
import { parseLabels } from '../taskRequest.js';
import { parseAdvertiseAddr, parseBridgeNetwork, parseStartConcurrency } from './worker.js';

const ENABLE = 'systemctl daemon-reload && systemctl enable --now cube-worker';

abstract class ServiceCommand extends Command {
  unitDir = Option.String('--unit-dir', DEFAULT_UNIT_DIR, {
    description: `Directory of the systemd unit (default ${DEFAULT_UNIT_DIR})`,
  });
  // Not --env-file: Node 20 checks that flag's file exists even after the script name, so
  // `cube worker install --env-file <new file>` would exit 9 before cube ever ran.
  envFile = Option.String('--environment-file', DEFAULT_ENV_FILE, {
    description: `Environment file with the URL, token and AWS settings (default ${DEFAULT_ENV_FILE})`,
  });

  protected abstract run(): number | Promise<number>;

  async execute(): Promise<number> {
    try {
      for (const [flag, path] of [
        ['--unit-dir', this.unitDir],
        ['--environment-file', this.envFile],
      ] as const) {
        if (!isAbsolute(path)) throw new UsageError(`${flag} must be an absolute path`);
      }
      return await this.run();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EACCES') {
        return reportError(
          new Error(`${(error as Error).message}: run it as root (sudo cube worker ...)`),
          this.context.stderr,
        );
      }
      return reportError(error, this.context.stderr);
    }
  }

  protected print(text: string): void {
    this.context.stdout.write(`${text}\n`);
  }
}

export class WorkerInstallCommand extends ServiceCommand {
  static override paths = [['worker', 'install']];
  static override usage = Command.Usage({
    description: 'Install the worker as a systemd service on this host',
    details: `
      Writes a systemd unit (cube-worker.service) that runs \`cube worker\` with this
      installation's node and cube, and an environment file (mode 0600) holding the API URL,
      the token, the worker's name and labels, where its AWS credentials come from, and the
      control plane's placement key, pinned: --control-plane-key, else the one the API
      answers now (GET /v1/placement-key; compare the fingerprint printed with \`cube up\`'s
      or \`cube nodes\`'). A pinned worker refuses a control plane holding another key.
      The API URL and token come from the flags, else CUBE_API_URL / CUBE_TOKEN, else the
      CLI's config file. Without --aws-profile the SDK's default chain is used (an instance
      profile with the stack's WorkerPolicyArn attached). Run as root, then enable it with
      \`${ENABLE}\`.
    `,
    examples: [
      [
        'Install on an EC2 host with an instance profile',
        'sudo cube worker install --api-url https://abc.execute-api.eu-west-1.amazonaws.com --token-file /root/worker-token --region eu-west-1 --label zone=a',
      ],
      [
        'Use a credentials profile',
        'sudo cube worker install --region eu-west-1 --aws-profile cube-worker --aws-credentials-file /etc/cube/aws-credentials',
      ],
    ],
  });

  apiUrl = Option.String('--api-url', { description: 'Control plane API URL' });
  token = Option.String('--token', {
    description: 'A worker (or admin) token; --token-file keeps it out of shell history and `ps`',
  });
  tokenFile = Option.String('--token-file', {
    description: 'Read the token from this file (- for standard input)',
  });
  name = Option.String('--name', { description: 'Worker name (default: the host name)' });
  label = Option.Array('--label', { description: 'Label k=v (repeatable)' });
  cpu = Option.String('--cpu', { description: 'CPU cores to offer (default: detected)' });
  memory = Option.String('--memory', { description: 'Memory to offer, e.g. 4g' });
  disk = Option.String('--disk', { description: 'Disk to offer, e.g. 20g' });
  startConcurrency = Option.String('--start-concurrency', {
    description: 'Containers started at once (default 4)',
  });
  advertiseAddr = Option.String('--advertise-addr', {
    description: "Address clients reach this host's published ports on (default: detected)",
  });
  bridgeNetwork = Option.String('--bridge-network', {
    description: 'Docker network for tasks with network bridge (default: bridge)',
  });
  controlPlaneKey = Option.String('--control-plane-key', {
    description:
      "The control plane's placement key to pin (ed25519:...; cube up prints it); default: the API's (GET /v1/placement-key)",
  });
  allow = Option.String('--allow', {
    description: 'What this host runs, comma-separated: host-network, privileged, host-mounts',
  });
  region = Option.String('--region', { description: 'AWS region (default: AWS_REGION)' });
  awsProfile = Option.String('--aws-profile', { description: 'AWS credentials profile' });
  awsCredentialsFile = Option.String('--aws-credentials-file', {
    description: 'Shared credentials file holding that profile (absolute path)',
  });
  awsEndpointUrl = Option.String('--aws-endpoint-url', {
    description: 'AWS endpoint, e.g. http://localhost:4566 for LocalStack',
  });
  user = Option.String('--user', {
    description: 'Run as this user (added to the docker group) instead of root',
  });

  protected async run(): Promise<number> {
    const { apiUrl, token } = readConfig({
      apiUrl: this.apiUrl,
      token: readTokenFile(this.tokenFile, this.token),
    });
    const region = this.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!region) throw new UsageError('--region is required (or set AWS_REGION)');
    if (this.awsCredentialsFile && !isAbsolute(this.awsCredentialsFile)) {
      throw new UsageError('--aws-credentials-file must be an absolute path');
    }
    const name = this.name ?? hostname();
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name)) {
      throw new UsageError(`--name '${name}' must hold only letters, digits, _ . -`);
    }
    const labels = parseLabels(this.label ?? []);
    const workerArgs: string[] = [];
    for (const [key, value] of Object.entries(labels))
      workerArgs.push('--label', `${key}=${value}`);
    if (this.cpu) workerArgs.push('--cpu', this.cpu);
    if (this.memory) workerArgs.push('--memory', this.memory);
    if (this.disk) workerArgs.push('--disk', this.disk);
    if (this.startConcurrency) {
      workerArgs.push('--start-concurrency', String(parseStartConcurrency(this.startConcurrency)));
    }
    if (this.advertiseAddr) {
      workerArgs.push('--advertise-addr', parseAdvertiseAddr(this.advertiseAddr));
    }
    if (this.bridgeNetwork) {
      workerArgs.push('--bridge-network', parseBridgeNetwork(this.bridgeNetwork));
    }
    if (this.controlPlaneKey) {
      try {
        parsePlacementKey(this.controlPlaneKey);
      } catch (error) {
        throw new UsageError(`--control-plane-key: ${(error as Error).message}`);
      }
    }
    const hostPolicy: Record<string, string> = {};
    for (const item of (this.allow ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const setting = CONTAINER_ALLOWANCES[item as keyof typeof CONTAINER_ALLOWANCES];
      if (!setting) {
        throw new UsageError(
          `--allow takes ${Object.keys(CONTAINER_ALLOWANCES).join(', ')}; not '${item}'`,
        );
      }
      hostPolicy[setting] = '1';
    }
    // systemd splits $CUBE_WORKER_ARGS on whitespace and knows no quoting there.
    const spaced = workerArgs.find((arg) => /\s/.test(arg));
    if (spaced) throw new UsageError(`'${spaced}' must not contain whitespace`);

    // Last, once every flag is known good: the one step that needs the API.
    const controlPlaneKey =
      this.controlPlaneKey?.trim() ?? (await fetchPlacementKey(apiUrl, token));

    const paths = installWorkerService(
      {
        apiUrl,
        token,
        name,
        workerArgs,
        controlPlaneKey,
        hostPolicy,
        aws: {
          region,
          ...(this.awsProfile ? { profile: this.awsProfile } : {}),
          ...(this.awsCredentialsFile ? { credentialsFile: this.awsCredentialsFile } : {}),
          ...(this.awsEndpointUrl ? { endpointUrl: this.awsEndpointUrl } : {}),
        },
      },
      {
        nodePath: process.execPath,
        cubeScript: realpathSync(join(PROJECT_ROOT, 'bin', 'cube.js')),
        envFile: this.envFile,
        docsPath: join(PROJECT_ROOT, 'docs', 'DEPLOY.md'),
        ...(this.user ? { user: this.user } : {}),
      },
      this.unitDir,
    );
    this.print(`wrote ${paths.unitPath}`);
    this.print(`wrote ${paths.envFile} (mode 0600)`);
    this.print(
      `pinned placement key ${placementKeyFingerprint(controlPlaneKey)}` +
        (this.controlPlaneKey
          ? ''
          : ` (answered by ${apiUrl}; compare it with cube up's or cube nodes')`),
    );
    this.print(`start it now and at every boot:\n  ${ENABLE}`);
    this.print('follow its log:\n  journalctl -u cube-worker -f');
    return 0;
  }
}

/** The key the API signs placements with now, to pin; a clear error when it cannot be had. */
async function fetchPlacementKey(apiUrl: string, token: string): Promise<string> {
  try {
    const { publicKey } = await new ApiClient({ apiUrl, token, timeoutMs: 15_000 }).placementKey();
    parsePlacementKey(publicKey);
    return publicKey;
  } catch (error) {
    throw new Error(
      `cannot get the control plane's placement key to pin: ${(error as Error).message}; ` +
        'give it with --control-plane-key ed25519:... (GET /v1/placement-key, or the Key line of cube up)',
    );
  }
}

export class WorkerUninstallCommand extends ServiceCommand {
  static override paths = [['worker', 'uninstall']];
  static override usage = Command.Usage({
    description: 'Remove the worker service files written by `cube worker install`',
    details: `
      Removes the unit and its environment file. Stop the service first
      (\`systemctl disable --now cube-worker\`); its containers keep running, and a worker
      installed again under the same name adopts them.
    `,
  });

  protected run(): number {
    const removed = uninstallWorkerService(this.unitDir, this.envFile);
    if (removed.length === 0) {
      this.print('nothing to remove: the worker service is not installed here');
      return 0;
    }
    for (const path of removed) this.print(`removed ${path}`);
    this.print('then reload systemd:\n  systemctl daemon-reload');
    return 0;
  }
}
