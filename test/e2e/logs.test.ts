// `cube logs` against a live `cube up` and a separate `cube worker` process (real engine, real
// emulator): all lines in order, --tail, -f live until the task ends, still readable after
// the worker is killed and the container removed, and a worker killed and restarted while
// its container keeps printing carries on with the same attempt, ships no line twice and
// leaves no gap unsaid.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import type { TaskRecord } from '../../core/types.js';
import { killHard } from '../chaos/support.js';
import { ensureEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster, waitForWorkers } from '../support/cli.js';
import { docker } from '../support/docker.js';
import { tearDownCluster } from '../support/teardown.js';

let cluster: TestCluster;
let workerIds: string[] = [];
let workerName: string;
let worker: ChildProcess;

before(async () => {
  await ensureEmulator();
  // A worker gone past its TTL is rightly taken for lost and its tasks rescheduled; the kill -9
  // case is about a worker that comes back before that, and a `cube worker` process can take
  // most of the default 6 s to start on a loaded machine.
  cluster = await startTestCluster('logs', ['--workers', '0'], {
    env: { CUBE_HEARTBEAT_TTL_MS: '30000' },
  });
  workerName = `${cluster.prefix}-w`;
  worker = cluster.startWorker(workerName);
  workerIds = (await waitForWorkers(cluster, 1)).map((w) => w.id);
});

after(async () => {
  await tearDownCluster(cluster, workerIds);
});

const numbered = (count: number, pause = '0') =>
  `i=1; while [ $i -le ${count} ]; do echo "line $i"; i=$((i+1)); sleep ${pause}; done`;

async function run(script: string): Promise<string> {
  const out = await cluster.cube([
    'run',
    '--network',
    'none',
    'cube-test/busybox',
    '--',
    'sh',
    '-c',
    script,
  ]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.trim();
}

const state = async (id: string) =>
  (await cluster.cubeJson<{ task: TaskRecord }>(['inspect', '--json', id])).task.state;

const waitState = (id: string, wanted: string) =>
  eventually(
    `task ${id} ${wanted}`,
    async () => ((await state(id)) === wanted ? true : undefined),
    60_000,
  );

async function logs(args: string[]): Promise<string[]> {
  const out = await cluster.cube(['logs', ...args]);
  assert.equal(out.code, 0, out.stderr);
  return out.stdout.split('\n').filter(Boolean);
}

const numbers = (lines: string[]) =>
  lines.filter((l) => l.startsWith('line ')).map((l) => Number(l.slice(5)));
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

test('all 50 lines in order; --tail 5 the last five; --timestamps prefixes times', async () => {
  const id = await run(numbered(50));
  await waitState(id, 'COMPLETED');
  assert.deepEqual(
    await logs([id]),
    oneTo(50).map((i) => `line ${i}`),
  );
  assert.deepEqual(
    await logs(['--tail', '5', id]),
    [46, 47, 48, 49, 50].map((i) => `line ${i}`),
  );
  const timed = await logs(['--timestamps', '--tail', '1', id]);
  assert.match(timed[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z line 50$/);
  const bad = await cluster.cube(['logs', '--tail', 'x', id]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /--tail must be a whole number/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
});

test('-f prints lines as they come and exits when the task ends', {
  timeout: 120_000,
}, async () => {
  const id = await run(numbered(100000, '0.2'));
  const follower = spawn(
    process.execPath,
    [join(PROJECT_ROOT, 'bin', 'cube.js'), 'logs', '-f', id],
    {
      env: {
        ...process.env,
        ...cluster.env,
        CUBE_API_URL: cluster.apiUrl,
        CUBE_TOKEN: cluster.token,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  follower.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  const exited = new Promise<number | null>((resolve) => follower.on('exit', resolve));
  // Live: lines arrive while the task runs...
  await eventually('5 lines followed', async () =>
    numbers(out.split('\n')).length >= 5 ? true : undefined,
  );
  assert.equal(await state(id), 'RUNNING');
  const seen = numbers(out.split('\n')).length;
  await eventually('more lines followed', async () =>
    numbers(out.split('\n')).length > seen + 5 ? true : undefined,
  );
  // ...and the follower exits once the task ends, with every line it printed.
  const stopped = await cluster.cube(['stop', id]);
  assert.equal(stopped.code, 0, stopped.stderr);
  assert.equal(await exited, 0);
  assert.equal(await state(id), 'STOPPED');
  const followed = numbers(out.split('\n'));
  assert.deepEqual(followed, oneTo(followed.length));
  assert.deepEqual(numbers(await logs([id])), followed, 'the follower missed nothing');
});

test('after kill -9 of the worker and removal of the container, the lines are still there', async () => {
  const id = await run(`${numbered(20)}; sleep 300`);
  await eventually(
    '20 lines shipped',
    async () => (numbers(await logs([id])).length === 20 ? true : undefined),
    90_000,
  );
  await killHard(worker);
  const containers = await docker.listContainers({
    all: true,
    filters: { label: [`cube.task-id=${id}`] },
  });
  assert.equal(containers.length, 1);
  await docker.getContainer(containers[0]!.Id).remove({ force: true });
  assert.deepEqual(numbers(await logs([id])), oneTo(20));
  worker = cluster.startWorker(workerName);
});

test('a worker killed and restarted while its container prints: no line twice, no gap', {
  timeout: 300_000,
}, async () => {
  const id = await run(numbered(100000, '0.05'));
  await waitState(id, 'RUNNING');
  // Attempt 1's stream: a task taken for lost would go on in attempt 2, from line 1 again.
  const shipped = () => logs(['--attempt', '1', id]);
  // The worker was itself just restarted by the test before: up to 90 s, as there.
  await eventually(
    'some lines shipped',
    async () => (numbers(await shipped()).length >= 10 ? true : undefined),
    90_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${cluster.logs().slice(-6000)}`);
  });
  await killHard(worker);
  await new Promise((r) => setTimeout(r, 2000));
  worker = cluster.startWorker(workerName);
  // Lines printed while no worker ran arrive after the restart, and then new ones. The new
  // daemon carries on as the killed one's instance (its pid is gone: worker/control/
  // instanceFile.ts), without waiting out its heartbeat TTL, and adopts the container.
  const before = numbers(await shipped()).length;
  await eventually(
    'lines shipped after the restart',
    async () => (numbers(await shipped()).length > before + 60 ? true : undefined),
    120_000,
  );
  const stopped = await cluster.cube(['stop', '--wait', id]);
  assert.equal(stopped.code, 0, stopped.stderr);
  const { task } = await cluster.cubeJson<{ task: TaskRecord }>(['inspect', '--json', id]);
  assert.equal(task.attempt, 1, 'the task was never taken for lost');
  assert.equal(task.state, 'STOPPED');
  const lines = await shipped();
  assert.deepEqual(numbers(lines), oneTo(numbers(lines).length), 'every number once, in order');
  assert.ok(!lines.some((l) => l.startsWith('[cube]')), 'nothing dropped or missing');
});
