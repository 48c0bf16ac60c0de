// Property: whatever the fleet, task, policy and sampling, a placement only ever lands on
// a worker that is ready, not cordoned, meets every constraint, has the room and has the
// host ports free — checked against an oracle written apart from the filters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { hostPortsOf, placeTask, policyRegistry, TaskGroups } from '../../core/scheduler/index.js';
import type { TaskSpec, WorkerRecord } from '../../core/types.js';
import { ctxAt, GiB, NOW, task, worker } from './schedulerFixtures.js';

const zone = fc.constantFrom<string>('a', 'b', 'c');
const port = fc.constantFrom('tcp/80', 'tcp/8080', 'udp/53');

const arbWorker = fc.record({
  state: fc.constantFrom('READY' as const, 'DOWN' as const),
  cordoned: fc.boolean(),
  ageMs: fc.integer({ min: -5000, max: 60_000 }),
  cap: fc.tuple(fc.nat(8000), fc.nat(16 * GiB)),
  used: fc.tuple(fc.nat(9000), fc.nat(17 * GiB), fc.nat(20)),
  zone: fc.option(zone, { nil: undefined }),
  gpu: fc.boolean(),
  usedPorts: fc.uniqueArray(port, { maxLength: 3 }),
  groupTasks: fc.nat(3),
});

const arbConstraint = fc.oneof(
  zone.map((z) => ({ text: `zone=${z}`, ok: (l: Record<string, string>) => l.zone === z })),
  zone.map((z) => ({ text: `zone!=${z}`, ok: (l: Record<string, string>) => l.zone !== z })),
  fc.uniqueArray(zone, { minLength: 1, maxLength: 2 }).map((zs) => ({
    text: `zone in (${zs.join(',')})`,
    ok: (l: Record<string, string>) => l.zone !== undefined && zs.includes(l.zone),
  })),
  fc.uniqueArray(zone, { minLength: 1, maxLength: 2 }).map((zs) => ({
    text: `zone not in (${zs.join(',')})`,
    ok: (l: Record<string, string>) => l.zone === undefined || !zs.includes(l.zone),
  })),
  fc.constant({ text: 'gpu exists', ok: (l: Record<string, string>) => 'gpu' in l }),
  fc.constant({ text: 'gpu not exists', ok: (l: Record<string, string>) => !('gpu' in l) }),
);

const arbTask = fc.record({
  cpu: fc.nat(4000),
  mem: fc.nat(8 * GiB),
  constraints: fc.array(arbConstraint, { maxLength: 2 }),
  network: fc.constantFrom('host' as const, 'bridge' as const, 'none' as const),
  ports: fc.uniqueArray(fc.constantFrom(80, 8080, 53), { maxLength: 2 }),
});

test('property: no policy places a task on an infeasible worker (constraints, ports, sampling)', () => {
  fc.assert(
    fc.property(
      fc.array(arbWorker, { maxLength: 12 }),
      arbTask,
      fc.constantFrom(...policyRegistry.names()),
      fc.option(fc.integer({ min: 1, max: 5 }), { nil: undefined }),
      (specs, t, policy, candidateLimit) => {
        const workers: WorkerRecord[] = specs.map((s, i) =>
          worker(`w${i}`, {
            state: s.state,
            cordoned: s.cordoned,
            heartbeatAt: new Date(NOW.getTime() - s.ageMs).toISOString(),
            labels: { ...(s.zone ? { zone: s.zone } : {}), ...(s.gpu ? { gpu: '1' } : {}) },
            capacity: { cpuMillis: s.cap[0], memoryBytes: s.cap[1], diskBytes: 0 },
            allocated: {
              cpuMillis: s.used[0],
              memoryBytes: s.used[1],
              diskBytes: 0,
              tasks: s.used[2],
            },
            ...(s.usedPorts.length > 0 ? { usedPorts: s.usedPorts } : {}),
          }),
        );
        const spec: TaskSpec = task({
          name: 'g',
          resources: { cpuMillis: t.cpu, memoryBytes: t.mem, diskBytes: 0 },
          network: t.network,
          ports:
            t.network === 'none'
              ? []
              : t.ports.map((p) => ({ container: p, host: p, protocol: p === 53 ? 'udp' : 'tcp' })),
          ...(t.constraints.length > 0 ? { constraints: t.constraints.map((c) => c.text) } : {}),
        });
        const wanted = hostPortsOf(spec);
        const feasible = (w: WorkerRecord) =>
          w.state === 'READY' &&
          w.heartbeatAt >= new Date(NOW.getTime() - 30_000).toISOString() &&
          !w.cordoned &&
          t.constraints.every((c) => c.ok(w.labels)) &&
          (t.cpu === 0 || w.allocated.cpuMillis + t.cpu <= w.capacity.cpuMillis) &&
          (t.mem === 0 || w.allocated.memoryBytes + t.mem <= w.capacity.memoryBytes) &&
          wanted.every((p) => !(w.usedPorts ?? []).includes(p));
        const groups = new TaskGroups();
        specs.forEach((s, i) => {
          if (s.groupTasks > 0) groups.add('g', workers[i]!, s.groupTasks);
        });
        const ctx = ctxAt({ roundRobin: {}, candidateLimit, taskGroups: groups });
        const d = placeTask(spec, workers, policy, ctx);
        if (d.workerId === undefined) {
          assert.equal(
            workers.filter(feasible).length,
            0,
            `${policy} left a placeable task pending`,
          );
          const counted = Object.values(d.explanation.rejected).reduce((a, b) => a + b, 0);
          assert.equal(counted, workers.length);
        } else {
          assert.ok(feasible(d.worker!), `${policy} chose an infeasible worker`);
          assert.ok(d.score! >= 0 && d.score! <= 100);
        }
      },
    ),
    { numRuns: 600 },
  );
});
