// What the Docker-backed benchmarks share: arguments, the machine they ran on, a small API
// client, the raw engine's `docker run -d` as the yardstick, and Docker's own create/start
// times of a worker's containers (for per-phase breakdowns).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { freemem, totalmem } from 'node:os';
import { promisify } from 'node:util';
import type { TaskEvent, TaskRecord, WorkerRecord } from '../../core/types.js';
import type { TestCluster } from '../support/cli.js';
import { docker, TEST_IMAGE } from '../support/docker.js';

export const run = promisify(execFile);

export function benchArgs(argv = process.argv.slice(2)) {
  const json = argv.includes('--json');
  return {
    json,
    flag: (name: string) => argv.includes(name),
    option: (name: string, fallback: number) => {
      const i = argv.indexOf(name);
      return i >= 0 ? Number(argv[i + 1]) : fallback;
    },
    text: (name: string): string | undefined => {
      const i = argv.indexOf(name);
      return i >= 0 ? argv[i + 1] : undefined;
    },
    /** Progress lines go to stderr, and not at all with --json. */
    progress: (line: string) => {
      if (!json) process.stderr.write(`${line}\n`);
    },
  };
}

export async function machine() {
  const info = await docker.info();
  return {
    nproc: Number((await run('nproc')).stdout.trim()),
    memTotalGiB: Math.round(totalmem() / 1024 ** 3),
    memFreeGiB: Math.round(freemem() / 1024 ** 3),
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    node: process.version,
    docker: `${info.ServerVersion} (${info.Driver})`,
    loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

/**
 * The task every benchmark runs: a sleeping busybox, no network, small limits, quick stop.
 * Not a tiny cpu: `cpu` is a hard CFS quota, and the container's own start-up (runc init,
 * exec) runs under it: `docker run --cpus 0.01` takes ~3.5 s here against ~0.4 s unlimited.
 * The raw runs use the same limits, so the comparison is of the orchestration alone.
 */
export const SLEEPER = {
  image: TEST_IMAGE,
  command: ['sleep', '3600'],
  memory: '16m',
  cpu: 0.25,
  network: 'none',
  stopTimeout: 1,
};
export const SLEEPER_HOST_CONFIG = {
  NetworkMode: 'none',
  Memory: 16 * 1024 ** 2,
  NanoCpus: SLEEPER.cpu * 1e9,
};

/** `docker run -d` as a user would type it, with the same image and limits as SLEEPER. */
export async function rawDockerRun(label: string): Promise<{ ms: number; id: string }> {
  const start = performance.now();
  const { stdout } = await run('docker', [
    'run',
    '-d',
    '--network',
    'none',
    '--memory',
    SLEEPER.memory,
    '--cpus',
    String(SLEEPER.cpu),
    '--label',
    label,
    TEST_IMAGE,
    'sleep',
    '3600',
  ]);
  return { ms: performance.now() - start, id: stdout.trim() };
}

/** Removes the raw containers a benchmark made (by its own label), in parallel batches. */
export async function removeLabelled(label: string, onRemoved?: () => void): Promise<number> {
  const found = await docker.listContainers({ all: true, filters: { label: [label] } });
  for (let i = 0; i < found.length; i += 16) {
    await Promise.all(
      found.slice(i, i + 16).map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .then(onRemoved, () => {}),
      ),
    );
  }
  return found.length;
}

export function apiClient(cluster: Pick<TestCluster, 'apiUrl' | 'token'>) {
  const headers = { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' };
  const call = async <T>(path: string, init?: RequestInit): Promise<T> => {
    const response = await fetch(`${cluster.apiUrl}${path}`, { ...init, headers });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  return {
    call,
    submit: async (spec: object = SLEEPER) =>
      (
        await call<{ task: TaskRecord }>('/v1/tasks', {
          method: 'POST',
          body: JSON.stringify(spec),
        })
      ).task,
    get: (id: string) => call<{ task: TaskRecord; events: TaskEvent[] }>(`/v1/tasks/${id}`),
    stop: (id: string) => call<{ task: TaskRecord }>(`/v1/tasks/${id}`, { method: 'DELETE' }),
    /** Every page of the listing (the API answers 100 tasks a page by default). */
    list: async (state?: string) => {
      const tasks: TaskRecord[] = [];
      let nextToken: string | undefined;
      do {
        const query = new URLSearchParams({ limit: '1000' });
        if (state) query.set('state', state);
        if (nextToken) query.set('nextToken', nextToken);
        const page = await call<{ tasks: TaskRecord[]; nextToken?: string }>(`/v1/tasks?${query}`);
        tasks.push(...page.tasks);
        nextToken = page.nextToken;
      } while (nextToken);
      return tasks;
    },
    nodes: async () => (await call<{ nodes: WorkerRecord[] }>('/v1/nodes')).nodes,
  };
}
export type ApiClient = ReturnType<typeof apiClient>;

export async function waitForNodes(api: ApiClient, count: number, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ready = (await api.nodes()).filter((n) => n.state === 'READY');
    if (ready.length >= count) return ready;
    if (Date.now() > deadline) throw new Error(`${ready.length}/${count} workers READY`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Docker's own create/start times (ms since epoch) of containers, by Cube task id. */
export async function followDockerTimes(signal: AbortSignal) {
  const times = new Map<string, { create?: number; start?: number }>();
  const stream = (await docker.getEvents({
    filters: { type: ['container'], event: ['create', 'start'], label: ['cube.task-id'] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  let buffered = '';
  stream.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const e = JSON.parse(line) as {
          Action: 'create' | 'start';
          timeNano: number;
          Actor: { Attributes: Record<string, string> };
        };
        const id = e.Actor.Attributes['cube.task-id'];
        if (!id) continue;
        const entry = times.get(id) ?? {};
        entry[e.Action] = e.timeNano / 1e6;
        times.set(id, entry);
      } catch {}
    }
  });
  stream.on('error', () => {});
  signal.addEventListener('abort', () => stream.destroy(), { once: true });
  return times;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
