// `cube run --wait` through a real planned restart: the real CLI, a real `cube up`, a real
// worker and Docker. A failure with a restart planned is said on a line of its own and the
// wait goes on; the end is the task's real outcome: RUNNING on a later attempt (status 0), or
// FAILED with the exit code once no restart is left (status 1).
//
// `--wait` ends at RUNNING, and a container that exits at once was RUNNING for a moment:
// whether the CLI sees that moment is a race. So where a command exits, the CLI's first
// look is held (its GET /v1/nodes, made before it polls the task, goes through a gate)
// until the attempts the case is about have ended, as when a task fails before anyone
// looks; a command that cannot start is never RUNNING, so that case needs no gate. Restarts
// wait 10 s here, so a planned restart is there to be seen however loaded the machine is.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import type { TaskRecord } from '../../core/types.js';
import { ensureEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster, waitForWorkers } from '../support/cli.js';
import { TEST_IMAGE } from '../support/docker.js';
import { tearDownCluster } from '../support/teardown.js';

let cluster: TestCluster;
let workerIds: string[] = [];
const servers: Server[] = [];

const PLANNED = (exit: string) =>
  new RegExp(
    `is FAILED \\(exit code ${exit}\\): [^\\n]*; restarts (in \\d+s|now) as attempt 2 on the same worker$`,
  );

async function inspect(id: string): Promise<TaskRecord> {
  return (await cluster.cubeJson<{ task: TaskRecord }>(['inspect', '--json', id])).task;
}

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The API behind a gate: GET /v1/nodes waits until `open()`; everything else passes. */
async function gatedApi(): Promise<{ url: string; open: () => void }> {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  const url = await listen(
    createServer(async (req, res) => {
      if (req.method === 'GET' && req.url?.startsWith('/v1/nodes')) await opened;
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'connection'].includes(key)) {
          headers[key] = value;
        }
      }
      const upstream = await fetch(`${cluster.apiUrl}${req.url}`, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? '',
      });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    }),
  );
  return { url, open };
}

describe('cube run --wait and a planned restart', { timeout: 600_000 }, () => {
  before(async () => {
    await ensureEmulator();
    cluster = await startTestCluster('runwait', ['--workers', '1'], {
      env: { CUBE_RESTART_DELAY_MS: '10000' },
    });
    workerIds = (await waitForWorkers(cluster, 1)).map((n) => n.id);
  });

  after(async () => {
    await tearDownCluster(cluster, workerIds);
    for (const server of servers) server.close();
  });

  test('a command that exits 1 once: the plan is said, the wait goes on, status 0', async () => {
    // Answers 200 to the first request only: the first attempt exits 1, the second sleeps.
    let asked = 0;
    const marker = await listen(
      createServer((_req, res) => {
        asked++;
        res.writeHead(asked === 1 ? 200 : 404).end();
      }),
    );
    const gate = await gatedApi();
    const script = `if wget -q -O /dev/null ${marker}/fail; then exit 1; fi; exec sleep 600`;
    const args = ['run', '--wait', '--timeout', '240', '--restart', 'on-failure', '--network'];
    const cli = spawn(
      process.execPath,
      [join(PROJECT_ROOT, 'bin', 'cube.js'), ...args, 'host', TEST_IMAGE, '--', 'sh', '-c', script],
      {
        env: { ...process.env, ...cluster.env, CUBE_API_URL: gate.url, CUBE_TOKEN: cluster.token },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    cli.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    const status = new Promise<number | null>((resolve) => cli.on('exit', resolve));

    const id = await eventually(
      'the task id on stdout',
      async () => /^(t[0-9a-f]{12})\n/.exec(stdout)?.[1],
    );
    await eventually(
      'attempt 1 to fail with a restart planned',
      async () => {
        const task = await inspect(id);
        return task.attempt === 1 && task.state === 'FAILED' && task.restart ? task : undefined;
      },
      120_000,
    );
    gate.open();

    assert.equal(await status, 0, `${stderr}\n${cluster.logs()}`);
    const [plan, end, ...rest] = stderr.trim().split('\n');
    assert.match(plan ?? '', PLANNED('1'), stderr);
    assert.match(end ?? '', new RegExp(`^task ${id} is RUNNING on \\S+ \\(attempt 2\\)$`));
    assert.deepEqual(rest, []);
    // Attempt 2 is RUNNING once its container started, which can be before its wget is sent.
    await eventually('the second attempt to ask the marker too', async () =>
      asked >= 2 ? true : undefined,
    );
    assert.equal(asked, 2, 'each attempt asked once');
    const task = await inspect(id);
    assert.equal(task.state, 'RUNNING');
    assert.equal(task.attempt, 2);
  });

  test('a command that can never start: the plan is said, then the real end, status 1', async () => {
    const run = await cluster.cube(
      [
        'run',
        '--wait',
        '--timeout',
        '240',
        '--restart',
        'on-failure:1',
        '--max-reschedules',
        '0',
        '--network',
        'none',
        TEST_IMAGE,
        '--',
        '/no/such/command',
      ],
      270_000,
    );
    assert.equal(run.code, 1, `${run.stderr}\n${cluster.logs()}`);
    const id = run.stdout.trim();
    const task = await inspect(id);
    assert.equal(task.state, 'FAILED');
    assert.equal(task.attempt, 2);
    assert.equal(task.restart, undefined, 'no restart left');
    assert.equal(task.exitCode, undefined, 'it never ran, so it has no exit code');
    const [plan, end, ...rest] = run.stderr.trim().split('\n');
    assert.match(
      plan ?? '',
      /is FAILED: [^\n]*no such file or directory[^\n]*; restarts (in \d+s|now) as attempt 2 on the same worker$/,
      run.stderr,
    );
    assert.match(
      end ?? '',
      new RegExp(
        `^cube: task ${id} is FAILED: .*no such file or directory.*; reschedule limit 0 reached \\(attempt 2\\)$`,
      ),
    );
    assert.deepEqual(rest, []);
  });

  test('a command that always exits 3, first looked at once it ended: its exit code, status 1', async () => {
    const gate = await gatedApi();
    const args = ['run', '--wait', '--restart', 'on-failure:1', '--max-reschedules', '0'];
    const cli = spawn(
      process.execPath,
      [
        join(PROJECT_ROOT, 'bin', 'cube.js'),
        ...args,
        '--network',
        'none',
        TEST_IMAGE,
        '--',
        'sh',
        '-c',
        'exit 3',
      ],
      {
        env: { ...process.env, ...cluster.env, CUBE_API_URL: gate.url, CUBE_TOKEN: cluster.token },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    cli.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    cli.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    const status = new Promise<number | null>((resolve) => cli.on('exit', resolve));
    const id = await eventually(
      'the task id on stdout',
      async () => /^(t[0-9a-f]{12})\n/.exec(stdout)?.[1],
    );
    await eventually(
      'both attempts to fail',
      async () => {
        const task = await inspect(id);
        return task.attempt === 2 && task.state === 'FAILED' && !task.restart ? task : undefined;
      },
      180_000,
    );
    gate.open();
    assert.equal(await status, 1, `${stderr}\n${cluster.logs()}`);
    assert.match(
      stderr,
      new RegExp(
        `^cube: task ${id} is FAILED \\(exit code 3\\): exited with code 3; .*reschedule limit 0 reached \\(attempt 2\\)\n$`,
      ),
    );
    const task = await inspect(id);
    assert.equal(task.exitCode, 3);
  });
});
