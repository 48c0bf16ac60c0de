// npm run bench:logs [-- --lag-lines N] [--step-seconds N] [--json]
// Log shipping on the local stack (a real `cube up`, one `cube worker` process, real
// containers, the emulator's CloudWatch Logs): the follow lag of `cube logs -f` (the engine's
// timestamp of a line -> the moment the CLI printed it), then offered rates stepped up until
// the worker drops lines (what it shipped, what it dropped, its CPU per 10,000 lines, its
// CloudWatch requests), then a container printing as fast as it can. Cost per GB shipped from
// the bytes CloudWatch bills (message + 26 bytes per event) at list price. Asserts nothing.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlPlaneConfig } from '../../aws/config.js';
import { LogStore } from '../../aws/logStore.js';
import { logsClient } from '../../aws/logsClient.js';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import { logStreamName } from '../../core/logs/logNames.js';
import type { TaskRecord } from '../../core/types.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { eventually, startTestCluster, waitForWorkers } from '../support/cli.js';
import { removeContainersOfWorkers } from '../support/docker.js';
import { benchArgs, machine, sleep } from './benchSupport.js';
import { percentile, round } from './stats.js';

const { json, option, progress } = benchArgs();
const lagLines = option('--lag-lines', 300);
const stepSeconds = option('--step-seconds', 10);
const RATES = [2_500, 5_000, 10_000, 20_000, 40_000];
/** CloudWatch Logs list prices, us-east-1 (Standard class): ingestion, storage per month. */
const PRICE = { ingestPerGb: 0.5, storePerGbMonth: 0.03 };

await ensureEmulator();
const countFile = join(tmpdir(), `cube-bench-logs-${process.pid}`);
const cluster = await startTestCluster('benchlogs', ['--workers', '0'], {
  defaults: true,
  env: { CUBE_REQUEST_COUNT_FILE: countFile },
});
const worker = cluster.startWorker(`${cluster.prefix}-w`);
const workerIds = (await waitForWorkers(cluster, 1)).map((w) => w.id);
const store = new LogStore(
  logsClient(),
  controlPlaneConfig({ CUBE_PREFIX: cluster.prefix }).logGroup,
);
const CUBE = join(PROJECT_ROOT, 'bin', 'cube.js');
const env = {
  ...process.env,
  ...cluster.env,
  CUBE_API_URL: cluster.apiUrl,
  CUBE_TOKEN: cluster.token,
};

async function run(script: string): Promise<string> {
  const out = await cluster.cube([
    'run',
    '--network',
    'none',
    '--cpu',
    '1',
    'cube-test/busybox',
    '--',
    'sh',
    '-c',
    script,
  ]);
  if (out.code !== 0) throw new Error(out.stderr);
  return out.stdout.trim();
}

const stateOf = async (id: string) =>
  (await cluster.cubeJson<{ task: TaskRecord }>(['inspect', '--json', id])).task.state;

