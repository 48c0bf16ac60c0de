// Services on the real emulator and Docker: a 3-replica busybox httpd service (command health
// check inside its own network namespace) comes up, rolls out a new revision without dropping
// below replicas - maxUnavailable healthy, rolls a broken revision back by itself, scales,
// resists concurrent applies and controllers, and leaves no container when deleted; `cube
// events -f` follows a rollout step by step.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import { runServiceController } from '../../functions/services/controller.js';
import { stopChild } from '../support/cli.js';
import { TEST_IMAGE } from '../support/docker.js';
import {
  eventually,
  type ServiceBody,
  type ServiceCluster,
  startServiceCluster,
  webSpec,
} from './support.js';

let cluster: ServiceCluster;

async function show(name: string) {
  const { status, body } = await cluster.api<ServiceBody>('GET', `/v1/services/${name}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body;
}

async function settled(name: string, revision: number, replicas: number, timeoutMs = 90_000) {
  return eventually(
    `${name} revision ${revision} with ${replicas}/${replicas} healthy`,
    async () => {
      const body = await show(name);
      const { service } = body;
      return service.rollout.state === 'complete' &&
        service.revision === revision &&
        service.counts.healthy === replicas &&
        service.counts.live === replicas &&
        service.counts.stopping === 0
        ? body
        : undefined;
    },
    timeoutMs,
  );
}

/**
 * The replicas that maxSurge bounds: every replica task not gone and not stopping for good
 * (STOPPING with no restart planned). Counted over the union of the tasks the service's slots
 * list (current and draining) and the tasks of the service's running containers, so a replica
 * the slots lost track of still counts.
 */
async function liveReplicas(name: string): Promise<number> {
  const { slots } = await cluster.deps.services.load(name);
  const containers = await cluster.containers(name);
  const ids = new Set([
    ...slots.flatMap((s) => [s.taskId, ...(s.draining ?? [])]),
    ...containers.map((c) => c.Labels['cube.task-id']!),
  ]);
  const tasks = await Promise.all([...ids].map((id) => cluster.deps.tasks.get(id)));
  return tasks.filter(
    (task) =>
      task &&
      !['STOPPED', 'FAILED', 'COMPLETED', 'LOST'].includes(task.state) &&
      !(task.state === 'STOPPING' && !task.restart),
  ).length;
}

/**
 * Samples every 200 ms until stopped: the fewest healthy replicas (as the API counts them)
 * and the most live replicas (liveReplicas: not stopping for good).
 */
function sampler(name: string) {
  let minHealthy = Number.POSITIVE_INFINITY;
  let maxLive = 0;
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const [body, live] = await Promise.all([show(name), liveReplicas(name)]);
      minHealthy = Math.min(minHealthy, body.service.counts.healthy);
      maxLive = Math.max(maxLive, live);
      samples++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { minHealthy, maxLive, samples };
    },
  };
}

async function oneContainerEach(name: string, revision: number) {
  const body = await show(name);
  const containers = await cluster.containers(name);
  assert.equal(containers.length, body.service.replicas, 'one running container per replica');
  for (const replica of body.service.replicaTasks) {
    const own = containers.filter((c) => c.Labels['cube.task-id'] === replica.taskId);
    assert.equal(own.length, 1, `replica ${replica.taskId} has one container`);
    assert.equal(own[0]!.Labels['cube.service'], name);
    assert.equal(own[0]!.Labels['cube.revision'], String(revision));
  }
}

before(async () => {
  cluster = await startServiceCluster('svc');
});
after(async () => {
  await cluster?.stop();
});

describe('services: up and rolling', { timeout: 600_000 }, () => {
  test('a 3-replica service becomes 3/3 healthy; the same spec again changes nothing', async () => {
    const created = await cluster.api<ServiceBody & { change: string }>(
      'PUT',
      '/v1/services/web',
      webSpec(3),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.change, 'created');
    const body = await settled('web', 1, 3);
    assert.match(body.service.rollout.reason, /^revision 1 complete: 3\/3 replicas healthy$/);
    await oneContainerEach('web', 1);
    const workers = new Set(
      body.service.replicaTasks.map((r) => (r as { workerId?: string }).workerId),
    );
    assert.equal(workers.size, 2, 'replicas spread over both workers');

    // The same spec again, as YAML this time (keys in another order): nothing changes.
    const yamlBody = stringify(webSpec(3), { sortMapEntries: true });
    const answer = await fetch(`${cluster.plane.apiUrl}/v1/services/web`, {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${cluster.plane.adminToken}`,
        'content-type': 'application/yaml',
      },
      body: yamlBody,
    });
    const again = (await answer.json()) as { change: string };
    assert.equal(answer.status, 200, JSON.stringify(again));
    assert.equal(again.change, 'unchanged');
    const revisions = await cluster.api<{ revisions: unknown[] }>(
      'GET',
      '/v1/services/web/revisions',
    );
    assert.equal(revisions.body.revisions.length, 1);
    const after = await show('web');
    assert.deepEqual(
      after.service.replicaTasks.map((r) => r.taskId).sort(),
      body.service.replicaTasks.map((r) => r.taskId).sort(),
      'no replica was restarted',
    );
  });

  test('a new revision rolls out and never drops below replicas - maxUnavailable healthy', async () => {
    const dry = await cluster.api<{
      change: string;
      changes: { field: string }[];
      placements: { placed: boolean }[];
    }>('PUT', '/v1/services/web?dryRun=true', webSpec(3, { version: '2' }));
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.change, 'revision');
    assert.deepEqual(
      dry.body.changes.map((c) => c.field),
      ['task.env.VERSION'],
    );
    assert.equal(dry.body.placements.length, 3);
    assert.ok(dry.body.placements.every((p) => p.placed));
    assert.equal((await show('web')).service.revision, 1, 'a dry-run writes nothing');

    const sample = sampler('web');
    const applied = await cluster.api<{ change: string }>(
      'PUT',
      '/v1/services/web',
      webSpec(3, { version: '2' }),
    );
    assert.equal(applied.body.change, 'revision');
    await settled('web', 2, 3);
    const figures = await sample.stop();
    assert.ok(figures.samples > 5, `sampled ${figures.samples} times`);
    assert.ok(figures.minHealthy >= 3, `healthy fell to ${figures.minHealthy}`);
    assert.ok(
      figures.maxLive <= 4,
      `${figures.maxLive} live replicas at once (replicas + maxSurge is 4)`,
    );
    await oneContainerEach('web', 2);
    const { events } = await show('web');
    assert.ok(events.some((e) => e.kind === 'rollout-complete' && e.revision === 2));
  });
});

