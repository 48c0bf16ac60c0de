// The README's "Using it" block, run as a newcomer would: each line as written, through a
// shell, in an environment with no AWS or Cube variables and a fresh HOME, `cube` on PATH as
// `npm link` puts it. `cube up` and `cube worker` run in the background as if in shells of
// their own; `cube up` gets free ports appended (4566 and 8470 may be taken by another run).
// The second worker must join the cluster from the config file alone and run the last task.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import type { TaskRecord, WorkerRecord } from '../../core/types.js';
import { eventually, stopChild } from '../support/cli.js';
import { removeContainersOfWorkers } from '../support/docker.js';
import { readmeBlock } from '../support/readme.js';

const home = mkdtempSync(join(tmpdir(), 'cube-newcomer-'));
const bin = join(home, 'bin');
mkdirSync(bin);
writeFileSync(
  join(bin, 'cube'),
  `#!/bin/sh\nexec "${process.execPath}" "${join(PROJECT_ROOT, 'bin', 'cube.js')}" "$@"\n`,
);
chmodSync(join(bin, 'cube'), 0o755);

/** No AWS_*, no CUBE_*: what a fresh shell on a fresh machine has. */
const cleanEnv: Record<string, string> = {};
for (const [key, value] of Object.entries(process.env)) {
  if (value === undefined || key.startsWith('AWS_') || key.startsWith('CUBE_')) continue;
  cleanEnv[key] = value;
}
Object.assign(cleanEnv, {
  HOME: home,
  XDG_CONFIG_HOME: join(home, '.config'),
  PATH: `${bin}:${process.env.PATH}`,
});

interface Shell {
  child: ChildProcess;
  output: () => string;
}

/** A long-running line, as in a shell of its own (exec: its status is the command's). */
function shell(line: string): Shell {
  const child = spawn('sh', ['-c', `exec ${line}`], {
    cwd: PROJECT_ROOT,
    env: cleanEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // its own process group, as a terminal's foreground job is
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => {
    output += c;
  });
  child.stderr?.on('data', (c: Buffer) => {
    output += c;
  });
  return { child, output: () => output };
}

async function finish(line: string): Promise<{ code: number; stdout: string; output: string }> {
  const child = spawn('sh', ['-c', line], {
    cwd: PROJECT_ROOT,
    env: cleanEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c;
    output += c;
  });
  child.stderr.on('data', (c: Buffer) => {
    output += c;
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? -1)));
  return { code, stdout, output };
}

const json = async <T>(args: string): Promise<T> => {
  const result = await finish(`cube ${args}`);
  assert.equal(result.code, 0, result.output);
  return JSON.parse(result.stdout) as T;
};

/** Ctrl-C: SIGINT to the whole foreground process group, and its exit status. */
async function ctrlC(daemon: Shell): Promise<number | string | null> {
  const { child } = daemon;
  if (child.exitCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  process.kill(-child.pid!, 'SIGINT');
  return await exited;
}

const daemons: Shell[] = [];
let workerIds: string[] = [];

after(async () => {
  for (const daemon of [...daemons].reverse()) {
    if (daemon.child.exitCode === null && daemon.child.signalCode === null) {
      process.kill(-daemon.child.pid!, 'SIGINT');
    }
    await stopChild(daemon.child);
  }
  await removeContainersOfWorkers(workerIds);
  rmSync(home, { recursive: true, force: true });
});

test("the README's 'Using it' block works as written, with no AWS environment", {
  timeout: 300_000,
}, async () => {
  const lines = readmeBlock(readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8'), 'Using it');
  assert.ok(
    lines.some((l) => /^cube worker /.test(l)),
    'the block starts a second worker',
  );
  let up: Shell | undefined;
  let lastId: string | undefined;
  let lastRun: string | undefined;

  for (const written of lines) {
    const line = written.replace(/<id>/g, () => {
      assert.ok(lastId, `'${written}' needs a task id: no cube run before it`);
      return lastId;
    });
    assert.doesNotMatch(line, /<[^>]*>/, `a placeholder the test cannot fill: ${written}`);
    const command = line.replace(/\s+#.*$/, '');

    if (/^(node bin\/cube\.js|cube) up\b/.test(command)) {
      up = shell(`${command} --port 0 --emulator-port 0`);
      daemons.push(up);
      const daemon = up;
      await eventually(
        'cube up to start',
        async () => {
          assert.equal(daemon.child.exitCode, null, daemon.output());
          return /Press Ctrl-C/.test(daemon.output()) || undefined;
        },
        120_000,
      );
    } else if (
      /^cube worker\b/.test(command) &&
      !/^cube worker (install|uninstall)\b/.test(command)
    ) {
      const name = /--name\s+(\S+)/.exec(command)?.[1];
      assert.ok(name, `the test needs the worker's --name: ${written}`);
      const worker = shell(command);
      daemons.push(worker);
      await eventually(
        `worker ${name} READY`,
        async () => {
          assert.equal(worker.child.exitCode, null, worker.output());
          const nodes = await json<WorkerRecord[]>('nodes --json');
          return nodes.some((n) => n.name === name && n.state === 'READY') || undefined;
        },
        90_000,
      );
    } else {
      assert.ok(up, `'${written}' comes before cube up`);
      const result = await finish(command);
      assert.equal(result.code, 0, `${written}\n${result.output}`);
      if (/^cube run\b/.test(command)) {
        lastId = result.stdout.split('\n')[0]!.trim();
        lastRun = command;
        assert.match(lastId, /^t[0-9a-f]{12}$/, result.output);
      }
    }
  }

  // The last task asked for zone=b: it runs on host-2, the worker with no AWS environment.
  assert.match(lastRun ?? '', /--constraint zone=b/);
  const nodes = await json<WorkerRecord[]>('nodes --json');
  workerIds = nodes.map((n) => n.id);
  const host2 = nodes.find((n) => n.name === 'host-2');
  assert.ok(host2, JSON.stringify(nodes));
  const { task } = await json<{ task: TaskRecord }>(`inspect --json ${lastId}`);
  assert.equal(task.state, 'RUNNING');
  assert.equal(task.workerId, host2.id);

  // Ctrl-C of the worker and of `cube up` (SIGINT to each one's process group, children and
  // all, as a terminal sends it) is a clean exit.
  for (const daemon of [...daemons].reverse()) {
    const code = await ctrlC(daemon);
    assert.ok(code === 0 || code === 130, `exit status ${code} after Ctrl-C\n${daemon.output()}`);
  }
});
