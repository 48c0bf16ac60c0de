// The control plane's public key, end to end on a live `cube up`: served by GET
// /v1/placement-key to any token, returned by registration, pinned by `cube worker install` in
// the environment file it writes, shown by `cube up` and `cube nodes`; a worker that pinned
// another key is refused with both fingerprints named, and nothing of it is stored. Worker
// queues made at registration are encrypted (SSE-SQS), an older unencrypted one included.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../aws/clients.js';
import { PlacementSigner, placementKeyFingerprint } from '../../core/placementSignature.js';
import type { WorkerRecord } from '../../core/types.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { runCube, startTestCluster, type TestCluster } from '../support/cli.js';
import { call, createToken } from './support.js';

const OTHER_KEY = new PlacementSigner('not-this-control-planes-key-0123456789abcdef').publicKey;

interface KeyAnswer {
  algorithm: string;
  publicKey: string;
  fingerprint: string;
}

describe('the placement key, pinned', { timeout: 180_000 }, () => {
  let cluster: TestCluster;
  let key: KeyAnswer;
  const tokens: Record<'read' | 'submit' | 'worker', string> = { read: '', submit: '', worker: '' };
  const dir = mkdtempSync(join(tmpdir(), 'cube-pin-'));
  const sqs = () => createAwsClients().sqs;

  const register = (name: string, extra: object = {}) =>
    call(cluster.apiUrl, 'POST', '/v1/workers', {
      token: tokens.worker,
      body: { name, capacity: { cpuMillis: 0, memoryBytes: 0, diskBytes: 0 }, ...extra },
    });

  const sse = async (queueUrl: string) =>
    (
      await sqs().send(
        new GetQueueAttributesCommand({
          QueueUrl: queueUrl,
          AttributeNames: ['SqsManagedSseEnabled'],
        }),
      )
    ).Attributes?.SqsManagedSseEnabled;

  before(async () => {
    await ensureEmulator();
    cluster = await startTestCluster('pin', ['--workers', '0']);
    for (const scope of ['read', 'submit', 'worker'] as const) {
      tokens[scope] = (
        await createToken(cluster.apiUrl, cluster.token, `pin-${scope}`, scope)
      ).secret;
    }
    const answer = await call(cluster.apiUrl, 'GET', '/v1/placement-key', { token: tokens.read });
    assert.equal(answer.status, 200, answer.text);
    key = answer.json as KeyAnswer;
  });

  after(async () => {
    await cluster?.stop();
    await stopEmulator();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is served to every token, the same key, with its fingerprint', async () => {
    assert.equal(key.algorithm, 'Ed25519');
    assert.match(key.publicKey, /^ed25519:[A-Za-z0-9_-]{43}$/);
    assert.equal(key.fingerprint, placementKeyFingerprint(key.publicKey));
    assert.match(key.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    for (const token of [tokens.submit, tokens.worker, cluster.token]) {
      const answer = await call(cluster.apiUrl, 'GET', '/v1/placement-key', { token });
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(answer.json, key);
    }
    const anonymous = await call(cluster.apiUrl, 'GET', '/v1/placement-key', {});
    assert.equal(anonymous.status, 401);
  });

  it('is what registration returns and what cube up and cube nodes show', async () => {
    const answer = await register('pin-plain');
    assert.equal(answer.status, 201, answer.text);
    const { config } = answer.json as { config: { controlPlaneKey: string } };
    assert.equal(config.controlPlaneKey, key.publicKey);
    const up = cluster.logs();
    assert.ok(up.includes(`Key:    ${key.fingerprint} (`), up);
    assert.ok(up.includes(`--control-plane-key ${key.publicKey}`), up);
    const nodes = await cluster.cube(['nodes']);
    assert.equal(nodes.code, 0, nodes.stderr);
    assert.match(nodes.stdout, /pin-plain/);
    assert.ok(nodes.stdout.trimEnd().endsWith(`placement key ${key.fingerprint}`), nodes.stdout);
    const json = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
    assert.ok(Array.isArray(json), '--json stays the bare list');
  });

  it('registers a worker that pinned the same key', async () => {
    const answer = await register('pin-same', { controlPlaneKey: key.publicKey });
    assert.equal(answer.status, 201, answer.text);
  });

  it('refuses a worker that pinned another key, naming both fingerprints, storing nothing', async () => {
    const answer = await register('pin-other', { controlPlaneKey: OTHER_KEY });
    assert.equal(answer.status, 409, answer.text);
    const { error, message } = answer.json as { error: string; message: string };
    assert.equal(error, 'PLACEMENT_KEY_MISMATCH');
    assert.ok(message.includes(key.fingerprint), message);
    assert.ok(message.includes(placementKeyFingerprint(OTHER_KEY)), message);
    const nodes = await cluster.cubeJson<WorkerRecord[]>(['nodes', '--json']);
    assert.ok(!nodes.some((w) => w.name === 'pin-other'), 'no worker record');

    const bad = await register('pin-bad', { controlPlaneKey: 'ed25519:short' });
    assert.equal(bad.status, 400, bad.text);
    assert.match((bad.json as { message: string }).message, /^controlPlaneKey: /);
  });

  it('cube worker with another pinned key exits naming both fingerprints', async () => {
    const result = await cluster.cube(
      ['worker', '--name', 'pin-cli', '--control-plane-key', OTHER_KEY, '--token', tokens.worker],
      60_000,
    );
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /placement key mismatch/);
    assert.ok(result.stderr.includes(key.fingerprint), result.stderr);
    assert.ok(result.stderr.includes(placementKeyFingerprint(OTHER_KEY)), result.stderr);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  });

  it('cube worker install pins the key the API answers', async () => {
    const envFile = join(dir, 'worker.env');
    const result = await runCube(
      [
        'worker',
        'install',
        '--unit-dir',
        join(dir, 'systemd'),
        '--environment-file',
        envFile,
        '--api-url',
        cluster.apiUrl,
        '--token',
        tokens.worker,
        '--region',
        'us-east-1',
        '--name',
        'pin-installed',
      ],
      { XDG_CONFIG_HOME: join(dir, 'no-config'), CUBE_API_URL: '', CUBE_TOKEN: '' },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.includes(`pinned placement key ${key.fingerprint}`), result.stdout);
    const env = readFileSync(envFile, 'utf8');
    assert.ok(env.includes(`CUBE_CONTROL_PLANE_KEY="${key.publicKey}"`), env);
  });

  it("encrypts a worker's queue (SSE-SQS), and one made earlier without it", async () => {
    const first = await register('pin-sse');
    assert.equal(first.status, 201, first.text);
    const { queueUrl } = first.json as { queueUrl: string };
    assert.equal(await sse(queueUrl), 'true');
    // A queue left unencrypted (an older release, a hand change): registration encrypts it.
    await sqs().send(
      new SetQueueAttributesCommand({
        QueueUrl: queueUrl,
        Attributes: { SqsManagedSseEnabled: 'false' },
      }),
    );
    assert.equal(await sse(queueUrl), 'false');
    const again = await register('pin-sse');
    assert.equal(again.status, 201, again.text);
    assert.equal((again.json as { queueUrl: string }).queueUrl, queueUrl);
    assert.equal(await sse(queueUrl), 'true');
    const { config } = again.json as { config: { deadLetterQueueUrl: string } };
    assert.equal(await sse(config.deadLetterQueueUrl), 'true');
  });
});
