// Deploys the synthesized stack with the real CDK CLI (bootstrap, asset upload, change set)
// into the test emulator, then checks the tables and queues it made. moto takes the
// deployment but skips ApiGatewayV2 and CloudWatch alarms and returns no stack outputs,
// so this checks the data plane's shape, not the API.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DescribeTableCommand, DynamoDBClient, paginateListTables } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';

const CDK = join(PROJECT_ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');
const suffix = randomBytes(3).toString('hex');
const stackName = `CubeDeploy${suffix}`;
const prefix = `cubedeploy${suffix}`;
const outdir = mkdtempSync(join(tmpdir(), 'cube-cdk-'));
let endpoint = '';

function cdk(args: string[], timeoutMs = 240_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CDK, ...args, '--no-notices', '--no-version-reporting', '--require-approval', 'never'],
      {
        cwd: PROJECT_ROOT,
        // CloudFormation in moto reads the template URL's host name: localhost works where
        // 127.0.0.1 does not.
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: endpoint,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          CDK_DISABLE_CLI_TELEMETRY: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`cdk ${args[0]} exited with ${code}:\n${output.slice(-4000)}`));
    });
  });
}

describe('cdk deploy into the emulator', { timeout: 600_000 }, () => {
  before(async () => {
    endpoint = (await ensureEmulator()).replace('//127.0.0.1:', '//localhost:');
  });
  after(async () => {
    await cdk(['destroy', stackName, '--app', outdir, '--force']).catch(() => {});
    rmSync(outdir, { recursive: true, force: true });
    await stopEmulator();
  });

  it('bootstraps, deploys and creates the tables and queues', async () => {
    // moto cannot create a secret from a template: the placement key is brought, as a user
    // with a key of their own would (-c placementKeySecretArn).
    const secrets = new SecretsManagerClient({
      region: process.env.AWS_REGION ?? 'us-east-1',
      endpoint,
    });
    const secret = await secrets.send(
      new CreateSecretCommand({
        Name: `${prefix}-placement-key`,
        SecretString: randomBytes(32).toString('hex'),
      }),
    );
    const context = [
      ...['-c', `stackName=${stackName}`, '-c', `prefix=${prefix}`],
      ...['-c', 'removalPolicy=destroy', '-c', `placementKeySecretArn=${secret.ARN}`],
    ];
    await cdk(['synth', '--quiet', '--output', outdir, ...context]);
    await cdk(['bootstrap', '--app', outdir]);
    const deployed = await cdk(['deploy', stackName, '--app', outdir]);
    assert.match(deployed, new RegExp(`✅\\s+${stackName}`));

    const region = process.env.AWS_REGION ?? 'us-east-1';
    const ddb = new DynamoDBClient({ region, endpoint });
    // Every page: the suite's other tests leave more than one page of tables in the emulator.
    const names: string[] = [];
    for await (const page of paginateListTables({ client: ddb }, {})) {
      names.push(...(page.TableNames ?? []));
    }
    const table = async (key: string) => {
      const name = names.find((n) => n.startsWith(`${stackName}-ControlPlane${key}Table`));
      assert.ok(name, `a ${key} table among ${names.join(', ')}`);
      return (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table!;
    };
    const tasks = await table('Tasks');
    assert.equal(tasks.BillingModeSummary?.BillingMode, 'PAY_PER_REQUEST');
    assert.deepEqual(tasks.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort(), [
      'byIdPrefix',
      'byRestart',
      'byState',
      'byWorker',
    ]);
    for (const key of ['Workers', 'Events', 'Tokens']) await table(key);

    const sqs = new SQSClient({ region, endpoint });
    const urls =
      (await sqs.send(new ListQueuesCommand({ QueueNamePrefix: prefix }))).QueueUrls ?? [];
    const queueUrl = urls.find((u) => u.endsWith(`/${prefix}-scheduling`));
    const dlqUrl = urls.find((u) => u.endsWith(`/${prefix}-scheduling-dlq`));
    assert.ok(queueUrl && dlqUrl, `scheduling queue and DLQ among ${urls.join(', ')}`);
    const attributes = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
    );
    const redrive = JSON.parse(attributes.Attributes?.RedrivePolicy ?? '{}');
    assert.equal(redrive.maxReceiveCount, 5);
    assert.match(redrive.deadLetterTargetArn, new RegExp(`:${prefix}-scheduling-dlq$`));
  });
});
