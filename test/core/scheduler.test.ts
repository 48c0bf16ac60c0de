// The scheduler framework: filters, reasons, registry, placement result, policies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  DEFAULT_POLICY,
  EPVM_L,
  epvmCost,
  formatNoFitReason,
  isHeartbeatFresh,
  notCordoned,
  PolicyRegistry,
  placeTask,
  policyRegistry,
  rankWorkers,
  resourcesFit,
  UnknownPolicyError,
  workerReady,
} from '../../core/scheduler/index.js';
import type { TaskSpec, WorkerRecord } from '../../core/types.js';
import { allocated, ctxAt, GiB, NOW, task as taskWith, worker } from './schedulerFixtures.js';

/** A spec that differs from the fixture only in its resources. */
const task = (cpuMillis = 500, memoryBytes = GiB, diskBytes = 0): TaskSpec =>
  taskWith({ resources: { cpuMillis, memoryBytes, diskBytes } });

test('resourcesFit checks memory, cpu and disk against capacity minus allocated', () => {
  const w = worker('a', { allocated: allocated(3500, 7 * GiB, 2, 99 * GiB) });
  assert.equal(resourcesFit.filter(task(500, GiB, GiB), w, ctxAt()), undefined); // exact fit
  assert.equal(resourcesFit.filter(task(501, GiB), w, ctxAt()), 'insufficient cpu');
  assert.equal(resourcesFit.filter(task(500, GiB + 1), w, ctxAt()), 'insufficient memory');
  assert.equal(resourcesFit.filter(task(500, GiB, GiB + 1), w, ctxAt()), 'insufficient disk');
  // a zero demand never fails, even on an overcommitted worker
  const over = worker('b', { allocated: allocated(5000, 9 * GiB) });
  assert.equal(resourcesFit.filter(task(0, 0), over, ctxAt()), undefined);
});

test('workerReady wants READY and a heartbeat within the ttl', () => {
  const ctx = ctxAt();
  assert.equal(workerReady.filter(task(), worker('a'), ctx), undefined);
  assert.equal(workerReady.filter(task(), worker('a', { state: 'DOWN' }), ctx), 'not ready');
  const at = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
  assert.equal(
    workerReady.filter(task(), worker('a', { heartbeatAt: at(30_000) }), ctx),
    undefined,
  );
  assert.equal(
    workerReady.filter(task(), worker('a', { heartbeatAt: at(30_001) }), ctx),
    'not ready',
  );
  assert.equal(workerReady.filter(task(), worker('a', { heartbeatAt: at(-5000) }), ctx), undefined);
  // other ISO spellings are parsed, garbage is stale
  assert.equal(isHeartbeatFresh('2026-05-01T13:59:50+02:00', ctx), true);
  assert.equal(isHeartbeatFresh('2026-05-01T13:59:00+02:00', ctx), false);
  assert.equal(isHeartbeatFresh('yesterday', ctx), false);
  // a new ttl or a new now is honoured (the cutoff is memoised per context)
  assert.equal(isHeartbeatFresh(at(20_000), { now: NOW, heartbeatTtlMs: 10_000 }), false);
  assert.equal(
    isHeartbeatFresh(at(20_000), { now: new Date(NOW.getTime() - 15_000), heartbeatTtlMs: 10_000 }),
    true,
  );
});

test('notCordoned rejects cordoned workers', () => {
  assert.equal(notCordoned.filter(task(), worker('a'), ctxAt()), undefined);
  assert.equal(notCordoned.filter(task(), worker('a', { cordoned: true }), ctxAt()), 'cordoned');
});

test('no fit: counts per first rejecting filter, sorted by count then name', () => {
  const workers = [
    worker('a', { allocated: allocated(0, 8 * GiB) }),
    worker('b', { state: 'DOWN', allocated: allocated(0, 8 * GiB) }), // not ready wins
    worker('c', { allocated: allocated(0, 8 * GiB) }),
  ];
  const d = placeTask(task(), workers, 'epvm', ctxAt());
  assert.equal(d.workerId, undefined);
  assert.equal(d.reason, '0/3 workers fit: 2 insufficient memory, 1 not ready');
  assert.deepEqual(d.explanation.rejected, { 'insufficient memory': 2, 'not ready': 1 });
  assert.equal(d.explanation.workersEvaluated, 3);
  assert.equal(d.explanation.workersFeasible, 0);
  assert.deepEqual(d.explanation.topScores, []);
  assert.equal(
    formatNoFitReason(4, { cordoned: 1, 'not ready': 1, 'insufficient cpu': 2 }),
    '0/4 workers fit: 2 insufficient cpu, 1 cordoned, 1 not ready',
  );
});

