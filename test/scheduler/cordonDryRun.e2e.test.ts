// Through the real CLI and API (`cube up`, two `cube worker` processes with zone labels):
// dry-run placement with constraints, cordon/uncordon, and labels in `cube nodes`.
// Drain is tested at the store level (drain.test.ts): the worker's half is in progress.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { WorkerRecord } from '../../core/types.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster } from '../support/cli.js';

let cluster: TestCluster;
let specFile: string;

before(async () => {
  await ensureEmulator();
  cluster = await startTestCluster('sched', ['--workers', '0']);
  cluster.startWorker(`${cluster.prefix}-a`, ['--label', 'zone=a', '--cpu', '1', '--memory', '1g']);
  cluster.startWorker(`${cluster.prefix}-b`, [
    '--label',
    'zone=b',
    '--label',
    'disk=ssd',
    '--cpu',
    '1',
    '--memory',
    '1g',
  ]);
  await eventually('both workers to register', async () => {
    const list = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
    return list.length === 2 ? list : undefined;
  });
  specFile = join(tmpdir(), `${cluster.prefix}-task.json`);
  writeFileSync(
    specFile,
    JSON.stringify({ image: 'busybox', network: 'none', constraints: ['zone=b'] }),
  );
});

after(async () => {
  await cluster?.stop();
  await stopEmulator();
});

test('dry-run, cordon and labels through the CLI', { timeout: 120_000 }, async () => {
  const b = `${cluster.prefix}-b`;
  const nodes = await cluster.cube(['nodes']);
  assert.match(nodes.stdout, /disk=ssd,zone=b/);
  const onlyB = await cluster.cubeJson<WorkerRecord[]>([
    'nodes',
    '--json',
    '--constraint',
    'zone in (b,c)',
  ]);
  assert.deepEqual(
    onlyB.map((w) => w.name),
    [b],
  );

  const dry = await cluster.cube(['schedule', '--dry-run', '-f', specFile]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`^would place on ${b} `));
  assert.match(dry.stdout, /1 +constraint zone=b/);

  const cordon = await cluster.cube(['node', 'cordon', b]);
  assert.equal(cordon.code, 0, cordon.stderr);
  assert.match((await cluster.cube(['nodes'])).stdout, /READY,CORDONED/);
  const blocked = await cluster.cube(['schedule', '--dry-run', '-f', specFile]);
  assert.equal(blocked.code, 1);
  assert.match(
    blocked.stdout,
    /would stay PENDING: 0\/2 workers fit: 1 constraint zone=b, 1 cordoned/,
  );

  assert.equal((await cluster.cube(['node', 'uncordon', b])).code, 0);
  assert.equal((await cluster.cube(['schedule', '--dry-run', '-f', specFile])).code, 0);

  // a bad constraint is a 400 naming it; an unknown node a 404
  writeFileSync(specFile, JSON.stringify({ image: 'busybox', constraints: ['zone is b'] }));
  const bad = await cluster.cube(['schedule', '--dry-run', '-f', specFile]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /constraints\.0: 'zone is b' must be like zone=a/);
  const missing = await cluster.cube(['node', 'cordon', 'nobody']);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /worker nobody not found/);
});
