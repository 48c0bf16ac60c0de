// A service's output: its replicas' lines interleaved by time, each tagged with its replica,
// through GET /v1/services/{name}/logs and `cube logs SERVICE` (real emulator, real Docker).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { runCube } from '../support/cli.js';
import { TEST_IMAGE } from '../support/docker.js';
import { eventually, type ServiceCluster, startServiceCluster } from './support.js';

let cluster: ServiceCluster;

before(async () => {
  cluster = await startServiceCluster('svclogs');
});

after(async () => {
  await cluster?.stop();
});

interface Page {
  replicas: { replica: string; taskId: string }[];
  lines: { time: string; message: string; replica: string; taskId: string }[];
  nextToken?: string;
}

test("a service's logs interleave its replicas by time, each line tagged", {
  timeout: 180_000,
}, async () => {
  const applied = await cluster.api('PUT', '/v1/services/talk', {
    replicas: 2,
    task: {
      image: TEST_IMAGE,
      command: ['sh', '-c', 'i=1; while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done'],
      network: 'none',
      cpu: 0.05,
      memory: '32m',
      stopTimeout: 1,
    },
  });
  assert.ok([200, 201].includes(applied.status), JSON.stringify(applied.body));
  const page = await eventually(
    'lines from both replicas',
    async () => {
      const { status, body } = await cluster.api<Page>('GET', '/v1/services/talk/logs');
      assert.equal(status, 200, JSON.stringify(body));
      const replicas = new Set(body.lines.map((l) => l.replica));
      return replicas.size === 2 && body.lines.length >= 20 ? body : undefined;
    },
    120_000,
  );
  assert.deepEqual(page.replicas.map((r) => r.replica).sort(), ['talk-0', 'talk-1']);
  const times = page.lines.map((l) => Date.parse(l.time));
  for (let i = 1; i < times.length; i++) assert.ok(times[i]! >= times[i - 1]!, 'by time');
  for (const replica of ['talk-0', 'talk-1']) {
    const ticks = page.lines
      .filter((l) => l.replica === replica)
      .map((l) => Number(l.message.replace('tick ', '')));
    assert.deepEqual(
      ticks,
      Array.from({ length: ticks.length }, (_, i) => i + 1),
      replica,
    );
  }

  const env = { CUBE_API_URL: cluster.plane.apiUrl, CUBE_TOKEN: cluster.plane.adminToken };
  const out = await runCube(['logs', '--tail', '6', 'talk'], env);
  assert.equal(out.code, 0, out.stderr);
  const printed = out.stdout.split('\n').filter(Boolean);
  assert.equal(printed.length, 6);
  for (const line of printed) assert.match(line, /^talk-[01] \| tick \d+$/);

  const unknown = await runCube(['logs', 'no-such-thing'], env);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.stderr, /no task or service 'no-such-thing'/);
});

test('cube logs SERVICE: both replicas numbered in order, interleaved by time, each under its tag', {
  timeout: 180_000,
}, async () => {
  // Each replica prints its own name (its container's host name) and a count.
  const applied = await cluster.api('PUT', '/v1/services/chat', {
    replicas: 2,
    task: {
      image: TEST_IMAGE,
      command: [
        'sh',
        '-c',
        'i=1; while true; do echo "$(hostname) $i"; i=$((i+1)); sleep 0.1; done',
      ],
      network: 'none',
      cpu: 0.05,
      memory: '32m',
      stopTimeout: 1,
    },
  });
  assert.ok([200, 201].includes(applied.status), JSON.stringify(applied.body));
  const env = { CUBE_API_URL: cluster.plane.apiUrl, CUBE_TOKEN: cluster.plane.adminToken };
  const LINE = /^(chat-[01]) +\| (\S+) (\S+) (\d+)$/;
  const lines = await eventually(
    '20 lines of each replica through the CLI',
    async () => {
      const out = await runCube(['logs', '--timestamps', 'chat'], env);
      assert.equal(out.code, 0, out.stderr);
      const parsed = out.stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [, tag, time, name, n] = LINE.exec(l) ?? assert.fail(`not a tagged line: ${l}`);
          return { tag: tag!, time: Date.parse(time!), name: name!, n: Number(n) };
        });
      const each = ['chat-0', 'chat-1'].map((t) => parsed.filter((l) => l.tag === t).length);
      return Math.min(...each) >= 20 ? parsed : undefined;
    },
    120_000,
  );
  // Each tag carries one replica's own lines, and the two are different replicas.
  const names = ['chat-0', 'chat-1'].map(
    (tag) => new Set(lines.filter((l) => l.tag === tag).map((l) => l.name)),
  );
  assert.deepEqual(
    names.map((n) => n.size),
    [1, 1],
  );
  assert.notDeepEqual(names[0], names[1]);
  // Each replica's lines complete and in order...
  for (const tag of ['chat-0', 'chat-1']) {
    const counts = lines.filter((l) => l.tag === tag).map((l) => l.n);
    assert.deepEqual(
      counts,
      Array.from({ length: counts.length }, (_, i) => i + 1),
      tag,
    );
  }
  // ...and the two merged by time: never back in time, and going from one replica to the
  // other all along (both printed at once), not one replica's block after the other's.
  for (let i = 1; i < lines.length; i++) {
    assert.ok(lines[i]!.time >= lines[i - 1]!.time, `line ${i + 1} goes back in time`);
  }
  const switches = lines.filter((l, i) => i > 0 && l.tag !== lines[i - 1]!.tag).length;
  assert.ok(switches >= 10, `the replicas alternate ${switches} times`);
});