test('no workers at all', () => {
  const d = placeTask(task(), [], DEFAULT_POLICY, ctxAt());
  assert.equal(d.reason, '0/0 workers fit: no workers registered');
  assert.equal(d.explanation.workersEvaluated, 0);
});

test('placed: reason, explanation and top 3', () => {
  const workers = ['a', 'b', 'c', 'd'].map((id, i) =>
    worker(id, { allocated: allocated(i * 500, i * GiB) }),
  );
  workers.push(worker('e', { cordoned: true }));
  const d = placeTask(task(), workers, 'epvm', ctxAt());
  assert.equal(d.workerId, 'a');
  assert.match(d.reason, /^placed on n-a \(score \d+\.\d\) by epvm$/);
  const e = d.explanation;
  assert.equal(e.policy, 'epvm');
  assert.equal(e.at, NOW.toISOString());
  assert.equal(e.workersEvaluated, 5);
  assert.equal(e.workersFeasible, 4);
  assert.deepEqual(e.rejected, { cordoned: 1 });
  assert.deepEqual(
    e.topScores.map((s) => s.workerId),
    ['a', 'b', 'c'],
  );
  assert.equal(e.topScores[0]!.workerName, 'n-a');
  assert.ok(e.topScores[0]!.score > e.topScores[1]!.score);
  assert.equal(e.chosenWorkerId, 'a');
});

test('rankWorkers returns every feasible worker, best first', () => {
  const workers = ['a', 'b', 'c', 'd'].map((id, i) =>
    worker(id, { allocated: allocated((3 - i) * 500, (3 - i) * GiB) }),
  );
  workers.push(worker('x', { state: 'DOWN' }));
  const ranked = rankWorkers(task(), workers, 'epvm', ctxAt());
  assert.deepEqual(
    ranked.map((r) => r.worker.id),
    ['d', 'c', 'b', 'a'],
  );
  for (let i = 1; i < ranked.length; i++) assert.ok(ranked[i - 1]!.score >= ranked[i]!.score);
});

test('unknown policy throws UnknownPolicyError listing the known ones', () => {
  assert.throws(
    () => placeTask(task(), [worker('a')], 'nope', ctxAt()),
    (err: unknown) =>
      err instanceof UnknownPolicyError &&
      err.known.includes('epvm') &&
      err.known.includes('round-robin') &&
      /nope/.test(err.message),
  );
  assert.throws(() => rankWorkers(task(), [], 'nope', ctxAt()), UnknownPolicyError);
});

test('registry: built-ins, default, custom policy, duplicate names', () => {
  assert.equal(DEFAULT_POLICY, 'epvm');
  for (const name of ['epvm', 'epvm-live', 'round-robin', 'bin-pack', 'least-allocated']) {
    assert.ok(policyRegistry.names().includes(name), name);
    assert.equal(policyRegistry.get(name).name, name);
  }
  const registry = new PolicyRegistry();
  const onlyGpu = {
    name: 'only-gpu',
    filters: [
      {
        name: 'gpu',
        filter: (_t: unknown, w: { labels: Record<string, string> }) =>
          w.labels.gpu ? undefined : 'no gpu',
      },
    ],
    scorers: [{ plugin: { name: 'flat', score: () => 50 }, weight: 2 }],
  };
  registry.register(onlyGpu);
  assert.deepEqual(registry.names(), ['only-gpu']);
  assert.throws(() => registry.register(onlyGpu), /already registered/);
  registry.register(onlyGpu, { replace: true });
  assert.throws(
    () =>
      registry.register({
        ...onlyGpu,
        name: 'bad',
        scorers: [{ plugin: onlyGpu.scorers[0]!.plugin, weight: 0 }],
      }),
    /weight/,
  );
  // a custom policy in the shared registry is usable by placeTask
  policyRegistry.register({ ...onlyGpu, name: 'test-only-gpu' }, { replace: true });
  const d = placeTask(
    task(),
    [worker('a'), worker('b', { labels: { gpu: '1' } })],
    'test-only-gpu',
    ctxAt(),
  );
  assert.equal(d.workerId, 'b');
  assert.equal(d.reason, 'placed on n-b (score 50.0) by test-only-gpu');
  const none = placeTask(task(), [worker('a')], 'test-only-gpu', ctxAt());
  assert.equal(none.reason, '0/1 workers fit: 1 no gpu');
  policyRegistry.unregister('test-only-gpu');
});

