// What `cube ps` and `cube inspect` show of restarts, health and graceful stops.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderTask } from '../../cli/commands/inspect.js';
import { formatStateWithHealth } from '../../cli/commands/ps.js';
import { formatPorts } from '../../cli/format.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';

const base = newTask(
  't1',
  {
    name: 'web',
    image: 'busybox',
    command: ['httpd', '-f'],
    env: {},
    resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2, diskBytes: 0 },
    ports: [],
    restart: { mode: 'on-failure', maxRestarts: 3, maxReschedules: 2 },
    labels: {},
    network: 'host',
    healthCheck: {
      http: { port: 8080, path: '/healthz' },
      intervalSeconds: 5,
      timeoutSeconds: 1,
      retries: 3,
      startPeriodSeconds: 0,
    },
    stopSignal: 'SIGINT',
    stopTimeoutSeconds: 30,
  },
  'api',
).task;

describe('task views: health, restarts, stops', () => {
  it('ps shows the health of a RUNNING task with a check, and the verdict that ended one', () => {
    const running: TaskRecord = { ...base, state: 'RUNNING', workerId: 'w1' };
    assert.equal(formatStateWithHealth(running), 'RUNNING (starting)');
    assert.equal(
      formatStateWithHealth({ ...running, health: { status: 'healthy', failingStreak: 0 } }),
      'RUNNING (healthy)',
    );
    assert.equal(
      formatStateWithHealth({
        ...base,
        state: 'FAILED',
        health: { status: 'unhealthy', failingStreak: 3 },
      }),
      'FAILED (unhealthy)',
    );
    const { healthCheck: _none, ...plain } = base.spec;
    assert.equal(formatStateWithHealth({ ...running, spec: plain }), 'RUNNING');
  });

  it('inspect shows attempt, restarts, planned restart, health and stop settings', () => {
    const task: TaskRecord = {
      ...base,
      state: 'FAILED',
      attempt: 4,
      restartCount: 2,
      rescheduleCount: 1,
      restart: { kind: 'in-place', at: '2030-01-01T00:00:00.000Z' },
      health: {
        status: 'unhealthy',
        failingStreak: 3,
        checkedAt: '2030-01-01T00:00:00.000Z',
        output: 'HTTP 500',
      },
      previousWorkerIds: ['w0'],
    };
    const out = renderTask(task, [], new Map([['w0', 'node-a']]));
    assert.match(out, /Attempt:\s+4\n/);
    assert.match(out, /Restarts:\s+2 in place, 1 rescheduled\n/);
    assert.match(out, /Planned restart:\s+in-place at 2030-01-01T00:00:00.000Z\n/);
    assert.match(out, /Max reschedules:\s+2\n/);
    assert.match(
      out,
      /Health check:\s+GET :8080\/healthz every 5s, timeout 1s, unhealthy after 3 failures/,
    );
    assert.match(out, /Health:\s+unhealthy \(3 failing in a row, checked 2030.*\): HTTP 500\n/);
    assert.match(out, /Stop:\s+SIGINT, then SIGKILL after 30s\n/);
    assert.match(out, /Previous workers:\s+node-a \(w0\)\n/);
  });
});

describe('task views: ports', () => {
  it('inspect shows a port the engine picked once recorded, * until then', () => {
    const ports = [
      { container: 80, protocol: 'tcp' as const },
      { container: 53, host: 5353, protocol: 'udp' as const },
    ];
    const bridge: TaskRecord = { ...base, spec: { ...base.spec, network: 'bridge', ports } };
    assert.equal(formatPorts(bridge), '*:80/tcp, 5353:53/udp');
    const running: TaskRecord = {
      ...bridge,
      state: 'RUNNING',
      endpoints: [
        { container: 80, protocol: 'tcp', hostPort: 49153 },
        { container: 53, protocol: 'udp', hostPort: 5353 },
      ],
    };
    assert.equal(formatPorts(running), '49153:80/tcp, 5353:53/udp');
    assert.match(renderTask(running, [], new Map()), /^Ports: +49153:80\/tcp, 5353:53\/udp$/m);
    const host: TaskRecord = { ...base, spec: { ...base.spec, network: 'host', ports } };
    assert.equal(formatPorts(host), '80:80/tcp, 5353:53/udp');
  });
});
