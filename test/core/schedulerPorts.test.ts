// Host ports: which ports a task binds, the filter, and the capacity change that carries them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostPortsFree, hostPortsOf, placeTask } from '../../core/scheduler/index.js';
import { newTask, transitionTask } from '../../core/taskStateMachine.js';
import { ctxAt, task, worker } from './schedulerFixtures.js';

test('hostPortsOf: host networking binds container ports, bridge only explicit host ports', () => {
  const ports = [
    { container: 80, protocol: 'tcp' as const },
    { container: 53, host: 5353, protocol: 'udp' as const },
  ];
  assert.deepEqual(hostPortsOf({ network: 'host', ports }), ['tcp/80', 'udp/5353']);
  assert.deepEqual(hostPortsOf({ network: 'bridge', ports }), ['udp/5353']);
  assert.deepEqual(hostPortsOf({ network: 'none', ports }), []);
  assert.deepEqual(hostPortsOf({ network: 'host', ports: [] }), []);
});

test('the filter rejects a worker where a wanted port is taken, naming the port', () => {
  const t = task({ network: 'host', ports: [{ container: 8080, protocol: 'tcp' }] });
  assert.equal(hostPortsFree.filter(t, worker('a'), ctxAt()), undefined);
  assert.equal(
    hostPortsFree.filter(t, worker('a', { usedPorts: ['udp/8080'] }), ctxAt()),
    undefined,
  );
  assert.equal(
    hostPortsFree.filter(t, worker('a', { usedPorts: ['tcp/8080'] }), ctxAt()),
    'host port tcp/8080 in use',
  );
  const d = placeTask(
    t,
    [worker('a', { usedPorts: ['tcp/8080'] }), worker('b', { usedPorts: ['tcp/8080', 'tcp/9'] })],
    'epvm',
    ctxAt(),
  );
  assert.equal(d.reason, '0/2 workers fit: 2 host port tcp/8080 in use');
  const ok = placeTask(
    t,
    [worker('a', { usedPorts: ['tcp/8080'] }), worker('b')],
    'bin-pack',
    ctxAt(),
  );
  assert.equal(ok.workerId, 'b');
});

test('a placement reserves the ports with the allocation, and a release gives them back', () => {
  const spec = task({ network: 'host', ports: [{ container: 8080, protocol: 'tcp' }] });
  const { task: pending } = newTask('t1', spec, 'test');
  const scheduled = transitionTask(pending, {
    to: 'SCHEDULED',
    by: 's',
    patch: { workerId: 'w1' },
  });
  assert.deepEqual(scheduled.capacity, [
    {
      workerId: 'w1',
      delta: { cpuMillis: 500, memoryBytes: 1024 ** 3, diskBytes: 0, tasks: 1 },
      ports: ['tcp/8080'],
      kind: 'reserve',
    },
  ]);
  const stopped = transitionTask(scheduled.after, { to: 'STOPPED', by: 'u' });
  assert.deepEqual(stopped.capacity[0]!.ports, ['tcp/8080']);
  assert.equal(stopped.capacity[0]!.kind, 'release');
  // no ports, no field
  const plain = transitionTask(newTask('t2', task(), 'test').task, {
    to: 'SCHEDULED',
    by: 's',
    patch: { workerId: 'w1' },
  });
  assert.equal('ports' in plain.capacity[0]!, false);
});

test('dynamic host ports reserve nothing: replicas of one container port share a worker', () => {
  const replica = task({ network: 'bridge', ports: [{ container: 80, protocol: 'tcp' }] });
  assert.deepEqual(hostPortsOf(replica), []);
  // A worker whose fixed port 80 is taken still takes any number of them.
  let w = worker('a', { usedPorts: ['tcp/80'] });
  for (let i = 0; i < 3; i++) {
    assert.equal(hostPortsFree.filter(replica, w, ctxAt()), undefined);
    assert.equal(placeTask(replica, [w], 'bin-pack', ctxAt()).workerId, 'a');
    const placed = transitionTask(newTask(`r${i}`, replica, 'test').task, {
      to: 'SCHEDULED',
      by: 's',
      patch: { workerId: 'a' },
    });
    assert.equal('ports' in placed.capacity[0]!, false, 'no port goes with the reservation');
    w = { ...w, allocated: { ...w.allocated, tasks: w.allocated.tasks + 1 } };
  }
  // A fixed host port on bridge is still reserved and checked.
  const fixed = task({ network: 'bridge', ports: [{ container: 80, host: 80, protocol: 'tcp' }] });
  assert.equal(hostPortsFree.filter(fixed, w, ctxAt()), 'host port tcp/80 in use');
});
