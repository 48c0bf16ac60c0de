// `cube run --wait` through a real planned restart: the real CLI, a real `cube up`, a real
// worker and Docker. A failure with a restart planned is said on a line of its own and the
// wait goes on; the end is the task's real outcome: RUNNING on a later attempt (status 0), or
// FAILED with the container's exit code once no restart is left (status 1).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { TaskRecord } from '../../core/types.js';
import { ensureEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster, waitForWorkers } from '../support/cli.js';
import { TEST_IMAGE } from '../support/docker.js';
import { tearDownCluster } from '../support/teardown.js';

let cluster: TestCluster;
let workerIds: string[] = [];
let server: Server;
let port = 0;
/** Requests to /first, per task name: the first one is told to fail. */
const asked = new Map<string, number>();

const PLANNED =
  /is FAILED \(exit code (\d+)\): [^\n]*; restarts (in \d+s|now) as attempt 2 on the same worker/;

async function inspect(id: string): Promise<TaskRecord> {
  return (await cluster.cubeJson<{ task: TaskRecord }>(['inspect', '--json', id])).task;
}

describe('cube run --wait and a planned restart', { timeout: 600_000 }, () => {
  before(async () => {
    // Answers 200 the first time a task name asks, 404 after: "fail this attempt" once.
    server = createServer((req, res) => {
      const name = req.url?.slice(1) ?? '';
      const count = (asked.get(name) ?? 0) + 1;
      asked.set(name, count);
      res.writeHead(count === 1 ? 200 : 404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    await ensureEmulator();
    cluster = await startTestCluster('runwait', ['--workers', '1']);
    workerIds = (await waitForWorkers(cluster, 1)).map((n) => n.id);
  });

  after(async () => {
    await tearDownCluster(cluster, workerIds);
    server?.close();
  });

  test('a task that exits 1 once: the plan is said, the wait goes on, status 0', async () => {
    const script = `if wget -q -O /dev/null http://127.0.0.1:${port}/once; then exit 1; fi; exec sleep 600`;
    const run = await cluster.cube(
      [
        'run',
        '--wait',
        '--timeout',
        '240',
        '--name',
        'once',
        '--restart',
        'on-failure',
        '--network',
        'host',
        TEST_IMAGE,
        '--',
        'sh',
        '-c',
        script,
      ],
      270_000,
    );
    assert.equal(run.code, 0, `${run.stderr}\n${cluster.logs()}`);
    const id = run.stdout.trim();
    assert.match(id, /^t[0-9a-f]{12}$/);
    const [plan, end, ...rest] = run.stderr.trim().split('\n');
    assert.match(plan ?? '', PLANNED, run.stderr);
    assert.equal(PLANNED.exec(plan!)?.[1], '1');
    assert.match(end ?? '', new RegExp(`^task ${id} is RUNNING on \\S+ \\(attempt 2\\)$`));
    assert.deepEqual(rest, []);
    assert.equal(asked.get('once'), 2, 'the second attempt asked too');

    const task = await inspect(id);
    assert.equal(task.state, 'RUNNING');
    assert.equal(task.attempt, 2);
  });

  test('a task that always exits 3: the plan is said, then the real end, status 1', async () => {
    const run = await cluster.cube(
      [
        'run',
        '--wait',
        '--timeout',
        '240',
        '--name',
        'always-3',
        '--restart',
        'on-failure:1',
        '--max-reschedules',
        '0',
        '--network',
        'none',
        TEST_IMAGE,
        '--',
        'sh',
        '-c',
        'exit 3',
      ],
      270_000,
    );
    assert.equal(run.code, 1, `${run.stderr}\n${cluster.logs()}`);
    const id = run.stdout.trim();
    const [plan, end, ...rest] = run.stderr.trim().split('\n');
    assert.match(plan ?? '', PLANNED, run.stderr);
    assert.equal(PLANNED.exec(plan!)?.[1], '3');
    assert.match(
      end ?? '',
      new RegExp(
        `^cube: task ${id} is FAILED \\(exit code 3\\): exited with code 3; .*reschedule limit 0 reached \\(attempt 2\\)$`,
      ),
    );
    assert.deepEqual(rest, []);

    const task = await inspect(id);
    assert.equal(task.state, 'FAILED');
    assert.equal(task.attempt, 2);
    assert.equal(task.exitCode, 3);
    assert.equal(task.restart, undefined, 'no restart left');
  });
});
