// Pure parts of the Docker side: create options, exit outcomes, event parsing, locks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskSpec } from '../../core/types.js';
import { containerCreateOptions } from '../../worker/engine/containerOptions.js';
import { probe } from '../../worker/engine/healthChecks.js';
import { filesystemOf } from '../../worker/host/hostCapacity.js';
import { parseDieEvent } from '../../worker/tasks/containerEvents.js';
import { endReason, exitOutcome } from '../../worker/tasks/taskExit.js';
import { TaskLocks } from '../../worker/tasks/taskLocks.js';

const spec: TaskSpec = {
  name: 'web',
  image: 'cube-test/busybox:latest',
  command: [],
  env: { A: '1' },
  resources: { cpuMillis: 250, memoryBytes: 128 * 1024 ** 2, diskBytes: 0 },
  ports: [
    { container: 80, host: 8080, protocol: 'tcp' },
    { container: 53, protocol: 'udp' },
  ],
  restart: { mode: 'never' },
  labels: { 'cube.worker': 'spoofed', app: 'web' },
  network: 'bridge',
  stopSignal: 'SIGTERM',
  stopTimeoutSeconds: 10,
};

describe('worker: docker create options', () => {
  it('names, labels, limits and binds ports for one attempt', () => {
    const { task } = newTask('t1', spec, 'test');
    const options = containerCreateOptions({ ...task, attempt: 2 }, 'w1');
    assert.equal(options.name, 'cube-t1-2');
    assert.equal(options.Cmd, undefined, 'an empty command keeps the image default');
    assert.deepEqual(options.Env, ['A=1']);
    assert.deepEqual(options.Labels, {
      app: 'web',
      'cube.task-id': 't1',
      'cube.attempt': '2',
      'cube.worker': 'w1',
    });
    assert.equal(options.HostConfig?.NanoCpus, 250_000_000);
    assert.equal(options.HostConfig?.Memory, 128 * 1024 ** 2);
    assert.deepEqual(options.HostConfig?.PortBindings, {
      '80/tcp': [{ HostPort: '8080' }],
      '53/udp': [{ HostPort: '' }],
    });
    assert.deepEqual(options.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.equal(options.StopSignal, 'SIGTERM');
    assert.equal(options.StopTimeout, 10);
  });

  it('takes the stop signal and timeout (whole seconds, rounded up) from the task', () => {
    const { task } = newTask('t1', { ...spec, stopSignal: 'SIGINT', stopTimeoutSeconds: 1.2 }, 'x');
    const options = containerCreateOptions(task, 'w1');
    assert.equal(options.StopSignal, 'SIGINT');
    assert.equal(options.StopTimeout, 2);
  });

  it('binds no ports off the bridge network', () => {
    const { task } = newTask('t1', { ...spec, network: 'host', command: ['httpd'] }, 'test');
    const options = containerCreateOptions(task, 'w1');
    assert.equal(options.HostConfig?.PortBindings, undefined);
    assert.equal(options.HostConfig?.NetworkMode, 'host');
    assert.deepEqual(options.Cmd, ['httpd']);
  });
});

describe('worker: exits and events', () => {
  it('maps exits to final states', () => {
    assert.deepEqual(exitOutcome({ exitCode: 0, oomKilled: false }), {
      to: 'COMPLETED',
      exitCode: 0,
    });
    assert.deepEqual(exitOutcome({ exitCode: 3, oomKilled: false }), {
      to: 'FAILED',
      exitCode: 3,
      reason: 'exited with code 3',
    });
    assert.equal(
      exitOutcome({ exitCode: 137, oomKilled: true }).reason,
      'out of memory (OOM killed)',
    );
  });

  it('writes what happened, then what the restart policy does about it', () => {
    const planned = { restart: { kind: 'in-place' as const, at: 'x' }, delayMs: 1 };
    const end = { to: 'FAILED' as const, cause: { kind: 'unhealthy' as const } };
    assert.equal(
      endReason(end, { ...planned, reason: 'failed its health check; restarting in place (1/3)' }),
      'failed its health check; restarting in place (1/3)',
    );
    assert.equal(
      endReason(
        { ...end, what: 'failed its health check 3 times (HTTP 500)' },
        { ...planned, reason: 'failed its health check; restarting in place (1/3)' },
      ),
      'failed its health check 3 times (HTTP 500); restarting in place (1/3)',
    );
    const done = { to: 'COMPLETED' as const, cause: { kind: 'exit' as const, exitCode: 0 } };
    assert.equal(endReason(done, { restart: undefined, reason: 'exited with code 0' }), undefined);
  });

  it('reads die events of this worker only', () => {
    const event = (worker: string, action = 'die') =>
      JSON.stringify({
        Type: 'container',
        Action: action,
        Actor: {
          ID: 'c1',
          Attributes: { 'cube.worker': worker, 'cube.task-id': 't1', 'cube.attempt': '3' },
        },
      });
    assert.deepEqual(parseDieEvent(event('w1'), 'w1'), {
      containerId: 'c1',
      taskId: 't1',
      attempt: 3,
    });
    assert.equal(parseDieEvent(event('w2'), 'w1'), undefined);
    assert.equal(parseDieEvent(event('w1', 'start'), 'w1'), undefined);
    assert.equal(parseDieEvent('{not json', 'w1'), undefined);
  });

  it('sizes the filesystem that holds a path as df does', async () => {
    const root = '/var/lib';
    const disk = await filesystemOf(root);
    // df -PB1 reports the same statfs figures: size and "Available" in bytes.
    const [, size, , available] = execFileSync('df', ['-PB1', root], { encoding: 'utf8' })
      .trim()
      .split('\n')[1]!
      .split(/\s+/);
    assert.equal(disk.totalBytes, Number(size));
    // Free space moves while other tests write: equal within 64 MiB.
    assert.ok(Math.abs(disk.freeBytes - Number(available)) < 64 * 1024 ** 2);
    assert.ok(disk.freeBytes <= disk.totalBytes);
  });
});

describe('worker: health probes', () => {
  const fakeRuntime = (exitCode: number | undefined) => {
    const calls: string[][] = [];
    return {
      calls,
      runtime: {
        exec: async (_id: string, cmd: string[]) => {
          calls.push(cmd);
          return { exitCode, output: exitCode === undefined ? '' : 'out\n' };
        },
        ipAddress: async () => '10.0.0.2',
      },
    };
  };
  const check = { intervalSeconds: 1, timeoutSeconds: 2, retries: 1, startPeriodSeconds: 0 };

  it('a command passes on exit 0 and fails otherwise or on a timeout', async () => {
    const task = { spec: { ...spec, network: 'none' as const } };
    const command = { ...check, command: ['true'] };
    assert.deepEqual(await probe(fakeRuntime(0).runtime, task, 'c', command), {
      ok: true,
      output: 'out',
    });
    assert.equal((await probe(fakeRuntime(1).runtime, task, 'c', command)).ok, false);
    const late = await probe(fakeRuntime(undefined).runtime, task, 'c', command);
    assert.deepEqual(late, { ok: false, output: 'timed out after 2 s' });
  });

  it('an HTTP check of a container without a network runs wget inside it', async () => {
    const fake = fakeRuntime(0);
    const task = { spec: { ...spec, network: 'none' as const } };
    const result = await probe(fake.runtime, task, 'c', {
      ...check,
      http: { port: 8080, path: '/ready' },
    });
    assert.equal(result.ok, true);
    assert.deepEqual(fake.calls, [
      ['wget', '-q', '-T', '2', '-O', '/dev/null', 'http://127.0.0.1:8080/ready'],
    ]);
  });
});

describe('worker: task locks', () => {
  it('serialises holders of one task and skips when busy on try', async () => {
    const locks = new TaskLocks();
    const order: string[] = [];
    let release!: () => void;
    const first = locks.withLock('t', async () => {
      order.push('first');
      await new Promise<void>((r) => {
        release = r;
      });
    });
    const second = locks.withLock('t', async () => {
      order.push('second');
    });
    assert.equal(await locks.tryWithLock('t', async () => 'ran'), undefined);
    assert.equal(await locks.tryWithLock('other', async () => 'ran'), 'ran');
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['first', 'second']);
    assert.equal(locks.isHeld('t'), false);
  });
});