describe('cube events -f during a rollout', { timeout: 600_000 }, () => {
  test('shows the rollout step by step: started, each step, complete, in order', async () => {
    // One at a time (a surge of 1, none unavailable): the second new replica can only come
    // once the first is healthy and an old one is stopping, so the steps cannot all fall into
    // one controller pass. Sleepers:
    // healthy once RUNNING for a second (no probe to slow down on a loaded engine).
    const spec = (version: string) => ({
      replicas: 2,
      task: {
        image: TEST_IMAGE,
        command: ['sleep', '3600'],
        env: { VERSION: version },
        network: 'none',
        cpu: 0.05,
        memory: '16m',
        stopTimeout: 1,
      },
      update: { maxSurge: 1, maxUnavailable: 0, minHealthyTime: 1, healthyDeadline: 60 },
    });
    const created = await cluster.api('PUT', '/v1/services/steps', spec('1'));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await settled('steps', 1, 2);

    const follower = spawn(
      process.execPath,
      [join(PROJECT_ROOT, 'bin', 'cube.js'), 'events', '-f', '--since', '0s', '--service', 'steps'],
      {
        env: {
          ...process.env,
          CUBE_API_URL: cluster.plane.apiUrl,
          CUBE_TOKEN: cluster.plane.adminToken,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    follower.stdout.on('data', (c: Buffer) => {
      out += c;
    });
    try {
      await eventually('the header', async () => (out.includes('TIME') ? true : undefined));
      const applied = await cluster.api<{ change: string }>('PUT', '/v1/services/steps', spec('2'));
      assert.equal(applied.body.change, 'revision');
      await eventually(
        'the rollout complete, followed',
        async () => (/service\s+steps\s+rollout-complete/.test(out) ? true : undefined),
        120_000,
      );
    } finally {
      await stopChild(follower, 'SIGINT');
    }
    // Revision 2's own lines (the follower started after revision 1 was complete).
    const lines = out
      .split('\n')
      .filter((l) => /^\S+\s+service\s+steps\s+/.test(l))
      .map((l) => {
        const [, action, reason] = /^\S+\s+service\s+steps\s+(\S+)\s+\S+\s+(.*)$/.exec(l)!;
        return { action: action!, reason: reason! };
      });
    const actions = lines.map((l) => l.action);
    assert.equal(actions[0], 'rollout-started', out);
    assert.equal(actions.at(-1), 'rollout-complete', out);
    assert.equal(actions.filter((a) => a === 'rollout-started').length, 1, 'printed once');
    assert.equal(actions.filter((a) => a === 'rollout-complete').length, 1, 'printed once');
    assert.match(lines[0]!.reason, /revision 2/);
    assert.match(lines.at(-1)!.reason, /^revision 2 complete: 2\/2 replicas healthy$/);
    // Every step between, each moving forward: new replicas healthy up, old ones left down.
    const steps = lines
      .filter((l) => l.action === 'rollout-step')
      .map((l) => {
        const [, healthy, old] = /^revision 2: (\d)\/2 new replicas healthy, (\d) old left$/.exec(
          l.reason,
        )!;
        return { healthy: Number(healthy), old: Number(old) };
      });
    assert.ok(steps.length >= 2, `steps: ${JSON.stringify(steps)}`);
    for (let i = 1; i < steps.length; i++) {
      assert.ok(steps[i]!.healthy >= steps[i - 1]!.healthy, JSON.stringify(steps));
      assert.ok(steps[i]!.old <= steps[i - 1]!.old, JSON.stringify(steps));
    }
    assert.equal(steps[0]!.healthy, 1, 'the first step: one new replica healthy');
    assert.deepEqual(steps.at(-1), { healthy: 2, old: 0 });

    // Gone again: the last test expects the services it made, none else.
    const deleted = await cluster.api('DELETE', '/v1/services/steps');
    assert.equal(deleted.status, 202);
    await eventually('steps gone', async () => {
      const { status } = await cluster.api('GET', '/v1/services/steps');
      return status === 404 ? true : undefined;
    });
  });
});

describe('services: failures, scale, races and delete', { timeout: 600_000 }, () => {
  test('a converged service needs no controller write', async () => {
    const run = await runServiceController(cluster.deps, 'web');
    assert.equal(run.outcome, 'unchanged', JSON.stringify(run));
  });

  test('a broken revision is rolled back by itself, with the reason shown', async () => {
    const broken = webSpec(3, { version: '3', probePort: 9999, update: { healthyDeadline: 6 } });
    const applied = await cluster.api<{ change: string }>('PUT', '/v1/services/web', broken);
    assert.equal(applied.body.change, 'revision');
    const body = await eventually(
      'the rollback to revision 2 to complete',
      async () => {
        const b = await show('web');
        return b.service.rollout.state === 'rolled-back' &&
          b.service.counts.healthy === 3 &&
          b.service.counts.live === 3 &&
          b.service.counts.stopping === 0
          ? b
          : undefined;
      },
      120_000,
    );
    assert.equal(body.service.revision, 2);
    assert.match(
      body.service.rollout.reason,
      /^revision 3 rolled back: 1\/1 new replicas (failed their health check|were not healthy within 6 s)/,
    );
    assert.ok(body.service.replicaTasks.every((r) => r.revision === 2));
    assert.ok(body.events.some((e) => e.kind === 'rollback-started'));
    assert.ok(body.events.some((e) => e.kind === 'rolled-back'));
    await oneContainerEach('web', 2);
  });

  test('scale 3 -> 5 -> 1', async () => {
    const up = await cluster.api<ServiceBody>('POST', '/v1/services/web/scale', { replicas: 5 });
    assert.equal(up.status, 200, JSON.stringify(up.body));
    await eventually('5 healthy', async () => {
      const b = await show('web');
      return b.service.counts.healthy === 5 ? b : undefined;
    });
    await oneContainerEach('web', 2);
    const down = await cluster.api<ServiceBody>('POST', '/v1/services/web/scale', { replicas: 1 });
    assert.equal(down.status, 200);
    await eventually('1 replica left', async () => {
      const b = await show('web');
      const containers = await cluster.containers('web');
      return b.service.counts.live === 1 &&
        b.service.counts.stopping === 0 &&
        containers.length === 1
        ? b
        : undefined;
    });
    const revisions = await cluster.api<{ revisions: unknown[] }>(
      'GET',
      '/v1/services/web/revisions',
    );
    assert.equal(revisions.body.revisions.length, 3, 'a scale makes no revision');
  });

  test('two concurrent applies of the version read: one wins, one gets 409', async () => {
    const { service } = await show('web');
    const [a, b] = await Promise.all([
      cluster.api(
        'PUT',
        `/v1/services/web?version=${service.specVersion}`,
        webSpec(1, { version: 'a' }),
      ),
      cluster.api(
        'PUT',
        `/v1/services/web?version=${service.specVersion}`,
        webSpec(1, { version: 'b' }),
      ),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409], JSON.stringify([a.body, b.body]));
    const stale = await cluster.api(
      'PUT',
      `/v1/services/web?version=${service.specVersion}`,
      webSpec(1),
    );
    assert.equal(stale.status, 409);
    await settled('web', 4, 1);
  });

  test('controllers in parallel and duplicated nudges never exceed replicas + maxSurge', async () => {
    const scaled = await cluster.api('POST', '/v1/services/web/scale', { replicas: 3 });
    assert.equal(scaled.status, 200);
    await settled('web', 4, 3);
    const applied = await cluster.api('PUT', '/v1/services/web', webSpec(3, { version: '5' }));
    assert.equal(applied.status, 200);
    let most = 0;
    let storm = true;
    const stormLoop = (async () => {
      while (storm) {
        await Promise.all([
          ...Array.from({ length: 4 }, () => runServiceController(cluster.deps, 'web')),
          cluster.deps.queues.sendSchedule({ kind: 'service', name: 'web' }),
          cluster.deps.queues.sendSchedule({ kind: 'service', name: 'web' }),
        ]);
      }
    })();
    const sample = (async () => {
      while (storm) {
        most = Math.max(most, await liveReplicas('web'));
        const record = await cluster.deps.services.get('web');
        if (record?.rollout.state === 'complete' && record.revision === 5) return;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    await settled('web', 5, 3);
    await sample;
    storm = false;
    await stormLoop;
    assert.ok(most <= 4, `${most} live replicas at once (replicas + maxSurge is 4)`);
    await oneContainerEach('web', 5);
  });

  test('the replicas of a lost worker come back on the other worker', async () => {
    const before = await show('web');
    const victim = 0;
    const victimId = cluster.workerIds[victim]!;
    const held = before.service.replicaTasks.filter(
      (r) => (r as { workerId?: string }).workerId === victimId,
    );
    assert.ok(held.length > 0, 'replicas are spread onto both workers');
    await cluster.killWorker(victim);
    const body = await eventually(
      '3 healthy replicas, none on the lost worker',
      async () => {
        const b = await show('web');
        const onVictim = b.service.replicaTasks.filter(
          (r) => (r as { workerId?: string }).workerId === victimId,
        );
        return b.service.counts.healthy === 3 &&
          b.service.counts.live === 3 &&
          onVictim.length === 0
          ? b
          : undefined;
      },
      120_000,
    );
    assert.ok(body.service.replicaTasks.every((r) => r.revision === 5));
    // What the lost host still ran goes with it; one container per replica remains.
    await cluster.removeOrphans(victim);
    await oneContainerEach('web', 5);
  });

  test('delete stops every replica and leaves no container', async () => {
    const deleted = await cluster.api<ServiceBody>('DELETE', '/v1/services/web');
    assert.equal(deleted.status, 202);
    assert.equal(deleted.body.service.rollout.state, 'deleting');
    await eventually('the service to be gone', async () => {
      const { status } = await cluster.api('GET', '/v1/services/web');
      return status === 404 ? true : undefined;
    });
    assert.equal((await cluster.containers('web')).length, 0);
    const all = await cluster.containers('web', true);
    assert.equal(all.length, 0, 'no container left, running or not');
    const list = await cluster.api<{ services: unknown[] }>('GET', '/v1/services');
    assert.deepEqual(list.body.services, []);
  });
});