/** The worker process's CPU time so far (ms), from /proc. */
function workerCpuMs(): number {
  const fields = readFileSync(`/proc/${worker.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** The worker's CloudWatch Logs requests so far (CUBE_REQUEST_COUNT_FILE). */
function workerLogRequests(): number {
  const dir = tmpdir();
  const base = countFile.split('/').pop()!;
  let total = 0;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(`${base}.${worker.pid}.`)) continue;
    const counts = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Record<string, number>;
    for (const [key, n] of Object.entries(counts)) if (key.startsWith('logs:')) total += n;
  }
  return total;
}

async function streamOf(id: string) {
  const events = [];
  let token: string | undefined;
  for (;;) {
    const page = await store.read(logStreamName(id, 1), {
      limit: 10_000,
      ...(token ? { nextToken: token } : {}),
    });
    events.push(...page.events);
    if (!page.nextToken || page.nextToken === token) return events;
    token = page.nextToken;
  }
}

// 1. Follow lag: a line every 100 ms, followed by the real CLI.
progress(`follow lag: ${lagLines} lines, one every 100 ms, followed by cube logs -f`);
const lagTask = await run(
  `i=1; while [ $i -le ${lagLines} ]; do echo "lag $i"; i=$((i+1)); sleep 0.1; done`,
);
const lags: number[] = [];
await new Promise<void>((resolve) => {
  const follower = spawn(process.execPath, [CUBE, 'logs', '-f', '--json', lagTask], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let rest = '';
  follower.stdout.on('data', (chunk: Buffer) => {
    const now = Date.now();
    const lines = (rest + chunk).split('\n');
    rest = lines.pop()!;
    for (const line of lines) {
      if (!line) continue;
      const { time } = JSON.parse(line) as { time: string };
      lags.push(now - Date.parse(time));
    }
  });
  follower.on('exit', () => resolve());
});

// 2. Offered rates stepped up: bursts of K lines 10 times a second.
interface Step {
  offeredPerS: number;
  shippedPerS: number;
  dropped: number;
  cpuMsPer10k: number;
  requests: number;
  bytes: number;
}
async function measure(script: string, label: string): Promise<Step> {
  const cpu0 = workerCpuMs();
  const req0 = workerLogRequests();
  const id = await run(script);
  await eventually(
    `${label} running`,
    async () => ((await stateOf(id)) === 'RUNNING' ? true : undefined),
    60_000,
  );
  const started = Date.now();
  await sleep(stepSeconds * 1000);
  const stopped = await cluster.cube(['stop', '--wait', id]);
  if (stopped.code !== 0) throw new Error(stopped.stderr);
  const seconds = (Date.now() - started) / 1000;
  await sleep(1500);
  const cpu = workerCpuMs() - cpu0;
  const requests = workerLogRequests() - req0;
  const events = await streamOf(id);
  let dropped = 0;
  let shipped = 0;
  let bytes = 0;
  for (const e of events) {
    bytes += Buffer.byteLength(e.message) + 26;
    const drop = /^\[cube\] (\d+) lines? dropped$/.exec(e.message);
    if (drop) dropped += Number(drop[1]);
    else shipped++;
  }
  return {
    offeredPerS: round((shipped + dropped) / seconds, 0),
    shippedPerS: round(shipped / seconds, 0),
    dropped,
    cpuMsPer10k: round((cpu / Math.max(1, shipped + dropped)) * 10_000, 0),
    requests,
    bytes,
  };
}

const steps: (Step & { target: number })[] = [];
for (const rate of RATES) {
  const k = rate / 10;
  progress(`offered ${rate} lines/s for ${stepSeconds} s`);
  const step = await measure(
    `i=0; while true; do awk -v a=$i -v k=${k} 'BEGIN { for (n = a + 1; n <= a + k; n++) print "line " n " of a chatty container, some 60 bytes or so" }'; i=$((i+${k})); sleep 0.1; done`,
    `rate ${rate}`,
  );
  steps.push({ target: rate, ...step });
  progress(`  ${JSON.stringify(step)}`);
}
progress(`as fast as it can for ${stepSeconds} s`);
const flood = await measure('yes "$(printf %080d 0)"', 'flood');
progress(`  ${JSON.stringify(flood)}`);

const all = [...steps, flood];
const bytes = all.reduce((sum, s) => sum + s.bytes, 0);
const requests = all.reduce((sum, s) => sum + s.requests, 0);
const gb = bytes / 1e9;
const clean = steps.filter((s) => s.dropped === 0);
const result = {
  machine: await machine(),
  followLagMs: {
    lines: lags.length,
    p50: round(percentile(lags, 50), 0),
    p99: round(percentile(lags, 99), 0),
    max: round(Math.max(...lags), 0),
  },
  steps,
  flood,
  shippedWithoutDropsPerS: clean.length > 0 ? Math.max(...clean.map((s) => s.shippedPerS)) : 0,
  cpuMsPer10kLines: round(
    percentile(
      all.map((s) => s.cpuMsPer10k),
      50,
    ),
    0,
  ),
  perGb: {
    requests: round(requests / gb, 0),
    listPriceUsd: PRICE.ingestPerGb,
    storedPerMonthUsd: PRICE.storePerGbMonth,
  },
  shippedBytes: bytes,
};

await cluster.stop();
await removeContainersOfWorkers(workerIds);
for (const name of readdirSync(tmpdir())) {
  if (name.startsWith(countFile.split('/').pop()!)) rmSync(join(tmpdir(), name), { force: true });
}
await stopEmulator();

if (json) {
  console.log(JSON.stringify(result, null, 2));
} else {
  const l = result.followLagMs;
  console.log(
    `follow lag (engine timestamp -> printed by cube logs -f): p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms (${l.lines} lines)`,
  );
  console.log(
    'offered lines/s  shipped lines/s  dropped  worker CPU ms/10k lines  CloudWatch requests',
  );
  for (const s of [...steps, { ...flood, target: 'max' }]) {
    console.log(
      `${String(s.target).padStart(7)} (${String(s.offeredPerS).padStart(6)})  ${String(s.shippedPerS).padStart(15)}  ${String(s.dropped).padStart(7)}  ${String(s.cpuMsPer10k).padStart(23)}  ${String(s.requests).padStart(19)}`,
    );
  }
  console.log(`shipped without drops: up to ${result.shippedWithoutDropsPerS} lines/s`);
  console.log(
    `per GB shipped: ${result.perGb.requests} requests, $${PRICE.ingestPerGb} ingestion + $${PRICE.storePerGbMonth}/month stored (list price)`,
  );
}
process.exit(0);
