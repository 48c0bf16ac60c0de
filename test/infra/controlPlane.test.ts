// The synthesized stack, checked resource by resource. Synthesized once (bundling the three
// functions with esbuild takes a few seconds); a second stack skips bundling.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { CubeStack } from '../../infra/stack.js';
import { allowStatements, policyDocuments, refName, renderArn } from './policies.js';

const started = Date.now();
const app = new App();
const stack = new CubeStack(app, 'Cube', { prefix: 'cube' });
const template = Template.fromStack(stack);
const assembly = app.synth();
const synthMs = Date.now() - started;

const resources = (type: string) => template.findResources(type);
const logicalId = (type: string, pattern: RegExp) => {
  const ids = Object.keys(resources(type)).filter((id) => pattern.test(id));
  assert.equal(ids.length, 1, `one ${type} matching ${pattern}, found ${ids.join(', ')}`);
  return ids[0]!;
};
const TABLE = 'AWS::DynamoDB::Table';
const tableId = (name: string) => logicalId(TABLE, new RegExp(`^ControlPlane${name}Table`));
const functionId = (name: string) =>
  logicalId('AWS::Lambda::Function', new RegExp(`^ControlPlane${name}[0-9A-F]{8}$`));

describe('CubeControlPlane stack', () => {
  it(`synthesizes with bundled functions (${synthMs} ms)`, () => {
    template.resourceCountIs('AWS::Lambda::Function', 3);
  });

  it('creates the five tables with the keys and indexes provision.ts uses', () => {
    template.resourceCountIs(TABLE, 5);
    const tasks = resources(TABLE)[tableId('Tasks')]!;
    assert.deepEqual(tasks.Properties.KeySchema, [{ AttributeName: 'id', KeyType: 'HASH' }]);
    assert.deepEqual(tasks.Properties.GlobalSecondaryIndexes, [
      {
        IndexName: 'byState',
        KeySchema: [
          { AttributeName: 'state', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'byRestart',
        KeySchema: [{ AttributeName: 'restartDue', KeyType: 'HASH' }],
        Projection: { ProjectionType: 'KEYS_ONLY' },
      },
      {
        IndexName: 'byWorker',
        KeySchema: [
          { AttributeName: 'workerId', KeyType: 'HASH' },
          { AttributeName: 'state', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
      {
        IndexName: 'byIdPrefix',
        KeySchema: [
          { AttributeName: 'idPrefix', KeyType: 'HASH' },
          { AttributeName: 'id', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['purgeAt'] },
      },
    ]);
    assert.deepEqual(resources(TABLE)[tableId('Events')]!.Properties.GlobalSecondaryIndexes, [
      {
        IndexName: 'byTime',
        KeySchema: [
          { AttributeName: 'bucket', KeyType: 'HASH' },
          { AttributeName: 'at', KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      },
    ]);
    const keys: Record<string, unknown> = {
      Tasks: [{ AttributeName: 'id', KeyType: 'HASH' }],
      Workers: [{ AttributeName: 'id', KeyType: 'HASH' }],
      Events: [
        { AttributeName: 'taskId', KeyType: 'HASH' },
        { AttributeName: 'seq', KeyType: 'RANGE' },
      ],
      Tokens: [{ AttributeName: 'hash', KeyType: 'HASH' }],
      Services: [
        { AttributeName: 'service', KeyType: 'HASH' },
        { AttributeName: 'key', KeyType: 'RANGE' },
      ],
    };
    for (const [name, keySchema] of Object.entries(keys)) {
      const table = resources(TABLE)[tableId(name)]!;
      assert.deepEqual(table.Properties.KeySchema, keySchema, name);
      assert.equal(table.Properties.BillingMode, 'PAY_PER_REQUEST', name);
      // Finished tasks, events, dead tokens, DOWN workers expire (core/history/retention.ts).
      assert.deepEqual(
        table.Properties.TimeToLiveSpecification,
        { AttributeName: 'purgeAt', Enabled: true },
        name,
      );
      assert.deepEqual(
        table.Properties.PointInTimeRecoverySpecification,
        { PointInTimeRecoveryEnabled: true },
        name,
      );
      // Retained on stack deletion by default.
      assert.equal(table.DeletionPolicy, 'Retain', name);
      assert.equal(table.UpdateReplacePolicy, 'Retain', name);
    }
  });

  it('can destroy the tables with the stack, serve the API from a function URL, reserve nothing', () => {
    // A second stack without bundling: only its template matters.
    const other = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const scratch = Template.fromStack(
      new CubeStack(other, 'Scratch', {
        removalPolicy: RemovalPolicy.DESTROY,
        frontDoor: 'function-url',
        reservedConcurrency: false,
      }),
    );
    const functions = Object.values(scratch.findResources('AWS::Lambda::Function'));
    assert.ok(functions.length >= 3);
    for (const fn of functions) assert.equal(fn.Properties.ReservedConcurrentExecutions, undefined);
    for (const table of Object.values(scratch.findResources(TABLE))) {
      assert.equal(table.DeletionPolicy, 'Delete');
    }
    scratch.resourceCountIs('AWS::ApiGatewayV2::Api', 0);
    scratch.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    scratch.hasOutput('ApiUrl', {
      Value: {
        'Fn::GetAtt': [Match.stringLikeRegexp('^ControlPlaneApiFunctionUrl'), 'FunctionUrl'],
      },
    });
  });

  it('dead-letters scheduling nudges after five receives and alarms on the DLQ', () => {
    const queues = resources('AWS::SQS::Queue');
    const dlq = logicalId('AWS::SQS::Queue', /^ControlPlaneSchedulingDlq/);
    const queue = logicalId('AWS::SQS::Queue', /^ControlPlaneSchedulingQueue/);
    assert.equal(queues[queue]!.Properties.QueueName, 'cube-scheduling');
    assert.equal(queues[dlq]!.Properties.QueueName, 'cube-scheduling-dlq');
    assert.deepEqual(queues[queue]!.Properties.RedrivePolicy, {
      deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
      maxReceiveCount: 5,
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlq, 'QueueName'] } }],
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });

  it('runs the three handlers on nodejs22.x, arm64, with the settings the code reads', () => {
    for (const name of ['Api', 'Scheduler', 'Reconciler']) {
      const fn = resources('AWS::Lambda::Function')[functionId(name)]!.Properties;
      assert.equal(fn.Runtime, 'nodejs22.x', name);
      assert.deepEqual(fn.Architectures, ['arm64'], name);
      assert.equal(fn.Handler, 'index.handler', name);
      const env = fn.Environment.Variables;
      assert.deepEqual(env.CUBE_TASKS_TABLE, { Ref: tableId('Tasks') });
      assert.deepEqual(env.CUBE_WORKERS_TABLE, { Ref: tableId('Workers') });
      assert.deepEqual(env.CUBE_EVENTS_TABLE, { Ref: tableId('Events') });
      assert.deepEqual(env.CUBE_TOKENS_TABLE, { Ref: tableId('Tokens') });
      assert.deepEqual(env.CUBE_SERVICES_TABLE, { Ref: tableId('Services') });
      assert.deepEqual(env.CUBE_SCHEDULING_QUEUE_URL, {
        Ref: logicalId('AWS::SQS::Queue', /^ControlPlaneSchedulingQueue/),
      });
      assert.ok(env.CUBE_SCHEDULING_QUEUE_NAME, name);
      assert.deepEqual(env.CUBE_SCHEDULING_DLQ_URL, {
        Ref: logicalId('AWS::SQS::Queue', /^ControlPlaneSchedulingDlq/),
      });
      assert.equal(env.CUBE_PREFIX, 'cube');
      assert.equal(env.CUBE_WORKER_QUEUE_PREFIX, 'cube-worker-');
    }
  });

  it('bundles each handler into an ES module that loads and exports `handler`', async () => {
    const bundles = readdirSync(assembly.directory)
      .filter((dir) => dir.startsWith('asset.'))
      .map((dir) => join(assembly.directory, dir, 'index.mjs'))
      .filter((file) => existsSync(file));
    assert.equal(bundles.length, 3);
    for (const file of bundles) {
      const module = await import(pathToFileURL(file).href);
      assert.equal(typeof module.handler, 'function', file);
    }
  });

  it('routes /v1 and /v1/{proxy+} of an HTTP API to the api function', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [functionId('Api'), 'Arn'] },
      PayloadFormatVersion: '2.0',
    });
    const routes = Object.values(resources('AWS::ApiGatewayV2::Route')).map(
      (r) => r.Properties.RouteKey,
    );
    assert.deepEqual(routes.sort(), ['ANY /v1', 'ANY /v1/{proxy+}']);
  });

  it('feeds the scheduler from the queue with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: functionId('Scheduler') },
      EventSourceArn: {
        'Fn::GetAtt': [logicalId('AWS::SQS::Queue', /^ControlPlaneSchedulingQueue/), 'Arn'],
      },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('runs the reconciler every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId('Reconciler'), 'Arn'] } })],
    });
  });

  it('encrypts the queues, reserves concurrency, throttles and logs the API (issue 20)', () => {
    for (const queue of Object.values(resources('AWS::SQS::Queue'))) {
      assert.equal(queue.Properties.SqsManagedSseEnabled, true);
    }
    const fn = (name: string) => resources('AWS::Lambda::Function')[functionId(name)]!;
    assert.equal(fn('Scheduler').Properties.ReservedConcurrentExecutions, 5);
    assert.equal(fn('Reconciler').Properties.ReservedConcurrentExecutions, 2);
    assert.equal(fn('Api').Properties.ReservedConcurrentExecutions, 50, 'capped too');
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: Match.objectLike({
        ThrottlingRateLimit: 100,
        ThrottlingBurstLimit: 200,
      }),
      AccessLogSettings: Match.objectLike({
        DestinationArn: {
          'Fn::GetAtt': [logicalId('AWS::Logs::LogGroup', /HttpApiAccessLogs/), 'Arn'],
        },
      }),
    });
  });

  it('keeps the placement key in Secrets Manager, named only to the functions that place', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ PasswordLength: 64 }),
    });
    const secret = { Ref: logicalId('AWS::SecretsManager::Secret', /PlacementKey/) };
    const env = (name: string) =>
      resources('AWS::Lambda::Function')[functionId(name)]!.Properties.Environment.Variables;
    assert.deepEqual(env('Api').CUBE_PLACEMENT_KEY_SECRET, secret);
    assert.deepEqual(env('Scheduler').CUBE_PLACEMENT_KEY_SECRET, secret);
    assert.equal(env('Reconciler').CUBE_PLACEMENT_KEY_SECRET, undefined);
  });

  it('outputs the API URL, table names, region and worker policy', () => {
    for (const key of [
      'ApiUrl',
      'Region',
      'TasksTableName',
      'WorkersTableName',
      'EventsTableName',
      'TokensTableName',
      'ServicesTableName',
      'LogGroupName',
      'WorkerPolicyArn',
    ]) {
      template.hasOutput(key, {});
    }
  });

  it("keeps the containers' output in one log group, 30 days by default, retained", () => {
    const id = logicalId('AWS::Logs::LogGroup', /^ControlPlaneContainerLogs/);
    const group = resources('AWS::Logs::LogGroup')[id]!;
    assert.equal(group.Properties.LogGroupName, '/cube/cube/containers');
    assert.equal(group.Properties.RetentionInDays, 30);
    assert.equal(group.DeletionPolicy, 'Retain');
    // Every function and the workers are told its name.
    for (const name of ['Api', 'Scheduler', 'Reconciler']) {
      const fn = resources('AWS::Lambda::Function')[functionId(name)]!;
      assert.deepEqual(fn.Properties.Environment.Variables.CUBE_LOG_GROUP, { Ref: id }, name);
    }
  });
});

