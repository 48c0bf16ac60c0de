// Cordon and drain at the store level: the drained worker takes nothing new, its tasks go
// STOPPING with a reschedule planned and a stop message each, and once stopped (what the
// worker does: aws/restarts.ts) they are placed on another worker.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { applyDueRestart } from '../../aws/restarts.js';
import { CapacityExhaustedError } from '../../core/errors.js';
import { parseWorkerMessage } from '../../core/messages.js';
import { drainWorker } from '../../functions/api/drainWorker.js';
import { placePendingTask } from '../../functions/scheduler/placePendingTask.js';
import type { Deps } from '../../functions/shared/deps.js';
import { GiB } from '../core/schedulerFixtures.js';
import { addPendingTask, addWorker, ensureAtomicEmulator, schedulerDeps } from './support.js';

let deps: Deps;
let stopEmulator: () => Promise<void>;

before(async () => {
  stopEmulator = await ensureAtomicEmulator();
  deps = await schedulerDeps('sched-drain');
});
after(() => stopEmulator());

const capacity = { cpuMillis: 4000, memoryBytes: 8 * GiB, diskBytes: 0 };
const place = async (id: string) =>
  placePendingTask(
    deps,
    { kind: 'schedule', taskId: id, attempt: (await deps.tasks.require(id)).attempt },
    { workers: await deps.workers.list() },
    {},
  );

test('drain cordons, stops with a planned reschedule, and the tasks land elsewhere', {
  timeout: 120_000,
}, async () => {
  const a = await addWorker(deps, 'a', capacity, { zone: 'a' });
  // Only a exists at first, so both tasks go there.
  const t1 = await addPendingTask(deps, { name: 'one' });
  const t2 = await addPendingTask(deps, {
    name: 'two',
    network: 'host',
    ports: [{ container: 9000, protocol: 'tcp' }],
  });
  assert.equal(await place(t1.id), 'placed');
  assert.equal(await place(t2.id), 'placed');
  // t2 gets as far as RUNNING, t1 stays SCHEDULED.
  let running = await deps.tasks.require(t2.id);
  running = await deps.tasks.transition(running, { to: 'STARTING', by: 'worker:a' });
  running = await deps.tasks.transition(running, {
    to: 'RUNNING',
    by: 'worker:a',
    patch: { containerId: 'c2' },
  });
  const b = await addWorker(deps, 'b', capacity, { zone: 'b' });

  const report = await drainWorker(deps, a.id, 'api:test');
  assert.equal(report.worker.cordoned, true);
  assert.deepEqual(report.stopping.sort(), [t1.id, t2.id].sort());
  for (const id of [t1.id, t2.id]) {
    const t = await deps.tasks.require(id);
    assert.equal(t.state, 'STOPPING');
    assert.equal(t.restart?.kind, 'reschedule');
    assert.equal(t.restartDue, t.restart?.at);
    assert.match(t.reason ?? '', /draining worker/);
  }
  // one stop message per task on a's queue
  const messages = await deps.queues.receive(a.queueUrl, { waitSeconds: 1 });
  assert.deepEqual(
    messages
      .map((m) => parseWorkerMessage(m.Body!))
      .map((m) => `${m.kind}:${m.taskId}`)
      .filter((s) => s.startsWith('stop'))
      .sort(),
    [`stop:${t1.id}`, `stop:${t2.id}`].sort(),
  );
  // a stale view of the fleet cannot put anything on the cordoned worker
  const t3 = await addPendingTask(deps, { name: 'three' });
  const staleView = [{ ...a, cordoned: false }];
  await assert.rejects(
    deps.tasks.transition(t3, {
      to: 'SCHEDULED',
      by: 'scheduler',
      patch: { workerId: staleView[0]!.id },
    }),
    CapacityExhaustedError,
  );

  // The worker stops the containers and carries out the plan (aws/restarts.ts).
  for (const id of [t1.id, t2.id]) {
    const out = await applyDueRestart(deps, await deps.tasks.require(id), 'worker:a');
    assert.equal(out.kind, 'rescheduled');
  }
  const drained = await deps.workers.require(a.id);
  assert.equal(drained.allocated.tasks, 0);
  assert.equal(drained.usedPorts, undefined);
  for (const id of [t1.id, t2.id]) {
    assert.equal(await place(id), 'placed');
    const t = await deps.tasks.require(id);
    assert.equal(t.workerId, b.id);
    assert.equal(t.attempt, 2);
  }
  assert.deepEqual((await deps.workers.require(b.id)).usedPorts, ['tcp/9000']);
  // and a still stays cordoned until told otherwise
  assert.equal((await deps.workers.require(a.id)).cordoned, true);
  assert.equal((await deps.workers.setCordoned(a.id, false)).cordoned, false);
});
