// Submit-time placement (functions/api/placeOnSubmit.ts) on the emulator: a new task that
// fits is stored already placed, with its reservation, both timeline events and a run
// message, in one write; parallel submits never overcommit a worker (the losers go the
// scheduler's way, PENDING with a nudge); a worker cordoned after the API cached its view
// of the fleet is not placed on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';
import { storeSubmittedTask } from '../../functions/api/placeOnSubmit.js';
import type { Deps } from '../../functions/shared/deps.js';
import { task } from '../core/schedulerFixtures.js';
import { addWorker, ensureAtomicEmulator, schedulerDeps } from './support.js';

const MiB = 1024 ** 2;
let deps: Deps;
let stopEmulator: () => Promise<void>;

before(async () => {
  stopEmulator = await ensureAtomicEmulator();
  deps = await schedulerDeps('place-submit');
});
after(() => stopEmulator());

let seq = 0;
function submit(name: string): Promise<TaskRecord> {
  const id = `ts${Date.now().toString(36)}${(seq++).toString(36)}`;
  const spec = task({ name, resources: { cpuMillis: 500, memoryBytes: 256 * MiB, diskBytes: 0 } });
  const { task: record, event } = newTask(id, spec, 'api:test');
  return storeSubmittedTask(deps, record, event);
}

async function drain(queueUrl: string): Promise<{ kind?: string; taskId: string }[]> {
  const bodies: { kind?: string; taskId: string }[] = [];
  for (;;) {
    const got = await deps.queues.receive(queueUrl, { max: 10, waitSeconds: 1 });
    if (got.length === 0) return bodies;
    for (const m of got) {
      bodies.push(JSON.parse(m.Body ?? '{}'));
      await deps.queues.delete(queueUrl, m.ReceiptHandle!);
    }
  }
}

test('submitted tasks are placed in one write, never overcommitting', {
  timeout: 180_000,
}, async () => {
  // Room for 2 tasks of 500m / 256 MiB on each worker.
  const capacity = { cpuMillis: 1000, memoryBytes: 1024 * MiB, diskBytes: 0 };
  const a = await addWorker(deps, 'a', capacity);
  const b = await addWorker(deps, 'b', capacity);

  const first = await submit('first');
  assert.equal(first.state, 'SCHEDULED', 'a task that fits is stored placed');
  const stored = await deps.tasks.require(first.id);
  assert.equal(stored.state, 'SCHEDULED');
  assert.deepEqual(
    (await deps.tasks.events(first.id)).map((e) => [e.to, e.by]),
    [
      ['PENDING', 'api:test'],
      ['SCHEDULED', 'scheduler'],
    ],
  );
  assert.ok(stored.placement, 'the placement explanation is kept');

  // Seven more at once, all deciding from the same cached view: 3 more fit.
  const rest = await Promise.all(Array.from({ length: 7 }, (_, i) => submit(`t${i}`)));
  const all = [first, ...rest];
  const placed = all.filter((t) => t.state === 'SCHEDULED');
  const pending = all.filter((t) => t.state === 'PENDING');
  assert.equal(placed.length + pending.length, 8);
  assert.ok(placed.length <= 4, `${placed.length} placed on room for 4`);
  for (const w of [a, b]) {
    const now = await deps.workers.require(w.id);
    const mine = (await deps.tasks.listByState(['SCHEDULED'])).filter((t) => t.workerId === w.id);
    assert.ok(now.allocated.cpuMillis <= 1000, `${w.name} cpu overcommitted`);
    assert.equal(now.allocated.tasks, mine.length, `${w.name}: allocation = its tasks`);
    assert.equal(now.allocated.cpuMillis, mine.length * 500);
  }
  // Each placed task has its run message; each pending one its schedule nudge.
  const runs = [...(await drain(a.queueUrl)), ...(await drain(b.queueUrl))];
  assert.deepEqual(runs.map((m) => m.taskId).sort(), placed.map((t) => t.id).sort());
  assert.ok(runs.every((m) => m.kind === 'run'));
  const nudged = await drain(await deps.queues.schedulingQueueUrl());
  assert.deepEqual(nudged.map((m) => m.taskId).sort(), pending.map((t) => t.id).sort());
  for (const t of pending) {
    assert.equal((await deps.tasks.require(t.id)).state, 'PENDING', 'nothing half-written');
  }
});

test('a worker cordoned after the view was cached is not placed on', {
  timeout: 120_000,
}, async () => {
  deps = await schedulerDeps('place-cordon'); // its own tables: c is the only worker
  const capacity = { cpuMillis: 8000, memoryBytes: 8192 * MiB, diskBytes: 0 };
  const c = await addWorker(deps, 'c', capacity);
  // Warm the API's cached view of the fleet, with c in it and ready.
  const warm = await submit('warm');
  assert.equal(warm.workerId, c.id);
  await deps.workers.setCordoned(c.id, true);
  const next = await submit('after-cordon');
  assert.equal(next.state, 'PENDING', 'the stale view lost the reservation race');
  assert.equal((await deps.workers.require(c.id)).allocated.tasks, 1);
  // The view now knows: the next submit does not even try c.
  const third = await submit('third');
  assert.equal(third.state, 'PENDING');
  assert.equal((await deps.tasks.require(third.id)).workerId, undefined);
});

test('parallel submits spread over identical workers', { timeout: 120_000 }, async () => {
  deps = await schedulerDeps('place-spread'); // its own tables: ten empty, equal workers
  const capacity = { cpuMillis: 64_000, memoryBytes: 64 * 1024 * MiB, diskBytes: 0 };
  const workers = [];
  for (let i = 0; i < 10; i++) workers.push(await addWorker(deps, `w${i}`, capacity));
  // 40 at once, the first of them finding no view yet: one scan, one view for all.
  const placed = await Promise.all(Array.from({ length: 40 }, (_, i) => submit(`p${i}`)));
  assert.ok(
    placed.every((t) => t.state === 'SCHEDULED'),
    'all fit',
  );
  const perWorker = workers.map((w) => placed.filter((t) => t.workerId === w.id).length);
  // E-PVM on reservations prefers the least reserved of equal workers: 4 each, as when
  // submitted one by one. Deciding on a copy per request put them all on one worker.
  assert.deepEqual(perWorker, Array(10).fill(4), `tasks per worker: ${perWorker.join(', ')}`);
  for (const w of workers) {
    assert.equal((await deps.workers.require(w.id)).allocated.tasks, 4, `${w.name} reservations`);
  }
});
