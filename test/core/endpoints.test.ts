// Endpoints: what a worker records from the engine's bindings, and the healthy replicas'
// `address:hostPort` per container port that a client is given.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  advertiseAddressProblem,
  endpointsOf,
  isServing,
  joinHostPort,
  taskEndpoints,
} from '../../core/endpoints.js';
import { newTask, transitionTask } from '../../core/taskStateMachine.js';
import type { TaskEndpoint, TaskRecord, TaskSpec } from '../../core/types.js';
import { task as spec, worker } from './schedulerFixtures.js';

const web = { container: 80, protocol: 'tcp' as const };
const dns = { container: 53, protocol: 'udp' as const };

describe('taskEndpoints: what the worker records with RUNNING', () => {
  test('bridge: the host port the engine bound, IPv4 first; an unbound port is left out', () => {
    const bridge = spec({
      network: 'bridge',
      ports: [web, dns, { container: 9000, protocol: 'tcp' }],
    });
    const bound = [
      { container: 80, protocol: 'tcp' as const, hostIp: '::', hostPort: 49154 },
      { container: 80, protocol: 'tcp' as const, hostIp: '0.0.0.0', hostPort: 49153 },
      { container: 53, protocol: 'tcp' as const, hostPort: 40000 },
      { container: 53, protocol: 'udp' as const, hostPort: 40001 },
    ];
    assert.deepEqual(taskEndpoints(bridge, bound), [
      { container: 80, protocol: 'tcp', hostPort: 49153 },
      { container: 53, protocol: 'udp', hostPort: 40001 },
    ]);
    // Only an IPv6 binding: that one.
    assert.deepEqual(taskEndpoints(spec({ network: 'bridge', ports: [web] }), [bound[0]!]), [
      { container: 80, protocol: 'tcp', hostPort: 49154 },
    ]);
    assert.deepEqual(taskEndpoints(bridge, undefined), [], 'no bindings read: nothing to say');
  });

  test('host networking: the container ports are the host ports; none: nothing', () => {
    const ports = [web, dns];
    assert.deepEqual(taskEndpoints(spec({ network: 'host', ports }), []), [
      { container: 80, protocol: 'tcp', hostPort: 80 },
      { container: 53, protocol: 'udp', hostPort: 53 },
    ]);
    assert.deepEqual(
      taskEndpoints(spec({ network: 'none', ports }), [{ ...web, hostPort: 1 }]),
      [],
    );
  });
});

test('endpoints belong to the running attempt: kept while stopping, gone with its end', () => {
  const endpoints: TaskEndpoint[] = [{ ...web, hostPort: 49153 }];
  let t = newTask('t1', spec({ network: 'bridge', ports: [web] }), 'test').task;
  t = transitionTask(t, { to: 'SCHEDULED', by: 's', patch: { workerId: 'w1' } }).after;
  t = transitionTask(t, { to: 'STARTING', by: 'w' }).after;
  const running = transitionTask(t, { to: 'RUNNING', by: 'w', patch: { endpoints } }).after;
  assert.deepEqual(running.endpoints, endpoints, 'written with RUNNING, in the same write');
  const stopping = transitionTask(running, { to: 'STOPPING', by: 'u' }).after;
  assert.deepEqual(stopping.endpoints, endpoints);
  for (const to of ['FAILED', 'COMPLETED', 'LOST'] as const) {
    assert.equal(transitionTask(running, { to, by: 'w' }).after.endpoints, undefined, to);
  }
  assert.equal(transitionTask(stopping, { to: 'STOPPED', by: 'w' }).after.endpoints, undefined);
});

