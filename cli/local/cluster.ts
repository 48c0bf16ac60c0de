// `cube up`: the emulator (unless AWS_ENDPOINT_URL names one), the control plane in-process,
// and local worker processes; stops all of it on request.
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { CONTAINER_ALLOWANCES, type ContainerAllowance } from '../../core/containerPolicy.js';
import { configPath, writeConfig } from '../config.js';
import {
  EMULATOR_CREDENTIALS,
  emulatorEnv,
  PROJECT_ROOT,
  type RunningEmulator,
  startEmulator,
} from './emulator.js';

export interface LocalClusterOptions {
  port: number;
  workers: number;
  emulatorPort: number;
  reconcileIntervalMs: number;
  /**
   * What tasks may ask of this machine beyond an ordinary container (`--allow`): set for the
   * control plane and for the local workers alike.
   */
  allow?: ContainerAllowance[];
  /** Capacity flags passed to each local worker (e.g. ['--memory', '1g']). */
  workerArgs?: string[];
  log: (line: string) => void;
}

export { CONTAINER_ALLOWANCES };

export interface LocalCluster {
  apiUrl: string;
  token: string;
  configFile: string;
  emulatorEndpoint: string;
  /** The public key placements are signed with (`ed25519:...`); its local workers pin it. */
  placementKey: string;
  /** Stops the workers (SIGTERM, SIGKILL after 10 s), the control plane, then the emulator. */
  stop(): Promise<void>;
  /** SIGKILL of every process it started, for a user who will not wait for stop(). */
  kill(): void;
}

function prefixLines(
  stream: NodeJS.ReadableStream | null,
  prefix: string,
  log: (l: string) => void,
) {
  let buffered = '';
  stream?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) if (line.trim()) log(`${prefix} ${line}`);
  });
}

/** A local worker's environment: the control plane's, without where its signing key lives. */
function workerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { CUBE_PLACEMENT_KEY_FILE: _file, CUBE_PLACEMENT_KEY_SECRET: _secret, ...rest } = env;
  return rest;
}

export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  const { log } = options;
  let emulator: RunningEmulator | undefined;
  if (!process.env.AWS_ENDPOINT_URL) {
    log(`starting the AWS emulator on 127.0.0.1:${options.emulatorPort} ...`);
    emulator = await startEmulator(options.emulatorPort);
  }
  Object.assign(process.env, emulatorEnv(emulator?.endpoint ?? process.env.AWS_ENDPOINT_URL!));
  for (const allowance of options.allow ?? []) process.env[CONTAINER_ALLOWANCES[allowance]] = '1';
  // One key per namespace, kept beside the CLI's config: a restarted `cube up` signs with the
  // key its workers already hold.
  const prefix = process.env.CUBE_PREFIX ?? 'cube';
  const placementKeyFile = join(dirname(configPath()), `placement-key-${prefix}`);

  // The one place the CLI reaches into functions/: to run the handlers in-process.
  const { startLocalControlPlane } = await import('../../functions/local/controlPlane.js');
  let controlPlane: Awaited<ReturnType<typeof startLocalControlPlane>>;
  try {
    controlPlane = await startLocalControlPlane({
      port: options.port,
      reconcileIntervalMs: options.reconcileIntervalMs,
      placementKeyFile,
      log,
    });
  } catch (error) {
    await emulator?.stop();
    throw error;
  }

  const workers: ChildProcess[] = [];
  for (let i = 1; i <= options.workers; i++) {
    const name = `local-${i}`;
    const child = spawn(
      process.execPath,
      [
        join(PROJECT_ROOT, 'bin', 'cube.js'),
        'worker',
        '--name',
        name,
        '--api-url',
        controlPlane.apiUrl,
        '--token',
        controlPlane.workerToken,
        '--control-plane-key',
        controlPlane.placementKey,
        ...(options.workerArgs ?? []),
      ],
      {
        env: workerEnv({ ...process.env, ...controlPlane.env }),
        stdio: ['ignore', 'pipe', 'pipe'],
        // Out of the terminal's process group: Ctrl-C reaches `cube up` alone, which stops
        // the workers before the emulator they write to (and signals each of them once).
        detached: true,
      },
    );
    prefixLines(child.stdout, `[${name}]`, log);
    prefixLines(child.stderr, `[${name}]`, log);
    child.on('exit', (code, signal) => log(`[${name}] exited (${signal ?? code})`));
    workers.push(child);
  }

  // The emulator's endpoint beside the API URL: a `cube worker` in another shell, with no
  // AWS environment of its own, joins this cluster with it (cli/config.ts, localAwsEnv).
  // Never the environment's own credentials: the file would keep them.
  const configFile = writeConfig({
    apiUrl: controlPlane.apiUrl,
    token: controlPlane.adminToken,
    aws: {
      endpoint: process.env.AWS_ENDPOINT_URL!,
      region: process.env.AWS_REGION!,
      ...EMULATOR_CREDENTIALS,
    },
  });
  return {
    apiUrl: controlPlane.apiUrl,
    token: controlPlane.adminToken,
    configFile,
    emulatorEndpoint: process.env.AWS_ENDPOINT_URL!,
    placementKey: controlPlane.placementKey,
    stop: async () => {
      await Promise.all(
        workers.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
              child.once('exit', () => {
                clearTimeout(kill);
                resolve();
              });
              child.kill('SIGTERM');
            }),
        ),
      );
      await controlPlane.stop();
      await emulator?.stop();
    },
    kill: () => {
      for (const child of [...workers, emulator?.process]) {
        if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    },
  };
}
