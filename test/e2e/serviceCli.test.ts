// The service commands as a person types them, against `cube up` with a real worker and
// Docker: apply (created, unchanged, dry-run, a new revision, a broken one rolled back with a
// non-zero exit), history, scale, services --json, endpoints that answer, rm that leaves no
// container.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../cli/local/emulator.js';
import type { PortEndpoints, ServiceSummary } from '../../cli/services/types.js';
import { ensureEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster } from '../support/cli.js';
import { docker, removeContainersOfWorkers, TEST_IMAGE } from '../support/docker.js';

const dir = mkdtempSync(join(tmpdir(), 'cube-service-cli-'));

function specFile(file: string, yaml: string): string {
  const path = join(dir, file);
  writeFileSync(path, yaml);
  return path;
}

const sleeper = (name: string, replicas: number, mode: string, extra = '') => `
name: ${name}
replicas: ${replicas}
task:
  image: ${TEST_IMAGE}
  command: [sleep, "3600"]
  network: none
  memory: 16m
  cpu: 0.05
  stopTimeout: 1
  env:
    MODE: ${mode}
${extra}
update:
  maxSurge: 1
  minHealthyTime: 1
  healthyDeadline: 20
`;

describe('service commands', { timeout: 600_000 }, () => {
  let cluster: TestCluster;

  before(async () => {
    await ensureEmulator();
    cluster = await startTestCluster('svccli', ['--workers', '1']);
  });

  const workerIds = async () =>
    (await cluster.cubeJson<{ id: string }[]>(['nodes', '--json'])).map((w) => w.id);

  after(async () => {
    const ids = cluster ? await workerIds().catch(() => []) : [];
    await cluster?.stop();
    await removeContainersOfWorkers(ids);
  });

  /** This cluster's containers of the service (other runs may share the engine). */
  const containersOf = async (service: string) => {
    const mine = new Set(await workerIds());
    const all = await docker.listContainers({
      all: true,
      filters: { label: [`cube.service=${service}`] },
    });
    return all.filter((c) => mine.has(c.Labels['cube.worker'] ?? ''));
  };

  it('apply creates, is idempotent, dry-runs, rolls out and rolls back by itself', async () => {
    const v1 = specFile('web-v1.yaml', sleeper('cli-web', 2, 'one'));
    const created = await cluster.cube(['apply', '-f', v1, '--wait', '--timeout', '180'], 200_000);
    assert.equal(created.code, 0, created.stderr + created.stdout);
    assert.match(created.stdout, /service cli-web created: revision 1, 2 replicas/);
    assert.match(created.stdout, /revision 1: 2\/2 updated, 2\/2 healthy \(complete\)/);

    const again = await cluster.cube(['apply', '-f', v1]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /cli-web: unchanged \(revision 1\)/);

    const v2 = specFile('web-v2.yaml', sleeper('cli-web', 2, 'two'));
    const plan = await cluster.cube(['apply', '-f', v2, '--dry-run']);
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /would roll out revision 2 \(now 1\)/);
    assert.match(plan.stdout, /task\.env\.MODE\s+one\s+two/);
    assert.match(plan.stdout, /new replicas \(policy /);

    const rolled = await cluster.cube(['apply', '-f', v2, '--wait', '--timeout', '180'], 200_000);
    assert.equal(rolled.code, 0, rolled.stderr + rolled.stdout);
    assert.match(rolled.stdout, /revision 2 rolling out \(task\.env\.MODE\)/);

    // A revision whose health check never passes: rolled back to 2, and the exit says so.
    const broken = specFile(
      'web-broken.yaml',
      sleeper(
        'cli-web',
        2,
        'broken',
        '  healthCheck:\n    command: [sh, -c, "exit 1"]\n    interval: 1\n    retries: 1',
      ),
    );
    const failed = await cluster.cube(
      ['apply', '-f', broken, '--wait', '--timeout', '240'],
      260_000,
    );
    assert.equal(failed.code, 1, failed.stdout);
    assert.match(failed.stdout, /rolled back|rolled-back/);

    const history = await cluster.cubeJson<{ revision: number; current: boolean }[]>([
      'rollout',
      'history',
      'cli-web',
      '--json',
    ]);
    assert.deepEqual(
      history.map((r) => r.revision),
      [3, 2, 1],
    );

    const inspect = await cluster.cube(['service', 'inspect', 'cli-web']);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.match(inspect.stdout, /Rollout:\s+rolled-back: revision 3/);
  });

  it('scale, list, endpoints and rm', async () => {
    const scaled = await cluster.cube(
      ['scale', 'cli-web', '1', '--wait', '--timeout', '120'],
      150_000,
    );
    assert.equal(scaled.code, 0, scaled.stderr + scaled.stdout);
    const list = await cluster.cubeJson<ServiceSummary[]>(['services', '--json']);
    const web = list.find((s) => s.name === 'cli-web');
    assert.equal(web?.replicas, 1);
    assert.equal(web?.counts.live, 1);

    // One httpd replica on the host network: its endpoint is the worker's address and port.
    const port = await freePort();
    const httpd = specFile(
      'httpd.yaml',
      `
name: cli-httpd
replicas: 1
task:
  image: ${TEST_IMAGE}
  command: [httpd, -f, -p, "127.0.0.1:${port}"]
  network: host
  memory: 16m
  cpu: 0.05
  stopTimeout: 1
  ports: [{container: ${port}}]
update:
  minHealthyTime: 1
`,
    );
    const up = await cluster.cube(['apply', '-f', httpd, '--wait', '--timeout', '120'], 150_000);
    assert.equal(up.code, 0, up.stderr + up.stdout);
    const ports = await cluster.cubeJson<PortEndpoints[]>(['endpoints', 'cli-httpd', '--json']);
    assert.equal(ports.length, 1);
    assert.equal(ports[0]?.container, port);
    const address = ports[0]?.endpoints[0]?.address ?? '';
    assert.match(address, new RegExp(`:${port}$`));
    // The worker advertises its primary address; httpd listens on loopback: same host, same port.
    const answer = await fetch(`http://127.0.0.1:${address.split(':').at(-1)}/`);
    assert.ok(answer.status < 500, `httpd answered ${answer.status}`);

    for (const name of ['cli-web', 'cli-httpd']) {
      const rm = await cluster.cube(['service', 'rm', name, '--wait', '--timeout', '120'], 150_000);
      assert.equal(rm.code, 0, rm.stderr + rm.stdout);
      assert.match(rm.stdout, new RegExp(`service ${name} deleted`));
      assert.deepEqual(
        (await containersOf(name)).filter((c) => c.State === 'running'),
        [],
        `no running container of ${name} is left`,
      );
    }
  });

  it('bad input: a clear error, no stack', async () => {
    const bad = specFile('bad.yaml', 'name: cli-bad\nreplicas: [1\n');
    const parsed = await cluster.cube(['apply', '-f', bad]);
    assert.equal(parsed.code, 2);
    assert.match(parsed.stderr, /^cube: .*bad\.yaml:\d+: not valid YAML or JSON/);
    const invalid = specFile('invalid.yaml', 'name: cli-bad\nreplicas: -1\ntask: {image: x}\n');
    const refused = await cluster.cube(['apply', '-f', invalid]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^cube: replicas: .*\(HTTP 400\)/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);
  });
});
