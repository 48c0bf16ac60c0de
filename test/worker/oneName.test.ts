// One name, one worker: a second live daemon registering a name already held is refused with
// an error naming the first (host, pid, registration time), and the first keeps working; a
// restart after the first died without a word carries on at once when it can show it is the
// dead one's successor (same host and boot, the pid gone: control/instanceFile.ts), else takes
// over once the first's heartbeat has gone stale.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import { RegistrationRejectedError } from '../../worker/control/registration.js';
import { runWorker } from '../../worker/daemon.js';
import { killHard, submitSleepers } from '../chaos/support.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster } from '../support/cli.js';
import { removeContainersOfWorkers } from '../support/docker.js';

let cluster: TestCluster;
/** The `cube worker` children's state folder (XDG_STATE_HOME), apart from the user's own. */
const stateHome = mkdtempSync(join(tmpdir(), 'cube-state-'));
const stops: AbortController[] = [];
const daemons: Promise<void>[] = [];
const workerIds: string[] = [];

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('onename', ['--workers', '0'], {
    env: { XDG_STATE_HOME: stateHome },
  });
});

after(async () => {
  for (const stop of stops) stop.abort();
  await Promise.allSettled(daemons);
  await cluster?.stop();
  await removeContainersOfWorkers(workerIds);
  await stopEmulator();
});

/** An in-process daemon (the real one) under `name`; its log lines land in `logs`. */
const daemon = (name: string, logs: string[], stateDir = join(stateHome, 'cube')) => {
  const stop = new AbortController();
  stops.push(stop);
  const running = runWorker(
    {
      apiUrl: cluster.apiUrl,
      token: cluster.token,
      name,
      labels: {},
      capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3 },
      // Beats every second even while idle, so its TTL is the control plane's (6 s).
      heartbeatIntervalMs: 1_000,
      log: (line) => logs.push(line),
      stateDir,
    },
    stop.signal,
  );
  daemons.push(running.catch(() => {}));
  return { running, stop };
};

const node = async (name: string) => {
  const nodes = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
  return nodes.find((n) => n.name === name);
};

test('a second live daemon under one name is refused, naming the first', {
  timeout: 120_000,
}, async () => {
  const name = `${cluster.prefix}-twin`;
  const firstLogs: string[] = [];
  daemon(name, firstLogs);
  const first = await eventually('the first daemon READY', async () => {
    const w = await node(name);
    return w?.state === 'READY' && w.instance ? w : undefined;
  });
  workerIds.push(first.id);
  assert.equal(first.instance?.hostname, hostname());
  assert.equal(first.instance?.pid, process.pid);

  const secondLogs: string[] = [];
  const second = daemon(name, secondLogs);
  await assert.rejects(second.running, (error: unknown) => {
    assert.ok(error instanceof RegistrationRejectedError, String(error));
    assert.equal(error.status, 409);
    assert.match(
      error.message,
      new RegExp(
        `worker name "${name}" is held by a live daemon \\(host ${hostname()}, pid ${process.pid}, registered at ${first.instance!.registeredAt}`,
      ),
    );
    return true;
  });
  // It waited once, in case the holder was a predecessor that died.
  assert.ok(
    secondLogs.some((l) => /in case it is a previous daemon/.test(l)),
    secondLogs.join('\n'),
  );

  // The first is untouched: still its instance, still beating.
  const later = await eventually('a heartbeat of the first after the refusal', async () => {
    const w = await node(name);
    return w && w.heartbeatAt > first.heartbeatAt ? w : undefined;
  });
  assert.equal(later.state, 'READY');
  assert.deepEqual(later.instance, first.instance);
  assert.ok(!firstLogs.some((l) => /another daemon registered/.test(l)), firstLogs.join('\n'));
});

/** A `cube worker` child under `name`, busy with a task (beating every 2 s), then killed. */
async function killedBusyWorker(name: string) {
  // Labelled, and its task pinned to it: the in-process daemons of the tests before are READY
  // too, and a task placed on one of them would leave this worker idle.
  const child = cluster.startWorker(name, [
    '--cpu',
    '1',
    '--memory',
    '1g',
    '--label',
    `busy=${name}`,
  ]);
  const first = await eventually('the first daemon READY', async () => {
    const w = await node(name);
    return w?.state === 'READY' && w.instance ? w : undefined;
  });
  workerIds.push(first.id);
  // A task keeps it busy, so its TTL is seconds, not an idle one's minutes.
  const [taskId] = await submitSleepers(cluster, 1, { constraints: [`busy=${name}`] });
  const running = await eventually('the task RUNNING', async () => {
    const { task } = await cluster.cubeJson<{ task: TaskRecord }>(['inspect', '--json', taskId!]);
    return task.state === 'RUNNING' ? task : undefined;
  });
  assert.equal(running.workerId, first.id);
  // Killed only once a heartbeat has declared the busy interval: killed before it, the stored
  // interval is still the idle one (a minute), and a successor rightly waits out that TTL. A busy
  // beat declares 2 s plus its recent round trips (up to 10 s more on a loaded emulator), so
  // anything under the idle minute is a busy one.
  await eventually('a busy heartbeat stored', async () => {
    const w = await node(name);
    return w?.heartbeatIntervalMs !== undefined && w.heartbeatIntervalMs < 60_000 ? w : undefined;
  }).catch(async (error: Error) => {
    throw new Error(
      `${error.message}: ${JSON.stringify(await node(name))}\n${cluster.logs().slice(-4000)}`,
    );
  });
  await killHard(child);
  return first;
}

const registeredHere = (name: string) =>
  eventually(
    'the restart registered',
    async () => {
      const w = await node(name);
      return w?.state === 'READY' && w.instance?.pid === process.pid ? w : undefined;
    },
    90_000,
  );

test('a restart on the same host after a kill -9 carries on at once as the same instance', {
  timeout: 150_000,
}, async () => {
  const name = `${cluster.prefix}-carried`;
  const first = await killedBusyWorker(name);
  const logs: string[] = [];
  daemon(name, logs);
  const taken = await registeredHere(name);
  assert.equal(taken.id, first.id);
  // The same instance (registered at the same time), and no wait for the first's TTL.
  assert.equal(taken.instance?.registeredAt, first.instance?.registeredAt);
  assert.ok(
    logs.some((l) => /carrying on from its previous daemon on this host \(pid \d+, gone\)/.test(l)),
    logs.join('\n'),
  );
  assert.ok(!logs.some((l) => /in case it is a previous daemon/.test(l)), logs.join('\n'));
});

test('a restart that cannot show it is the successor takes over once the heartbeat is stale', {
  timeout: 150_000,
}, async () => {
  const name = `${cluster.prefix}-restarted`;
  const first = await killedBusyWorker(name);
  // Another state folder: as if on another host, it has no record of the first daemon.
  daemon(name, [], mkdtempSync(join(tmpdir(), 'cube-state-')));
  const taken = await registeredHere(name);
  assert.equal(taken.id, first.id, 'the same worker, its queue and containers');
  assert.notEqual(taken.instance?.registeredAt, first.instance?.registeredAt);
});
