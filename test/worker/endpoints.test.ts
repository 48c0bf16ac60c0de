// Endpoints for real: replicas of one container port with no `host` get ports the engine
// picks, share one worker, and the worker records what the engine bound with RUNNING (in that
// same write); a client reaches each replica at `address:hostPort`. The test machine's Docker
// runs with --bridge=none, so the bridge tasks join a user-defined bridge network made here
// whose published ports bind 127.0.0.1 only (`cube worker --bridge-network`); an engine that
// cannot make one fails the file. Host networking is checked on a loopback port.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../cli/local/emulator.js';
import { endpointsOf } from '../../core/endpoints.js';
import type { TaskRecord } from '../../core/types.js';
import { startHarness, type WorkerHarness, waitFor } from './support.js';

const NETWORK = `cube-test-ep-${randomBytes(3).toString('hex')}`;

/** Serves its own host name at / on `listen` (busybox httpd). */
const serveHostname = (listen: string) => [
  'sh',
  '-c',
  `mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p ${listen} -h /tmp/www`,
];

/**
 * RUNNING says the container started, not that its server listens yet (a health check says
 * that): a refused, reset or unanswered connection is tried again for a while; any answer is
 * final.
 */
async function get(address: string): Promise<string> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const response = await fetch(`http://${address}/`, { signal: AbortSignal.timeout(3_000) });
      assert.equal(response.status, 200, address);
      return (await response.text()).trim();
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string } };
      const notYet =
        e.name === 'TimeoutError' ||
        ['ECONNREFUSED', 'ECONNRESET', 'UND_ERR_SOCKET'].includes(e.cause?.code ?? '');
      if (!notYet || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('worker: endpoints from what the engine bound', { timeout: 120_000 }, () => {
  let h: WorkerHarness;

  before(async () => {
    h = await startHarness('endpoints', { bridgeNetwork: NETWORK });
    // The engine scripts/ensure-docker.sh starts makes user bridge networks: one that cannot
    // is a broken setup, reported as a failure rather than a skipped case.
    await h.docker.createNetwork({
      Name: NETWORK,
      Driver: 'bridge',
      Options: { 'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1' },
    });
    // The address clients are given: loopback, where the test reaches the published ports.
    const worker = await h.workers.require(h.workerId);
    await h.workers.register({
      id: worker.id,
      name: worker.name,
      labels: worker.labels,
      capacity: worker.capacity,
      queueUrl: h.queueUrl,
      address: '127.0.0.1',
    });
  });
  after(async () => {
    await h?.close();
    await h?.docker
      .getNetwork(NETWORK)
      .remove()
      .catch(() => {});
  });

  async function runUntilRunning(task: TaskRecord): Promise<TaskRecord> {
    await h.send({ kind: 'run', taskId: task.id, attempt: task.attempt });
    return waitFor(
      () => h.tasks.require(task.id),
      (t) => t.state === 'RUNNING' || t.state === 'FAILED',
      `task ${task.id} RUNNING`,
    );
  }

  /** The record's endpoints came with RUNNING: the RUNNING event is its last write. */
  async function assertRecordedWithRunning(task: TaskRecord) {
    const events = await h.tasks.events(task.id);
    const running = events.find((e) => e.to === 'RUNNING');
    assert.equal(running?.version, task.version, 'no write after the RUNNING one');
  }

  it('two bridge replicas of port 80 share the worker on ports the engine picked', async () => {
    const spec = {
      network: 'bridge' as const,
      ports: [{ container: 80, protocol: 'tcp' as const }],
      command: serveHostname('80'),
    };
    const replicas = [await h.scheduleTask(spec), await h.scheduleTask(spec)];
    const running = await Promise.all(replicas.map(runUntilRunning));
    const hostPorts = running.map((r) => {
      assert.equal(r.state, 'RUNNING', r.reason);
      assert.equal(r.endpoints?.length, 1, JSON.stringify(r.endpoints));
      assert.equal(r.endpoints![0]!.container, 80);
      assert.equal(r.endpoints![0]!.protocol, 'tcp');
      return r.endpoints![0]!.hostPort;
    });
    assert.notEqual(hostPorts[0], hostPorts[1], 'each replica its own host port');
    for (const r of running) {
      await assertRecordedWithRunning(r);
      // What the engine says it bound, asked independently.
      const info = await h.docker.getContainer(r.containerId!).inspect();
      const bound = info.NetworkSettings.Ports['80/tcp'] ?? [];
      assert.ok(bound.some((b) => Number(b.HostPort) === r.endpoints![0]!.hostPort));
      assert.ok(
        bound.every((b) => b.HostIp === '127.0.0.1'),
        'published on loopback only',
      );
    }
    const worker = await h.workers.require(h.workerId);
    assert.equal(worker.usedPorts, undefined, 'no fixed host port was reserved');

    const [port] = endpointsOf(running, [worker]);
    assert.deepEqual(
      port?.endpoints.map((e) => e.address).sort(),
      hostPorts.map((p) => `127.0.0.1:${p}`).sort(),
    );
    // Each address reaches a different replica.
    const names = await Promise.all(port!.endpoints.map((e) => get(e.address)));
    assert.equal(new Set(names).size, 2, `answers: ${names.join(', ')}`);
  });

  it('host networking: the container port is the host port', async () => {
    const listen = await freePort();
    const task = await h.scheduleTask({
      network: 'host',
      ports: [{ container: listen, protocol: 'tcp' }],
      command: serveHostname(`127.0.0.1:${listen}`),
    });
    const running = await runUntilRunning(task);
    assert.equal(running.state, 'RUNNING', running.reason);
    assert.deepEqual(running.endpoints, [{ container: listen, protocol: 'tcp', hostPort: listen }]);
    await assertRecordedWithRunning(running);
    const worker = await h.workers.require(h.workerId);
    const [port] = endpointsOf([running], [worker]);
    assert.deepEqual(
      port?.endpoints.map((e) => e.address),
      [`127.0.0.1:${listen}`],
    );
    assert.ok((await get(`127.0.0.1:${listen}`)).length > 0);
  });
});
