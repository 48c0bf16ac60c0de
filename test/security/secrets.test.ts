// Secrets from a store: the worker reads them at container start with its own credentials
// (here the emulator's SSM Parameter Store and Secrets Manager), they reach the container's
// environment, and their values appear in no record, event, message, log line or CLI view.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { renderTask } from '../../cli/commands/inspect.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import type { TaskRecord } from '../../core/types.js';
import { docker, TEST_IMAGE } from '../support/docker.js';
import { startHarness, type WorkerHarness, waitFor } from '../worker/support.js';

describe('secrets from a store', { timeout: 120_000 }, () => {
  let h: WorkerHarness;
  const run = randomBytes(4).toString('hex');
  const dbPassword = `db-${randomBytes(12).toString('hex')}`;
  const apiKey = `api-${randomBytes(12).toString('hex')}`;
  const parameter = `/cube-test/${run}/db/password`;
  const secretName = `cube-test/${run}/api-key`;

  before(async () => {
    h = await startHarness('secrets');
    const region = process.env.AWS_REGION ?? 'us-east-1';
    await new SSMClient({ region }).send(
      new PutParameterCommand({ Name: parameter, Value: dbPassword, Type: 'SecureString' }),
    );
    await new SecretsManagerClient({ region }).send(
      new CreateSecretCommand({ Name: secretName, SecretString: apiKey }),
    );
  });
  after(async () => {
    await h?.close();
  });

  it('reach the container and no record, event, message, log line or inspect view', async () => {
    const placed = await h.scheduleTask({
      secrets: [
        { name: 'DB_PASSWORD', from: `ssm:${parameter}` },
        { name: 'API_KEY', from: `secretsmanager:${secretName}` },
      ],
      env: { MODE: 'test' },
    });
    // The run message carries the record: look at it on the queue before the worker does.
    await h.queues.sendTaskToWorker(h.queueUrl, 'run', placed);
    const running = await waitFor(
      () => h.tasks.require(placed.id),
      (t) => t.state === 'RUNNING' || t.state === 'FAILED',
      'RUNNING',
    );
    assert.equal(running.state, 'RUNNING', running.reason);

    const exec = await docker.getContainer(running.containerId!).exec({
      Cmd: ['env'],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({});
    let output = '';
    stream.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    await new Promise((resolve) => stream.on('end', resolve));
    assert.match(output, new RegExp(`DB_PASSWORD=${dbPassword}`));
    assert.match(output, new RegExp(`API_KEY=${apiKey}`));
    assert.match(output, /MODE=test/);

    const events = await h.tasks.events(placed.id);
    const inspectView = renderTask(running, events, new Map());
    assert.match(inspectView, /Secrets:\s+DB_PASSWORD, API_KEY/);
    const everywhere = [
      JSON.stringify(running),
      JSON.stringify(events),
      JSON.stringify(placed),
      h.logs.join('\n'),
      inspectView,
    ].join('\n');
    for (const value of [dbPassword, apiKey]) {
      assert.ok(!everywhere.includes(value), 'the value is stored or shown nowhere');
    }
  });

  it('a secret that cannot be read fails the task naming it, and starts nothing', async () => {
    const placed = await h.scheduleTask({
      secrets: [{ name: 'MISSING', from: `ssm:/cube-test/${run}/nothing-here` }],
    });
    await h.send({ kind: 'run', taskId: placed.id, attempt: 1 });
    const failed = await waitFor(
      () => h.tasks.require(placed.id),
      (t) => t.state === 'FAILED',
      'FAILED',
    );
    assert.match(
      failed.reason ?? '',
      new RegExp(`^secret MISSING \\(ssm:/cube-test/${run}/nothing-here\\) could not be read`),
    );
    assert.equal((await h.containersOf(placed.id)).length, 0);
  });

  it('the spec names each secret once, by a reference of a known store', () => {
    const spec = (secrets: unknown) =>
      validateTaskSpec({ image: TEST_IMAGE, secrets, env: { TAKEN: 'x' } }, () => 'n');
    const ok = spec([
      { name: 'A', from: 'ssm:/prod/db/password' },
      { name: 'B', from: 'secretsmanager:prod/api' },
      { name: 'C', from: 'arn:aws:ssm:eu-west-1:123456789012:parameter/prod/x' },
      { name: 'D', from: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/y-AbCdEf' },
    ]);
    assert.deepEqual(
      (ok as TaskRecord['spec']).secrets?.map((s) => s.name),
      ['A', 'B', 'C', 'D'],
    );
    assert.throws(() => spec([{ name: 'A', from: 'vault:x' }]), /secrets\.0\.from: must be ssm:/);
    assert.throws(() => spec([{ name: 'a-b', from: 'ssm:/x' }]), /secrets\.0\.name/);
    assert.throws(() => spec([{ name: 'TAKEN', from: 'ssm:/x' }]), /secrets\.0\.name: TAKEN/);
  });
});
