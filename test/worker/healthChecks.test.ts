// Health checks on the worker: HTTP (busybox httpd on host networking) and command probes,
// the record written only when the status changes, and an unhealthy task stopped and
// restarted by its policy until the policy is used up.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../cli/local/emulator.js';
import type { HealthCheckSpec } from '../../core/types.js';
import { startHarness, type WorkerHarness, waitFor } from './support.js';

const fast = { intervalSeconds: 0.3, timeoutSeconds: 1, retries: 2, startPeriodSeconds: 0 };

const httpd = (port: number) => [
  'sh',
  '-c',
  `mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p ${port} -h /www`,
];

describe('worker: health checks', { timeout: 120_000 }, () => {
  let h: WorkerHarness;
  before(async () => {
    h = await startHarness('health');
  });
  after(async () => {
    await h?.close();
  });

  async function runWithCheck(command: string[], healthCheck: HealthCheckSpec, restart = {}) {
    const task = await h.scheduleTask({
      command,
      network: 'host',
      healthCheck,
      restart: { mode: 'never', ...restart },
    });
    await h.send({ kind: 'run', taskId: task.id, attempt: 1 });
    return task;
  }

  it('marks an HTTP-checked task healthy once, not on every probe', async () => {
    const port = await freePort();
    const task = await runWithCheck(httpd(port), {
      ...fast,
      http: { port, path: '/index.html' },
    });
    const healthy = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.health?.status === 'healthy',
      'healthy',
    );
    assert.equal(healthy.state, 'RUNNING');
    assert.match(healthy.health?.output ?? '', /HTTP 200/);
    // Several more probes pass: no more writes.
    await new Promise((r) => setTimeout(r, 1500));
    const later = await h.tasks.require(task.id);
    assert.equal(later.version, healthy.version, 'no write while the status holds');
    assert.equal(later.state, 'RUNNING');
  });

  it('stops an unhealthy task, restarts it by its policy, then leaves it FAILED', async () => {
    const port = await freePort();
    const task = await runWithCheck(
      httpd(port),
      { ...fast, http: { port, path: '/missing' } },
      { mode: 'on-failure', maxRestarts: 1, maxReschedules: 0 },
    );
    const failed = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'FAILED' && t.attempt === 2 && !t.restart,
      'second attempt FAILED for good',
      30_000,
    );
    assert.equal(failed.health?.status, 'unhealthy');
    assert.match(failed.reason ?? '', /^failed its health check 2 times \(GET .*HTTP 404\)/);
    assert.match(failed.reason ?? '', /reschedule limit 0 reached/);
    const events = await h.tasks.events(task.id);
    assert.deepEqual(
      events.filter((e) => e.to === 'FAILED').map((e) => e.attempt),
      [1, 2],
    );
    await waitFor(
      () => h.containersOf(task.id),
      (c) => c.length === 0,
      'containers removed',
    );
  });

  it('fails a check against a port nothing listens on', async () => {
    const port = await freePort();
    const task = await runWithCheck(['sleep', '300'], { ...fast, http: { port, path: '/' } });
    const failed = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'FAILED',
      'FAILED',
    );
    assert.match(failed.health?.output ?? '', /^GET http:\/\/127\.0\.0\.1:\d+\/: ECONNREFUSED/);
  });

  it('counts no failure inside the start period; a command check turns healthy', async () => {
    // /tmp/ok appears after 1 s; the start period (3 s) covers the failures before it.
    const task = await runWithCheck(['sh', '-c', 'sleep 1; touch /tmp/ok; exec sleep 300'], {
      ...fast,
      retries: 1,
      startPeriodSeconds: 3,
      command: ['sh', '-c', 'test -f /tmp/ok'],
    });
    const healthy = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.health?.status === 'healthy' || t.state === 'FAILED',
      'healthy',
    );
    assert.equal(healthy.state, 'RUNNING');
    assert.equal(healthy.health?.status, 'healthy');

    // Remove the file: the next failure (retries 1) makes it unhealthy.
    const [container] = await h.containersOf(task.id);
    const exec = await h.docker
      .getContainer(container!.Id)
      .exec({ Cmd: ['rm', '/tmp/ok'], AttachStdout: true });
    await exec.start({ Detach: true });
    const failed = await waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'FAILED',
      'FAILED',
    );
    assert.equal(failed.health?.status, 'unhealthy');
    assert.equal(failed.restart, undefined, 'never restarts');
  });
});
