// `npm run demo` as a newcomer runs it (no AWS or Cube variables, a fresh HOME), then Ctrl-C:
// SIGINT to its whole process group, as a terminal sends it. The demo stops its task and the
// cluster and exits as an interrupted command does, leaving the checkout as it found it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import { eventually } from '../support/cli.js';
import { containersOfTask } from '../support/docker.js';

const home = mkdtempSync(join(tmpdir(), 'cube-demo-'));
after(() => rmSync(home, { recursive: true, force: true }));

const gitStatus = () =>
  execFileSync('git', ['status', '--porcelain'], { cwd: PROJECT_ROOT, encoding: 'utf8' });

test('Ctrl-C of npm run demo stops its task and the cluster, and exits 0 or 130', {
  timeout: 300_000,
}, async () => {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined || key.startsWith('AWS_') || key.startsWith('CUBE_')) continue;
    env[key] = value;
  }
  Object.assign(env, { HOME: home, XDG_CONFIG_HOME: join(home, '.config') });
  const statusBefore = gitStatus();

  // Free ports instead of the fixed defaults (the demo passes its arguments to `cube up`).
  const demo = spawn('npm', ['run', 'demo', '--', '--port', '0', '--emulator-port', '0'], {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  demo.stdout.on('data', (c: Buffer) => {
    output += c;
  });
  demo.stderr.on('data', (c: Buffer) => {
    output += c;
  });
  const exited = new Promise<number | string | null>((resolve) =>
    demo.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  try {
    await eventually(
      'the demo to be up',
      async () => {
        assert.equal(demo.exitCode, null, output);
        return /press Ctrl-C to stop everything/.test(output) || undefined;
      },
      240_000,
    );
  } catch (error) {
    process.kill(-demo.pid!, 'SIGKILL');
    throw error;
  }
  const taskId = /\$ cube inspect (t[0-9a-f]{12})/.exec(output)?.[1];
  assert.ok(taskId, output);
  assert.equal((await containersOfTask(taskId, false)).length, 1, 'the demo task runs');
  const upLog = /log: (\S+)\)/.exec(output)?.[1];
  assert.ok(upLog, output);

  process.kill(-demo.pid!, 'SIGINT');
  const status = await exited;
  // npm dies of the SIGINT it passes on, which a shell reports as 130.
  assert.ok(status === 0 || status === 130 || status === 'SIGINT', `status ${status}\n${output}`);
  assert.match(readFileSync(upLog, 'utf8'), /^stopped$/m, 'cube up stopped everything');
  assert.deepEqual(await containersOfTask(taskId, false), [], 'no container left running');
  assert.equal(gitStatus(), statusBefore, 'the checkout is as it was');
});
