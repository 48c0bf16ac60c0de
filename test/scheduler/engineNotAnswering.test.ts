// A hung engine cannot swallow work: a worker whose Docker engine stops answering (a proxy in
// front of the socket that forwards nothing) says so with its heartbeat, the scheduler skips
// it with a counted reason, and `cube nodes` shows it; once the engine answers again it takes
// the task.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import Docker from 'dockerode';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import { runWorker } from '../../worker/daemon.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster } from '../support/cli.js';
import { removeContainersOfWorkers, TEST_IMAGE } from '../support/docker.js';
import { HangableEngineProxy } from '../support/engineProxy.js';

let cluster: TestCluster;
let engine: HangableEngineProxy;
const stopWorker = new AbortController();
let worker: Promise<void> | undefined;
const workerIds: string[] = [];

before(async () => {
  await ensureEmulator();
  engine = await HangableEngineProxy.start();
  cluster = await startTestCluster('enginehung', ['--workers', '0']);
});

after(async () => {
  engine?.resume();
  stopWorker.abort();
  await worker?.catch(() => {});
  await cluster?.stop();
  await engine?.close();
  await removeContainersOfWorkers(workerIds);
  await stopEmulator();
});

test('a worker whose engine does not answer is skipped and shown', {
  timeout: 150_000,
}, async () => {
  const name = `${cluster.prefix}-hung`;
  worker = runWorker(
    {
      apiUrl: cluster.apiUrl,
      token: cluster.token,
      name,
      labels: {},
      capacity: { cpuMillis: 2000, memoryBytes: 2 * 1024 ** 3, diskBytes: 10 * 1024 ** 3 },
      docker: new Docker({ host: '127.0.0.1', port: engine.port }),
      log: () => {},
    },
    stopWorker.signal,
  );
  const [registered] = await eventually('the worker READY', async () => {
    const nodes = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
    return nodes.some((n) => n.state === 'READY') ? nodes : undefined;
  });
  workerIds.push(registered!.id);

  engine.hang();
  const nodes = await eventually(
    'the engine reported not answering',
    async () => {
      const out = await cluster.cube(['nodes']);
      return /READY,ENGINE-NOT-ANSWERING/.test(out.stdout) ? out.stdout : undefined;
    },
    60_000,
  );
  assert.match(nodes, new RegExp(name));
  const [record] = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
  assert.equal(record?.engine?.answering, false);
  assert.match(record?.engine?.error ?? '', /did not answer a ping/);

  const run = await cluster.cube([
    'run',
    '--network',
    'none',
    '--json',
    TEST_IMAGE,
    'sleep',
    '300',
  ]);
  assert.equal(run.code, 0, run.stderr);
  const submitted = JSON.parse(run.stdout) as TaskRecord;
  const pending = await eventually('the reason the task waits', async () => {
    const { task } = await cluster.cubeJson<{ task: TaskRecord }>([
      'inspect',
      '--json',
      submitted.id,
    ]);
    return task.state === 'PENDING' && task.reason ? task : undefined;
  });
  assert.match(pending.reason ?? '', /0\/1 workers fit: 1 engine not answering/);

  engine.resume();
  const running = await eventually(
    'the task RUNNING once the engine answers',
    async () => {
      const { task } = await cluster.cubeJson<{ task: TaskRecord }>([
        'inspect',
        '--json',
        submitted.id,
      ]);
      return task.state === 'RUNNING' ? task : undefined;
    },
    90_000,
  );
  assert.equal(running.workerId, registered!.id);
  assert.doesNotMatch((await cluster.cube(['nodes'])).stdout, /ENGINE-NOT-ANSWERING/);
});