describe('endpointsOf: the healthy replicas per container port', () => {
  let n = 0;
  function replica(over: Partial<TaskRecord>, specOver: Partial<TaskSpec> = {}): TaskRecord {
    const base = newTask(`t${n++}`, spec({ network: 'bridge', ports: [web], ...specOver }), 't');
    return { ...base.task, state: 'RUNNING', workerId: 'w1', ...over };
  }
  const bound = (hostPort: number): TaskEndpoint[] => [{ ...web, hostPort }];
  const workers = [
    worker('w1', { address: '10.0.0.1' }),
    worker('w2', { address: 'fd00::2' }),
    worker('w3', { address: '10.0.0.3', state: 'DOWN' }),
    worker('w4'),
  ];

  test('two replicas on one worker, one on another; IPv6 in brackets; sorted', () => {
    const tasks = [
      replica({ endpoints: bound(49154) }),
      replica({ endpoints: bound(49153) }),
      replica({ workerId: 'w2', endpoints: bound(32768) }),
    ];
    assert.deepEqual(endpointsOf(tasks, workers), [
      {
        container: 80,
        protocol: 'tcp',
        endpoints: [
          { address: '10.0.0.1:49153', taskId: tasks[1]!.id, workerId: 'w1' },
          { address: '10.0.0.1:49154', taskId: tasks[0]!.id, workerId: 'w1' },
          { address: '[fd00::2]:32768', taskId: tasks[2]!.id, workerId: 'w2' },
        ],
      },
    ]);
  });

  test('only serving replicas on a READY worker with an address count; ports still listed', () => {
    const check = {
      command: ['true'],
      intervalSeconds: 1,
      timeoutSeconds: 1,
      retries: 1,
      startPeriodSeconds: 0,
    };
    const healthy = replica(
      { endpoints: bound(1001), health: { status: 'healthy', failingStreak: 0 } },
      { healthCheck: check },
    );
    const tasks = [
      healthy,
      replica(
        { endpoints: bound(1002), health: { status: 'starting', failingStreak: 0 } },
        { healthCheck: check },
      ),
      replica(
        { endpoints: bound(1003), health: { status: 'unhealthy', failingStreak: 3 } },
        { healthCheck: check },
      ),
      replica({ endpoints: bound(1004), state: 'STOPPING' }),
      replica({ endpoints: bound(1005), state: 'STARTING' }),
      replica({ endpoints: bound(1006), workerId: 'w3' }),
      replica({ endpoints: bound(1007), workerId: 'w4' }),
      replica({ endpoints: bound(1008), workerId: 'gone' }),
      replica({}, { ports: [web, dns] }),
    ];
    assert.deepEqual(endpointsOf(tasks, workers), [
      { container: 53, protocol: 'udp', endpoints: [] },
      {
        container: 80,
        protocol: 'tcp',
        endpoints: [{ address: '10.0.0.1:1001', taskId: healthy.id, workerId: 'w1' }],
      },
    ]);
    assert.deepEqual(endpointsOf([], workers), []);
    // The caller's rule of health (a service's minHealthyTime, say) replaces the default.
    const all = endpointsOf(tasks, workers, () => true)[1]!.endpoints.map((e) => e.address);
    assert.deepEqual(all, [
      '10.0.0.1:1001',
      '10.0.0.1:1002',
      '10.0.0.1:1003',
      '10.0.0.1:1004',
      '10.0.0.1:1005',
    ]);
  });

  test('isServing: RUNNING, and healthy when it has a check', () => {
    assert.equal(isServing(replica({})), true);
    assert.equal(isServing(replica({ state: 'STARTING' })), false);
  });
});

test('joinHostPort and the advertised address rule', () => {
  assert.equal(joinHostPort('10.0.0.1', 80), '10.0.0.1:80');
  assert.equal(joinHostPort('::1', 80), '[::1]:80');
  for (const ok of ['10.0.0.1', '::1', 'fd00::2', 'host-a', 'host-a.example.com']) {
    assert.equal(advertiseAddressProblem(ok), undefined, ok);
  }
  for (const bad of ['', '10.0.0.1:80', 'http://host', 'a b', '-host', 'x'.repeat(300)]) {
    assert.match(
      advertiseAddressProblem(bad) ?? '',
      /must be an IPv4 or IPv6 address or a host name/,
      bad,
    );
  }
});