describe('IAM', () => {
  const documents = policyDocuments(template.toJSON());

  it('allows no wildcard action and no "*" resource anywhere', () => {
    assert.ok(documents.length >= 7, `found ${documents.length} policy documents`);
    for (const { where, statement } of documents.flatMap(allowStatements)) {
      for (const action of [statement.Action].flat()) {
        assert.ok(!String(action).includes('*'), `${where}: wildcard action ${action}`);
      }
      for (const resource of [statement.Resource ?? []].flat()) {
        assert.notEqual(resource, '*', `${where}: resource "*" for ${statement.Action}`);
        // A wildcard inside an ARN only where nothing narrower exists: the worker queues,
        // named at run time under the prefix. (A log group's Arn attribute ends in :* too.)
        const text = renderArn(resource);
        // And the secrets worker hosts may read for their tasks: under the `cube/` prefix.
        if (text.includes('*')) {
          assert.ok(
            [
              'arn:aws:sqs:<region>:<account>:cube-worker-*',
              'arn:aws:ssm:<region>:<account>:parameter/cube/*',
              'arn:aws:secretsmanager:<region>:<account>:secret:cube/*',
            ].includes(text),
            `${where}: ${text}`,
          );
        }
      }
    }
  });

  it('denies only; never allows, a wildcard in a resource policy', () => {
    const queuePolicies = documents.filter((d) => d.where.startsWith('AWS::SQS::QueuePolicy'));
    for (const { document } of queuePolicies) {
      for (const statement of document.Statement) assert.equal(statement.Effect, 'Deny');
    }
  });

  it('gives no Lambda role an AWS managed policy', () => {
    for (const role of Object.values(resources('AWS::IAM::Role'))) {
      assert.equal(role.Properties.ManagedPolicyArns, undefined);
    }
  });

  const grants = (where: RegExp) => {
    const out: Record<string, string[]> = {};
    for (const { statement } of documents
      .filter((d) => where.test(d.where))
      .flatMap(allowStatements)) {
      for (const resource of [statement.Resource].flat()) {
        const key = refName(resource);
        out[key] = [...(out[key] ?? []), ...[statement.Action ?? []].flat()].sort();
      }
    }
    return out;
  };
  const tasks = () => tableId('Tasks');
  const queueArn = () => logicalId('AWS::SQS::Queue', /^ControlPlaneSchedulingQueue/);
  const dlqArn = () => logicalId('AWS::SQS::Queue', /^ControlPlaneSchedulingDlq/);
  const workerQueues = 'sqs:<region>:<account>:cube-worker-*';
  const placementKey = () => logicalId('AWS::SecretsManager::Secret', /PlacementKey/);
  const containerLogs = () => logicalId('AWS::Logs::LogGroup', /^ControlPlaneContainerLogs/);

  it('gives the api function exactly what its routes call', () => {
    assert.deepEqual(grants(/ApiRoleDefaultPolicy/), {
      [logicalId('AWS::Logs::LogGroup', /ApiLogs/)]: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      [tableId('Tokens')]: [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
      ],
      [tasks()]: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
      [`${tasks()}/index/byState`]: ['dynamodb:Query'],
      [`${tasks()}/index/byWorker`]: ['dynamodb:Query'],
      [`${tasks()}/index/byIdPrefix`]: ['dynamodb:Query'],
      [`${tableId('Events')}/index/byTime`]: ['dynamodb:Query'],
      [tableId('Workers')]: [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
      ],
      [tableId('Events')]: ['dynamodb:PutItem', 'dynamodb:Query'],
      [tableId('Services')]: [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:Scan',
      ],
      [queueArn()]: ['sqs:SendMessage'],
      [workerQueues]: [
        'sqs:CreateQueue',
        'sqs:DeleteQueue',
        'sqs:SendMessage',
        'sqs:SetQueueAttributes',
      ],
      [placementKey()]: ['secretsmanager:GetSecretValue'],
      [containerLogs()]: ['logs:FilterLogEvents', 'logs:GetLogEvents'],
    });
  });

  it('gives the scheduler its placements and the queue consumption', () => {
    assert.deepEqual(grants(/SchedulerRoleDefaultPolicy/), {
      [logicalId('AWS::Logs::LogGroup', /SchedulerLogs/)]: [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ],
      [tasks()]: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
      [`${tasks()}/index/byState`]: ['dynamodb:Query'],
      [tableId('Workers')]: ['dynamodb:GetItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
      [tableId('Events')]: ['dynamodb:PutItem'],
      [tableId('Services')]: [
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
      ],
      [dlqArn()]: ['sqs:SendMessage'],
      [queueArn()]: [
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
      ],
      [workerQueues]: ['sqs:SendMessage'],
      [placementKey()]: ['secretsmanager:GetSecretValue'],
    });
  });

  it('gives the reconciler its sweeps', () => {
    assert.deepEqual(grants(/ReconcilerRoleDefaultPolicy/), {
      [logicalId('AWS::Logs::LogGroup', /ReconcilerLogs/)]: [
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ],
      [tasks()]: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
      [`${tasks()}/index/byState`]: ['dynamodb:Query'],
      [`${tasks()}/index/byRestart`]: ['dynamodb:Scan'],
      [tableId('Workers')]: [
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:Scan',
        'dynamodb:UpdateItem',
      ],
      [tableId('Events')]: ['dynamodb:PutItem'],
      [tableId('Services')]: [
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:Scan',
      ],
      [queueArn()]: ['sqs:SendMessage'],
      [workerQueues]: ['sqs:DeleteQueue', 'sqs:SendMessage'],
    });
  });

  it('gives workers their queues, their tasks, their heartbeat, and nothing else', () => {
    assert.deepEqual(grants(/^AWS::IAM::ManagedPolicy ControlPlaneWorkerPolicy/), {
      [tasks()]: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'],
      [`${tasks()}/index/byWorker`]: ['dynamodb:Query'],
      [`${tasks()}/index/byRestart`]: ['dynamodb:Scan'],
      [tableId('Workers')]: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      [tableId('Events')]: ['dynamodb:PutItem'],
      [queueArn()]: ['sqs:SendMessage'],
      [workerQueues]: ['sqs:DeleteMessage', 'sqs:ReceiveMessage', 'sqs:SendMessage'],
      [containerLogs()]: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      'arn:aws:ssm:<region>:<account>:parameter/cube/*': ['ssm:GetParameter'],
      'arn:aws:secretsmanager:<region>:<account>:secret:cube/*': ['secretsmanager:GetSecretValue'],
    });
  });

  it("lets workers write the containers' log group and the API read it, and no one else", () => {
    const touching = documents
      .flatMap(allowStatements)
      .filter(({ statement }) =>
        [statement.Resource ?? []].flat().some((r) => refName(r) === containerLogs()),
      );
    const who = touching.map(({ where, statement }) => ({
      where: where.split(' ')[1]!.replace(/[0-9A-F]{8}\..*$/, ''),
      actions: [statement.Action].flat().sort(),
    }));
    assert.deepEqual(
      who.sort((a, b) => a.where.localeCompare(b.where)),
      [
        {
          where: 'ControlPlaneApiRoleDefaultPolicy',
          actions: ['logs:FilterLogEvents', 'logs:GetLogEvents'],
        },
        {
          where: 'ControlPlaneWorkerPolicy',
          actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        },
      ],
    );
    // Every other logs permission is a function's own log group, for its own output.
    for (const { where, statement } of documents.flatMap(allowStatements)) {
      const actions = [statement.Action].flat().map(String);
      if (!actions.some((a) => a.startsWith('logs:'))) continue;
      for (const resource of [statement.Resource ?? []].flat()) {
        const name = refName(resource);
        if (name === containerLogs()) continue;
        assert.match(name, /^ControlPlane(Api|Scheduler|Reconciler)Logs/, where);
        assert.deepEqual(actions.sort(), ['logs:CreateLogStream', 'logs:PutLogEvents'], where);
      }
    }
  });
});
