// npm run bench:e2e [-- --tasks N] [--json]
// Submit -> RUNNING latency on the local stack (a real `cube up`: emulator, control plane,
// one worker, real containers) and, in the same run, the raw `docker run -d` time of the same
// image, with the ratio of the two. Prints figures; asserts nothing.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { TaskRecord } from '../../core/types.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { startTestCluster } from '../support/cli.js';
import { docker, removeContainersOfWorkers, TEST_IMAGE } from '../support/docker.js';
import { round, summary } from './stats.js';

const run = promisify(execFile);
const args = process.argv.slice(2);
const json = args.includes('--json');
const tasksArg = args.indexOf('--tasks');
const taskCount = tasksArg >= 0 ? Number(args[tasksArg + 1]) : 50;
const progress = (line: string) => {
  if (!json) process.stderr.write(`${line}\n`);
};

async function rawDockerRuns(n: number): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    const { stdout } = await run('docker', [
      'run',
      '-d',
      '--network',
      'none',
      TEST_IMAGE,
      'sleep',
      '300',
    ]);
    times.push(performance.now() - start);
    await docker.getContainer(stdout.trim()).remove({ force: true });
  }
  return times;
}

async function main() {
  await ensureEmulator();
  const cluster = await startTestCluster('bench', ['--workers', '1']);
  const headers = { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' };
  const api = (path: string, init?: RequestInit) =>
    fetch(`${cluster.apiUrl}${path}`, { ...init, headers }).then((r) => r.json());
  const workerIds: string[] = [];
  try {
    for (let i = 0; i < 200; i++) {
      const { nodes } = (await api('/v1/nodes')) as { nodes: { id: string }[] };
      if (nodes.length > 0) {
        workerIds.push(...nodes.map((n) => n.id));
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    progress('raw docker run -d (warm-up + 20 runs) ...');
    await rawDockerRuns(3);
    const raw = await rawDockerRuns(20);

    const client: number[] = [];
    const server: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < taskCount; i++) {
      const start = performance.now();
      const { task } = (await api('/v1/tasks', {
        method: 'POST',
        body: JSON.stringify({
          image: TEST_IMAGE,
          command: ['sleep', '600'],
          memory: '16m',
          cpu: 0.01,
          network: 'none',
        }),
      })) as { task: TaskRecord };
      ids.push(task.id);
      for (;;) {
        const { task: now } = (await api(`/v1/tasks/${task.id}`)) as { task: TaskRecord };
        if (now.state === 'RUNNING') {
          client.push(performance.now() - start);
          server.push(Date.parse(now.startedAt!) - Date.parse(now.createdAt));
          break;
        }
        if (['FAILED', 'STOPPED', 'COMPLETED', 'LOST'].includes(now.state)) {
          throw new Error(`task ${task.id} ended ${now.state}: ${now.reason}`);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      if ((i + 1) % 10 === 0) progress(`${i + 1}/${taskCount} tasks RUNNING`);
    }
    progress('stopping the tasks ...');
    for (const id of ids) await api(`/v1/tasks/${id}`, { method: 'DELETE' });

    const rawStats = summary(raw);
    const clientStats = summary(client);
    const serverStats = summary(server);
    const result = {
      benchmark: 'e2e',
      date: new Date().toISOString(),
      tasks: taskCount,
      rawDockerRunMs: rawStats,
      submitToRunningMs: clientStats,
      submitToRunningRecordMs: serverStats,
      ratioP50: round(clientStats.p50 / rawStats.p50, 2),
      ratioP99: round(clientStats.p99 / rawStats.p50, 2),
    };
    if (json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const row = (name: string, s: ReturnType<typeof summary>) =>
        `${name.padEnd(34)} ${String(s.p50).padStart(8)} ${String(s.p95).padStart(8)} ${String(s.p99).padStart(8)} ${String(s.max).padStart(8)}`;
      console.log(
        `\n${'ms'.padEnd(34)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'p99'.padStart(8)} ${'max'.padStart(8)}`,
      );
      console.log(row('raw docker run -d', rawStats));
      console.log(row(`submit -> RUNNING (client, n=${taskCount})`, clientStats));
      console.log(row('createdAt -> startedAt (record)', serverStats));
      console.log(
        `\nratio p50 / raw p50: ${result.ratioP50}x   ratio p99 / raw p50: ${result.ratioP99}x`,
      );
    }
  } finally {
    await cluster.stop();
    await removeContainersOfWorkers(workerIds);
    await stopEmulator();
  }
}

main().catch((error) => {
  console.error(`bench:e2e failed: ${(error as Error).message}`);
  process.exit(1);
});
