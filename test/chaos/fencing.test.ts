// Optional fencing: a worker cut off from AWS (its heartbeats failing, behind a proxy the
// test cuts) stops a task with `stopAfterDisconnect` once that long has passed, while the
// control plane places the task on another worker: after the bound one copy runs. A task
// without it keeps running on the cut-off worker too (the default: at least once) until the
// worker is back in touch and hands it over.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import { runWorker } from '../../worker/daemon.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster } from '../support/cli.js';
import { docker, removeContainersOfWorkers } from '../support/docker.js';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy.js';
import { submitSleepers, waitForWorkers } from './support.js';

let cluster: TestCluster;
let proxy: TcpProxy;
let endpoint: string;
const stopCutOff = new AbortController();
let cutOff: Promise<void> | undefined;
const workerIds: string[] = [];

before(async () => {
  endpoint = await ensureEmulator();
  proxy = await startTcpProxy(new URL(endpoint));
  cluster = await startTestCluster('fencing', ['--workers', '0']);
});

after(async () => {
  await proxy?.restore().catch(() => {});
  stopCutOff.abort();
  await cutOff?.catch(() => {});
  process.env.AWS_ENDPOINT_URL = endpoint;
  await cluster?.stop();
  await proxy?.close();
  await removeContainersOfWorkers(workerIds);
  await stopEmulator();
});

const running = async (taskId: string) =>
  docker.listContainers({ filters: { label: [`cube.task-id=${taskId}`] } });

const task = async (id: string) =>
  (await cluster.cubeJson<{ task: TaskRecord }>(['inspect', '--json', id])).task;

test('a cut-off worker stops a fenced task; an unfenced one runs on', {
  timeout: 240_000,
}, async () => {
  // The cut-off worker runs in this process and reaches AWS only through the proxy (its
  // registration goes to the API, which the cut leaves alone).
  process.env.AWS_ENDPOINT_URL = proxy.url;
  const logs: string[] = [];
  cutOff = runWorker(
    {
      apiUrl: cluster.apiUrl,
      token: cluster.token,
      name: `${cluster.prefix}-cut`,
      labels: {},
      capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3 },
      log: (line) => logs.push(line),
    },
    stopCutOff.signal,
  );
  const [a] = await waitForWorkers(cluster, 1);
  workerIds.push(a!.id);
  const [fenced] = await submitSleepers(cluster, 1, { stopAfterDisconnect: 10 });
  const [unfenced] = await submitSleepers(cluster, 1);
  for (const id of [fenced!, unfenced!]) {
    await eventually(`${id} RUNNING on the cut-off worker`, async () => {
      const t = await task(id);
      return t.state === 'RUNNING' && t.workerId === a!.id ? t : undefined;
    });
  }
  const fencedContainer = (await running(fenced!))[0]!;

  // A second worker, reaching AWS directly, to take the tasks over.
  cluster.startWorker(`${cluster.prefix}-ok`, ['--cpu', '1', '--memory', '1g']);
  const both = await waitForWorkers(cluster, 2);
  const b = both.find((w: WorkerRecord) => w.id !== a!.id)!;
  workerIds.push(b.id);

  await proxy.cut();
  await eventually(
    'the fenced task stopped on the cut-off worker',
    async () => {
      const info = await docker.getContainer(fencedContainer.Id).inspect();
      return info.State.Running ? undefined : info;
    },
    90_000,
  );
  assert.ok(
    logs.some((l) =>
      /no contact with the control plane for \d+ s \(its stopAfterDisconnect is 10 s\)/.test(l),
    ),
    logs.join('\n'),
  );
  const moved = await eventually(
    'the fenced task RUNNING on the other worker',
    async () => {
      const t = await task(fenced!);
      return t.state === 'RUNNING' && t.workerId === b.id ? t : undefined;
    },
    90_000,
  );
  assert.equal(moved.workerId, b.id);
  assert.equal((await running(fenced!)).length, 1, 'one copy of the fenced task runs');
  // The default: the cut-off worker keeps its unfenced copy running meanwhile.
  const unfencedCopies = await running(unfenced!);
  assert.ok(
    unfencedCopies.some((c) => c.Labels['cube.worker'] === a!.id),
    'the unfenced task still runs on the cut-off worker',
  );

  await proxy.restore();
  await eventually(
    'the unfenced task down to one copy once the worker is back',
    async () => {
      const copies = await running(unfenced!);
      const t = await task(unfenced!);
      return copies.length === 1 && t.state === 'RUNNING' ? copies : undefined;
    },
    90_000,
  );
});