test('candidateLimit stops after enough feasible workers and rotates the scan', () => {
  const workers = Array.from({ length: 10 }, (_, i) => worker(`w${i}`));
  const cursor = { scanOffset: 0 };
  const ctx = ctxAt({ candidateLimit: 3, roundRobin: cursor });
  const first = placeTask(task(), workers, 'epvm', ctx);
  assert.equal(first.explanation.workersEvaluated, 3);
  assert.equal(first.workerId, 'w0');
  assert.equal(cursor.scanOffset, 3);
  const second = placeTask(task(), workers, 'epvm', ctx);
  assert.equal(second.workerId, 'w3');
  // nothing fits: the whole cluster is still evaluated and explained
  const none = placeTask(task(99_000), workers, 'epvm', ctx);
  assert.equal(none.reason, '0/10 workers fit: 10 insufficient cpu');
});

// E-PVM, computed by hand: L^((load+demand)/cap) − L^(load/cap), summed over cpu and memory.
const hand = (load: number, demand: number, cap: number) =>
  EPVM_L ** ((load + demand) / cap) - EPVM_L ** (load / cap);

test('epvm picks the worker with the lower marginal cost (formula by hand)', () => {
  // a: cpu 1000/4000, mem 5/8 GiB. b: cpu 3000/4000, mem 2/8 GiB. Task: 500m, 1 GiB.
  const a = worker('a', { allocated: allocated(1000, 5 * GiB) });
  const b = worker('b', { allocated: allocated(3000, 2 * GiB) });
  const t = task(500, GiB);
  const costA = hand(1000, 500, 4000) + hand(5 * GiB, GiB, 8 * GiB);
  const costB = hand(3000, 500, 4000) + hand(2 * GiB, GiB, 8 * GiB);
  assert.ok(Math.abs(epvmCost(t, a) - costA) < 1e-12);
  assert.ok(Math.abs(epvmCost(t, b) - costB) < 1e-12);
  assert.ok(costA < costB, `by hand ${costA} < ${costB}`); // 0.1343 < 0.1383
  assert.equal(placeTask(t, [b, a], 'epvm', ctxAt()).workerId, 'a');
  // bigger worker, same absolute load: lower marginal cost wins
  const big = worker('big', {
    capacity: { cpuMillis: 16000, memoryBytes: 32 * GiB, diskBytes: GiB },
    allocated: allocated(1000, 6 * GiB),
  });
  assert.ok(hand(1000, 500, 16000) + hand(6 * GiB, GiB, 32 * GiB) < costA);
  assert.equal(placeTask(t, [a, big], 'epvm', ctxAt()).workerId, 'big');
});

test('epvm: the cpu term counts (the book cancels it)', () => {
  const busy = worker('busy', { allocated: allocated(3500, 2 * GiB, 1) });
  const idle = worker('idle', { allocated: allocated(500, 2 * GiB, 1) });
  const t = task(250, GiB);
  assert.ok(epvmCost(t, idle) < epvmCost(t, busy));
  for (const order of [
    [busy, idle],
    [idle, busy],
  ]) {
    assert.equal(placeTask(t, order, 'epvm', ctxAt()).workerId, 'idle');
  }
});

test('epvm-live uses measured load when it exceeds reservations', () => {
  const metrics = (cpuUsage: number, usedBytes: number) => ({
    at: NOW.toISOString(),
    cpuCores: 4,
    cpuUsage,
    load1: 0,
    memTotalBytes: 8 * GiB,
    memAvailableBytes: 8 * GiB - usedBytes,
    diskTotalBytes: 0,
    diskFreeBytes: 0,
    runningTasks: 0,
  });
  const hot = worker('hot', { metrics: metrics(0.9, 6 * GiB) });
  const cool = worker('cool', { allocated: allocated(1000, GiB), metrics: metrics(0.1, GiB) });
  assert.equal(placeTask(task(), [hot, cool], 'epvm', ctxAt()).workerId, 'hot');
  assert.equal(placeTask(task(), [hot, cool], 'epvm-live', ctxAt()).workerId, 'cool');
});

