// Restart dockerd under a running worker: states converge (tasks killed by the restart are
// restarted by their policy; the worker reconnects to Docker and reconciles).
// Only restarts a dockerd the project's scripts started (scripts/ensure-docker.sh).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ensureEmulator } from '../support/aws.js';
import { startTestCluster, type TestCluster } from '../support/cli.js';
import { docker } from '../support/docker.js';
import { eventuallyInvariants } from '../support/invariants.js';
import { tearDownCluster } from '../support/teardown.js';
import { allRunning, submitSleepers, waitForWorkers } from './support.js';

const PID_FILE = '/var/run/cube-dockerd.pid';
const ARGS_FILE = '/var/run/cube-dockerd.args';

function ourDockerd(): number | undefined {
  if (!existsSync(PID_FILE) || !existsSync(ARGS_FILE)) return undefined;
  const pid = Number(readFileSync(PID_FILE, 'utf8'));
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

async function restartDockerd(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 600; i++) {
    try {
      process.kill(pid, 0);
      await new Promise((r) => setTimeout(r, 100));
    } catch {
      break;
    }
  }
  const args = readFileSync(ARGS_FILE, 'utf8').trim().split(/\s+/);
  const child = spawn('dockerd', args, { detached: true, stdio: 'ignore' });
  child.unref();
  await import('node:fs').then((fs) => fs.writeFileSync(PID_FILE, String(child.pid)));
  for (let i = 0; i < 600; i++) {
    try {
      await docker.ping();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('dockerd did not come back');
}

let cluster: TestCluster;
let workerIds: string[] = [];
const pid = ourDockerd();

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('dockerd', ['--workers', '0']);
});

after(async () => {
  await tearDownCluster(cluster, workerIds);
});

test('states converge after dockerd restarts', {
  timeout: 180_000,
  skip: pid ? false : 'dockerd was not started by scripts/ensure-docker.sh',
}, async () => {
  cluster.startWorker(`${cluster.prefix}-w`);
  const [worker] = await waitForWorkers(cluster, 1);
  workerIds = [worker!.id];
  const ids = await submitSleepers(cluster, 3);
  await allRunning(cluster, ids);
  await restartDockerd(pid!);
  await eventuallyInvariants(cluster, ids, 90_000);
});
