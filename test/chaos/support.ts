// Shared set-up of the chaos tests: a cluster with separate worker processes, and tasks
// that a restart policy keeps alive.
import type { ChildProcess } from 'node:child_process';
import type { TaskRecord } from '../../core/types.js';
import { eventually, type TestCluster } from '../support/cli.js';
import { TEST_IMAGE } from '../support/docker.js';

// Kept here too: the chaos tests and benchmarks import their helpers from this module.
export { waitForWorkers } from '../support/cli.js';

/** Submits sleeping tasks through the API (faster than a CLI process per task). */
export async function submitSleepers(cluster: TestCluster, count: number, extra: object = {}) {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const response = await fetch(`${cluster.apiUrl}/v1/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        image: TEST_IMAGE,
        command: ['sleep', '3600'],
        memory: '16m',
        cpu: 0.05,
        network: 'none',
        restart: 'on-failure',
        stopTimeout: 1,
        ...extra,
      }),
    });
    if (response.status !== 201)
      throw new Error(`submit: ${response.status} ${await response.text()}`);
    ids.push(((await response.json()) as { task: TaskRecord }).task.id);
  }
  return ids;
}

export async function allRunning(cluster: TestCluster, ids: string[], timeoutMs = 60_000) {
  return eventually(
    `${ids.length} tasks RUNNING`,
    async () => {
      const tasks = await cluster.cubeJson<TaskRecord[]>(['ps', '--all', '--json']);
      const wanted = tasks.filter((t) => ids.includes(t.id));
      return wanted.length === ids.length && wanted.every((t) => t.state === 'RUNNING')
        ? wanted
        : undefined;
    },
    timeoutMs,
  );
}

export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}