test('bin-pack fills the fuller worker, least-allocated the emptier one', () => {
  const full = worker('full', { allocated: allocated(3000, 6 * GiB) });
  const empty = worker('empty');
  assert.equal(placeTask(task(), [empty, full], 'bin-pack', ctxAt()).workerId, 'full');
  assert.equal(placeTask(task(), [full, empty], 'least-allocated', ctxAt()).workerId, 'empty');
});

test('round-robin with a cursor cycles over workers in id order', () => {
  const workers = [worker('c'), worker('a'), worker('b', { cordoned: true }), worker('d')];
  const ctx = ctxAt({ roundRobin: {} });
  const picks = Array.from(
    { length: 7 },
    () => placeTask(task(), workers, 'round-robin', ctx).workerId,
  );
  assert.deepEqual(picks, ['a', 'c', 'd', 'a', 'c', 'd', 'a']);
  // a worker that joins takes its turn in id order
  workers.push(worker('cc'));
  assert.deepEqual(
    Array.from({ length: 4 }, () => placeTask(task(), workers, 'round-robin', ctx).workerId),
    ['c', 'cc', 'd', 'a'],
  );
});

test('round-robin without a cursor cycles through reservations (stateless)', () => {
  const workers = [worker('b'), worker('a'), worker('c')];
  const picks: string[] = [];
  for (let i = 0; i < 6; i++) {
    const d = placeTask(task(100, 1), workers, 'round-robin', ctxAt());
    picks.push(d.workerId!);
    const w = d.worker!; // what the atomic reservation would write
    w.allocated = {
      ...w.allocated,
      cpuMillis: w.allocated.cpuMillis + 100,
      tasks: w.allocated.tasks + 1,
    };
  }
  assert.deepEqual(picks, ['a', 'b', 'c', 'a', 'b', 'c']);
});

const arbWorker = fc.record({
  id: fc.string({ minLength: 1, maxLength: 4 }),
  state: fc.constantFrom('READY' as const, 'DOWN' as const),
  cordoned: fc.boolean(),
  ageMs: fc.integer({ min: -5000, max: 60_000 }),
  cap: fc.tuple(fc.nat(8000), fc.nat(16 * GiB), fc.nat(100)),
  used: fc.tuple(fc.nat(9000), fc.nat(17 * GiB), fc.nat(120), fc.nat(20)),
});

test('property: no policy ever returns an infeasible worker', () => {
  fc.assert(
    fc.property(
      fc.array(arbWorker, { maxLength: 12 }),
      fc.tuple(fc.nat(4000), fc.nat(8 * GiB), fc.nat(50)),
      fc.constantFrom(...policyRegistry.names()),
      fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
      (specs, [cpu, mem, disk], policy, candidateLimit) => {
        const workers = specs.map((s, i) =>
          worker(`${s.id}-${i}`, {
            state: s.state,
            cordoned: s.cordoned,
            heartbeatAt: new Date(NOW.getTime() - s.ageMs).toISOString(),
            capacity: { cpuMillis: s.cap[0], memoryBytes: s.cap[1], diskBytes: s.cap[2] },
            allocated: allocated(s.used[0], s.used[1], s.used[3], s.used[2]),
          }),
        );
        const t = task(cpu, mem, disk);
        const feasible = (w: WorkerRecord) =>
          w.state === 'READY' &&
          w.heartbeatAt >= new Date(NOW.getTime() - 30_000).toISOString() &&
          !w.cordoned &&
          (cpu === 0 || w.allocated.cpuMillis + cpu <= w.capacity.cpuMillis) &&
          (mem === 0 || w.allocated.memoryBytes + mem <= w.capacity.memoryBytes) &&
          (disk === 0 || w.allocated.diskBytes + disk <= w.capacity.diskBytes);
        const ctx = ctxAt({ roundRobin: {}, candidateLimit });
        const d = placeTask(t, workers, policy, ctx);
        const expected = workers.filter(feasible);
        if (d.workerId === undefined) {
          assert.equal(expected.length, 0);
          assert.match(d.reason, new RegExp(`^0/${workers.length} workers fit: `));
          const counted = Object.values(d.explanation.rejected).reduce((a, b) => a + b, 0);
          assert.equal(counted, workers.length);
        } else {
          assert.ok(feasible(d.worker!), `${policy} chose an infeasible worker`);
          assert.ok(d.score! >= 0 && d.score! <= 100);
        }
        const ranked = rankWorkers(t, workers, policy, ctxAt());
        assert.equal(ranked.length, expected.length);
        for (const r of ranked) assert.ok(feasible(r.worker));
      },
    ),
    { numRuns: 400 },
  );
});
