// Starts the project's AWS emulator (moto server from .venv) on loopback, used by `cube up`
// and by the test suite when AWS_ENDPOINT_URL does not point at one already.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface RunningEmulator {
  endpoint: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Whether something listens on 127.0.0.1:port already (a bind there fails). */
export async function portInUse(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

async function waitForHttp(url: string, timeoutMs: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the emulator exited with code ${child.exitCode}`);
    try {
      await fetch(url);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`the emulator did not answer at ${url} within ${timeoutMs / 1000} s`);
}

/** Starts moto on 127.0.0.1:port (a free one when port is 0). */
export async function startEmulator(port = 0): Promise<RunningEmulator> {
  const python = join(PROJECT_ROOT, '.venv', 'bin', 'python');
  if (!existsSync(python)) {
    throw new Error('the AWS emulator is not installed: run `bash scripts/setup-emulator.sh`');
  }
  const chosen = port || (await freePort());
  // moto's server with DynamoDB writes serialised, as DynamoDB does (scripts/moto_server.py).
  const server = join(PROJECT_ROOT, 'scripts', 'moto_server.py');
  const child = spawn(python, [server, '-H', '127.0.0.1', '-p', String(chosen)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group: a terminal's Ctrl-C goes to its starter, which stops it last.
    detached: true,
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const endpoint = `http://127.0.0.1:${chosen}`;
  try {
    await waitForHttp(`${endpoint}/moto-api/`, 30_000, child);
  } catch (error) {
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}\n${stderr}`);
  }
  return {
    endpoint,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Credentials an emulator (moto, LocalStack) accepts: it checks none. */
export const EMULATOR_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' } as const;

/** Dummy credentials so the SDK signs requests to a local emulator. */
export function emulatorEnv(endpoint: string): Record<string, string> {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY:
      process.env.AWS_SECRET_ACCESS_KEY ?? EMULATOR_CREDENTIALS.secretAccessKey,
  };
}
