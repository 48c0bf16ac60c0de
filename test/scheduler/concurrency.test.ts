// Many scheduler invocations at once, each with its own (equally stale) view of the
// workers, as parallel Lambda batches have: the conditional reservation must keep every
// worker within its cpu and memory, and give each host port to one task only. (Run on an
// emulator whose DynamoDB serialises writes, as DynamoDB does: see scripts/moto_server.py.)
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { TaskRecord } from '../../core/types.js';
import { placePendingTask } from '../../functions/scheduler/placePendingTask.js';
import type { Deps } from '../../functions/shared/deps.js';
import { GiB } from '../core/schedulerFixtures.js';
import { addPendingTask, addWorker, ensureAtomicEmulator, schedulerDeps } from './support.js';

const MiB = 1024 ** 2;
let deps: Deps;
let stopEmulator: () => Promise<void>;

before(async () => {
  stopEmulator = await ensureAtomicEmulator();
  deps = await schedulerDeps('sched-race');
});
after(() => stopEmulator());

async function placeAllAtOnce(tasks: TaskRecord[]) {
  const view = await deps.workers.list();
  return Promise.allSettled(
    tasks.map((t) =>
      placePendingTask(
        deps,
        { kind: 'schedule', taskId: t.id, attempt: t.attempt },
        // Every invocation starts from the same snapshot, as separate batches would.
        { workers: view.map((w) => ({ ...w })) },
        {},
      ).then((outcome) => (outcome === 'placed' ? 'placed' : outcome)),
    ),
  );
}

test('parallel placements never overcommit cpu, memory or host ports', {
  timeout: 240_000,
}, async () => {
  // Room for four 500m/512MiB tasks and one small port holder each.
  const capacity = { cpuMillis: 2100, memoryBytes: 2 * GiB + 64 * MiB, diskBytes: 0 };
  for (const name of ['a', 'b', 'c']) await addWorker(deps, name, capacity, { zone: name });
  // 3 workers × 4 = 12 of these fit; 24 are asked for at once, under four policies.
  const plain = await Promise.all(
    Array.from({ length: 24 }, (_, i) =>
      addPendingTask(deps, {
        name: `p${i}`,
        scheduler: ['bin-pack', 'epvm', 'spread', 'round-robin'][i % 4]!,
        resources: { cpuMillis: 500, memoryBytes: 512 * MiB, diskBytes: 0 },
      }),
    ),
  );
  // host port 8080: one per worker, however small.
  const ported = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      addPendingTask(deps, {
        name: `port${i}`,
        scheduler: 'least-allocated',
        network: 'host',
        ports: [{ container: 8080, protocol: 'tcp' }],
        resources: { cpuMillis: 1, memoryBytes: 6 * MiB, diskBytes: 0 },
      }),
    ),
  );
  const settled = [
    ...(await placeAllAtOnce([...plain.slice(0, 12), ...ported])),
    ...(await placeAllAtOnce(plain.slice(12))),
  ];
  // A loser either finds no room (pending) or gives up after its races and is retried.
  for (const s of settled) {
    if (s.status === 'rejected') assert.match(String(s.reason), /lost \d+ reservation races/);
  }
  // Retry whatever is still pending, one at a time, until nothing more fits.
  for (const t of [...plain, ...ported]) {
    await placePendingTask(
      deps,
      { kind: 'schedule', taskId: t.id, attempt: 1 },
      { workers: await deps.workers.list() },
      {},
    );
  }

  const workers = await deps.workers.list();
  const placed = (await deps.tasks.listByState(['SCHEDULED'])).filter((t) =>
    workers.some((w) => w.id === t.workerId),
  );
  for (const w of workers) {
    const mine = placed.filter((t) => t.workerId === w.id);
    const sum = (f: (t: TaskRecord) => number) => mine.reduce((a, t) => a + f(t), 0);
    assert.ok(w.allocated.cpuMillis <= w.capacity.cpuMillis, `${w.name} cpu overcommitted`);
    assert.ok(w.allocated.memoryBytes <= w.capacity.memoryBytes, `${w.name} memory overcommitted`);
    // The allocation is exactly what its SCHEDULED tasks hold: nothing lost or doubled.
    assert.equal(
      w.allocated.cpuMillis,
      sum((t) => t.spec.resources.cpuMillis),
      w.name,
    );
    assert.equal(
      w.allocated.memoryBytes,
      sum((t) => t.spec.resources.memoryBytes),
      w.name,
    );
    assert.equal(w.allocated.tasks, mine.length, w.name);
    const portHolders = mine.filter((t) => t.spec.ports.length > 0);
    assert.ok(portHolders.length <= 1, `${w.name} gave tcp/8080 to ${portHolders.length} tasks`);
    assert.deepEqual(w.usedPorts ?? [], portHolders.length === 1 ? ['tcp/8080'] : []);
  }
  // The fleet is full: 12 plain tasks (memory-bound, 4 per worker) and 3 port holders.
  assert.equal(placed.filter((t) => t.spec.ports.length === 0).length, 12);
  assert.equal(placed.filter((t) => t.spec.ports.length > 0).length, 3);
  const pending = await deps.tasks.listByState(['PENDING']);
  assert.equal(pending.length, 15);
  const portWaiting = pending.find((t) => t.spec.ports.length > 0)!;
  assert.match(portWaiting.reason ?? '', /^0\/3 workers fit: 3 host port tcp\/8080 in use$/);

  // Stopping a port holder gives its port back in the same write.
  const holder = placed.find((t) => t.spec.ports.length > 0)!;
  await deps.tasks.transition(holder, { to: 'STOPPED', by: 'test' });
  const freed = await deps.workers.require(holder.workerId!);
  assert.equal(freed.usedPorts, undefined);
  assert.equal(
    await placePendingTask(
      deps,
      { kind: 'schedule', taskId: portWaiting.id, attempt: 1 },
      { workers: await deps.workers.list() },
      {},
    ),
    'placed',
  );
});
