// Runs the real `cube` binary and a real `cube up` for end-to-end tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import type { WorkerRecord } from '../../core/types.js';
import { uniquePrefix } from './aws.js';

const CUBE = join(PROJECT_ROOT, 'bin', 'cube.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCube(
  args: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CUBE, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`cube ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

export interface TestCluster {
  apiUrl: string;
  token: string;
  prefix: string;
  /** Environment for `cube` commands aimed at this cluster (its own config dir). */
  env: Record<string, string>;
  cube(args: string[], timeoutMs?: number): Promise<CliResult>;
  /** cube + JSON.parse(stdout), failing with stderr when the command fails. */
  cubeJson<T>(args: string[]): Promise<T>;
  /** Starts a separate `cube worker` process against this cluster. */
  startWorker(name: string, args?: string[]): ChildProcess;
  /** kill -9 of `cube up` (the emulator it uses is the suite's, so state survives). */
  killControlPlane(): Promise<void>;
  /** Starts `cube up` again over the same namespace (and port, when fixed). */
  restartControlPlane(): Promise<void>;
  logs(): string;
  stop(): Promise<void>;
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill(signal);
  });
}

export interface TestClusterOptions {
  /** Reuse a namespace (to restart a control plane over the same tables). */
  prefix?: string;
  /** Fixed API port, so workers keep reaching a restarted control plane. */
  port?: number;
  /** Extra environment for `cube up` and the workers it or the test starts. */
  env?: Record<string, string>;
  /** Run with the product's default intervals (for benchmarks), not the tests' quicker ones. */
  defaults?: boolean;
}

/** `cube up` in its own namespace against the suite's emulator (AWS_ENDPOINT_URL). */
export async function startTestCluster(
  label: string,
  upArgs: string[] = [],
  options: TestClusterOptions = {},
): Promise<TestCluster> {
  if (!process.env.AWS_ENDPOINT_URL) throw new Error('call ensureEmulator() first');
  const prefix = options.prefix ?? uniquePrefix(label);
  const configHome = mkdtempSync(join(tmpdir(), 'cube-test-'));
  const env: Record<string, string> = {
    XDG_CONFIG_HOME: configHome,
    CUBE_PREFIX: prefix,
    ...(options.defaults ? {} : { CUBE_HEARTBEAT_INTERVAL_MS: '2000' }),
    // Test tasks run on `none` or `host` networking (tests talk to loopback only).
    CUBE_ALLOW_HOST_NETWORK: '1',
    ...options.env,
  };
  const baseEnv = { ...process.env };
  delete baseEnv.CUBE_API_URL;
  delete baseEnv.CUBE_TOKEN;
  let output = '';
  const port = options.port ?? 0;

  const startUp = async () => {
    const up = spawn(
      process.execPath,
      [
        CUBE,
        'up',
        '--port',
        String(port),
        ...(options.defaults ? [] : ['--reconcile-interval', '3']),
        ...upArgs,
      ],
      { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const mark = output.length;
    up.stdout.on('data', (c: Buffer) => {
      output += c;
    });
    up.stderr.on('data', (c: Buffer) => {
      output += c;
    });
    const deadline = Date.now() + 60_000;
    while (!/Press Ctrl-C/.test(output.slice(mark))) {
      if (up.exitCode !== null || Date.now() > deadline) {
        up.kill('SIGKILL');
        throw new Error(`cube up did not start:\n${output.slice(mark)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const started = output.slice(mark);
    return {
      up,
      apiUrl: /API:\s+(\S+)/.exec(started)![1]!,
      token: /Token:\s+(\S+)/.exec(started)![1]!,
    };
  };

  let current = await startUp();
  const workers: ChildProcess[] = [];
  const cube = (args: string[], timeoutMs?: number) =>
    runCube(args, { ...env, CUBE_API_URL: current.apiUrl, CUBE_TOKEN: current.token }, timeoutMs);
  const cluster: TestCluster = {
    get apiUrl() {
      return current.apiUrl;
    },
    get token() {
      return current.token;
    },
    prefix,
    env,
    cube,
    cubeJson: async <T>(args: string[]) => {
      const result = await cube(args);
      if (result.code !== 0) {
        throw new Error(`cube ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
      }
      return JSON.parse(result.stdout) as T;
    },
    startWorker: (name, args = []) => {
      const child = spawn(
        process.execPath,
        [
          CUBE,
          'worker',
          '--name',
          name,
          '--api-url',
          current.apiUrl,
          '--token',
          current.token,
          ...args,
        ],
        { env: { ...baseEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout?.on('data', (c: Buffer) => {
        output += `[${name}] ${c}`;
      });
      child.stderr?.on('data', (c: Buffer) => {
        output += `[${name}] ${c}`;
      });
      workers.push(child);
      return child;
    },
    killControlPlane: async () => {
      await stopChild(current.up, 'SIGKILL');
    },
    restartControlPlane: async () => {
      if (current.up.exitCode === null && current.up.signalCode === null) {
        await stopChild(current.up, 'SIGKILL');
      }
      current = await startUp();
    },
    logs: () => output,
    stop: async () => {
      await Promise.all(workers.map((w) => stopChild(w)));
      await stopChild(current.up, 'SIGINT');
    },
  };
  return cluster;
}

/** JSON calls to an API at `base` with a bearer token: the status and the parsed body. */
export function apiCaller(base: string, token: string) {
  return async <T = Record<string, unknown>>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as T };
  };
}

/** Polls `check` until it returns a value (not undefined) or the time runs out. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Waits until exactly `count` workers are READY, and returns them. */
export async function waitForWorkers(cluster: TestCluster, count: number): Promise<WorkerRecord[]> {
  return eventually(`${count} READY workers`, async () => {
    const nodes = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
    const ready = nodes.filter((n) => n.state === 'READY');
    return ready.length === count ? ready : undefined;
  });
}
