// The control plane on AWS as one construct: the tables provision.ts creates locally, the
// scheduling queue with its dead-letter queue and alarm, the three functions, the HTTP API,
// the reconciler's schedule, and the managed policy a worker host needs.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { HttpApi, HttpMethod, LogGroupLogDestination } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { controlPlaneConfig } from '../aws/config.js';
import { SCHEDULING_MAX_RECEIVES, TTL_ATTRIBUTE, tableDefinitions } from '../aws/provision.js';
import {
  type Access,
  API_ACCESS,
  type IndexKey,
  RECONCILER_ACCESS,
  SCHEDULER_ACCESS,
  type TableKey,
  WORKER_ACCESS,
} from './access.js';

const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface CubeControlPlaneProps {
  /** Names the worker queues (`<prefix>-worker-*`) and worker ids. Default `cube`. */
  prefix?: string;
  /** What happens to the tables when the stack is deleted. Default RETAIN. */
  removalPolicy?: RemovalPolicy;
  /** Where the dead-letter alarm notifies, if anywhere. */
  alarmTopic?: sns.ITopic;
  /** Extra CUBE_* settings for every function (CUBE_DEFAULT_POLICY, heartbeat TTL...). */
  environment?: Record<string, string>;
  /**
   * The API's front door: an API Gateway HTTP API (default), or a Lambda function URL for
   * LocalStack's free image, which has no API Gateway v2. Both send payload format 2.0,
   * and the function checks bearer tokens itself either way.
   */
  frontDoor?: 'http-api' | 'function-url';
  /**
   * Concurrency reserved for the scheduler and the reconciler, so a flood of API calls (bogus
   * tokens included) cannot starve them of the account's concurrency, and for the API, which
   * also caps it: a flood that passes the stage's throttle (or reaches a function URL, which
   * has none) cannot take the rest of the account's concurrency or run up its bill. Default 5,
   * 2 and 50 (about 1,000 requests/s at the API's ~50 ms, ten times the stage's rate); `false`
   * reserves none (an account whose limit is still 10 cannot reserve any).
   */
  reservedConcurrency?: { scheduler: number; reconciler: number; api?: number } | false;
  /**
   * What tasks' secrets worker hosts may read (issue 20): SSM parameters under `/<prefix>` and
   * Secrets Manager secrets named `<prefix>...`. Default `cube/`; `false` grants none.
   */
  secretsPrefix?: string | false;
  /** The HTTP API stage's throttle (steady requests/s and burst). Default 100 and 200. */
  apiThrottle?: { rateLimit: number; burstLimit: number };
  /** Days the containers' log group keeps their output. Default 30. */
  logRetentionDays?: number;
  /**
   * Indexes left out of this deployment: DynamoDB adds one GSI per table update, so a stack
   * deployed before the history indexes is upgraded in steps (docs/RETENTION.md).
   */
  skipIndexes?: string[];
  /**
   * An existing secret to sign placements with (its complete ARN), instead of one the stack
   * generates: for a key managed elsewhere, and for emulators that cannot create secrets from
   * a template (moto).
   */
  placementKeySecretArn?: string;
}

export class CubeControlPlane extends Construct {
  readonly tables: Record<TableKey, dynamodb.Table>;
  readonly schedulingQueue: sqs.Queue;
  readonly schedulingDlq: sqs.Queue;
  readonly dlqAlarm: cloudwatch.Alarm;
  readonly api?: HttpApi;
  /** CUBE_API_URL: the HTTP API's endpoint or the function URL. */
  readonly apiUrl: string;
  readonly functions: Record<'api' | 'scheduler' | 'reconciler', NodejsFunction>;
  readonly workerPolicy: iam.ManagedPolicy;
  /** The placement signing key's secret: readable by the API and the scheduler only. */
  readonly placementKey: secretsmanager.ISecret;
  /** Where workers ship container output, one stream per task attempt. */
  readonly containerLogs: logs.LogGroup;
  readonly prefix: string;

  constructor(scope: Construct, id: string, props: CubeControlPlaneProps = {}) {
    super(scope, id);
    const prefix = props.prefix ?? 'cube';
    if (!/^[a-zA-Z0-9_-]{1,40}$/.test(prefix)) {
      throw new Error(`prefix ${JSON.stringify(prefix)}: use 1-40 letters, digits, - or _`);
    }
    this.prefix = prefix;
    const config = controlPlaneConfig({ CUBE_PREFIX: prefix });
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const skipIndexes = new Set(props.skipIndexes ?? []);

    // The same keys and indexes as `cube up` creates, read from the one definition.
    const definitions = tableDefinitions(config);
    const names: Record<TableKey, string> = {
      tasks: config.tasksTable,
      workers: config.workersTable,
      events: config.eventsTable,
      tokens: config.tokensTable,
      services: config.servicesTable,
    };
    const table = (key: TableKey) => {
      const definition = definitions.find((d) => d.TableName === names[key])!;
      return new dynamodb.Table(this, `${capitalise(key)}Table`, {
        ...tableShape(definition),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        // Finished tasks, events, dead tokens, DOWN workers (core/history/retention.ts).
        timeToLiveAttribute: TTL_ATTRIBUTE,
        removalPolicy,
      });
    };
    this.tables = {
      tasks: table('tasks'),
      workers: table('workers'),
      events: table('events'),
      tokens: table('tokens'),
      services: table('services'),
    };
    // An existing stack gains one new index per deployment (a DynamoDB rule): see
    // docs/RETENTION.md for upgrading a stack deployed before the history indexes.
    for (const key of Object.keys(names) as TableKey[]) {
      const definition = definitions.find((d) => d.TableName === names[key])!;
      for (const gsi of definition.GlobalSecondaryIndexes ?? []) {
        if (skipIndexes.has(gsi.IndexName!)) continue;
        this.tables[key].addGlobalSecondaryIndex(indexShape(gsi, definition));
      }
    }

    // Named as provision.ts names them (the code's fallback finds the DLQ as `<name>-dlq`).
    this.schedulingDlq = new sqs.Queue(this, 'SchedulingDlq', {
      queueName: `${config.schedulingQueueName}-dlq`,
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.schedulingQueue = new sqs.Queue(this, 'SchedulingQueue', {
      queueName: config.schedulingQueueName,
      // At least the scheduler's timeout, as Lambda requires of an event source queue.
      visibilityTimeout: Duration.seconds(30),
      receiveMessageWaitTime: Duration.seconds(20),
      deadLetterQueue: { queue: this.schedulingDlq, maxReceiveCount: SCHEDULING_MAX_RECEIVES },
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    // Anything here is a nudge that failed five times: a person should look.
    this.dlqAlarm = new cloudwatch.Alarm(this, 'SchedulingDlqAlarm', {
      alarmDescription: 'Cube scheduling nudges are being dead-lettered',
      metric: this.schedulingDlq.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    if (props.alarmTopic) {
      this.dlqAlarm.addAlarmAction(new cloudwatchActions.SnsAction(props.alarmTopic));
    }

    // Named as `cube up` names it; kept with the tables (RETAIN by default).
    this.containerLogs = new logs.LogGroup(this, 'ContainerLogs', {
      logGroupName: config.logGroup,
      retention: (props.logRetentionDays ?? 30) as logs.RetentionDays,
      removalPolicy,
    });

    const environment: Record<string, string> = {
      ...props.environment,
      CUBE_PREFIX: prefix,
      CUBE_TASKS_TABLE: this.tables.tasks.tableName,
      CUBE_WORKERS_TABLE: this.tables.workers.tableName,
      CUBE_EVENTS_TABLE: this.tables.events.tableName,
      CUBE_TOKENS_TABLE: this.tables.tokens.tableName,
      CUBE_SERVICES_TABLE: this.tables.services.tableName,
      CUBE_LOG_GROUP: this.containerLogs.logGroupName,
      CUBE_SCHEDULING_QUEUE_URL: this.schedulingQueue.queueUrl,
      CUBE_SCHEDULING_QUEUE_NAME: this.schedulingQueue.queueName,
      CUBE_SCHEDULING_DLQ_URL: this.schedulingDlq.queueUrl,
      CUBE_WORKER_QUEUE_PREFIX: config.workerQueuePrefix,
      NODE_OPTIONS: '--enable-source-maps',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const workerQueuesArn = Stack.of(this).formatArn({
      service: 'sqs',
      resource: `${config.workerQueuePrefix}*`,
    });
    const statements = (access: Access) =>
      accessStatements(access, this.tables, {
        schedulingQueue: this.schedulingQueue.queueArn,
        schedulingDlq: this.schedulingDlq.queueArn,
        workerQueues: workerQueuesArn,
        containerLogs: this.containerLogs.logGroupArn,
      });

    // The placement key (core/placementSignature.ts derives an Ed25519 key from this secret),
    // generated by Secrets Manager: never in a table, readable only by the functions that place.
    this.placementKey = props.placementKeySecretArn
      ? secretsmanager.Secret.fromSecretCompleteArn(
          this,
          'PlacementKey',
          props.placementKeySecretArn,
        )
      : new secretsmanager.Secret(this, 'PlacementKey', {
          description: 'Cube: the secret the control plane signs placements with',
          generateSecretString: { passwordLength: 64, excludePunctuation: true },
          removalPolicy,
        });
    const placing = {
      environment: { ...environment, CUBE_PLACEMENT_KEY_SECRET: this.placementKey.secretArn },
      statements: [
        new iam.PolicyStatement({
          actions: ['secretsmanager:GetSecretValue'],
          resources: [this.placementKey.secretArn],
        }),
      ],
    };
    const reserved =
      props.reservedConcurrency === false
        ? undefined
        : { api: 50, ...(props.reservedConcurrency ?? { scheduler: 5, reconciler: 2 }) };

    this.functions = {
      api: this.lambda('Api', 'functions/api/handler.ts', {
        environment: placing.environment,
        timeout: Duration.seconds(29),
        statements: [...statements(API_ACCESS), ...placing.statements],
        ...(reserved ? { reservedConcurrency: reserved.api } : {}),
      }),
      scheduler: this.lambda('Scheduler', 'functions/scheduler/handler.ts', {
        environment: placing.environment,
        timeout: Duration.seconds(20),
        statements: [...statements(SCHEDULER_ACCESS), ...placing.statements],
        ...(reserved ? { reservedConcurrency: reserved.scheduler } : {}),
      }),
      // EventBridge fires once a minute; one run sweeps several times within it.
      reconciler: this.lambda('Reconciler', 'functions/reconciler/handler.ts', {
        environment: {
          // A sweep every 2 s (a lost worker's tasks run elsewhere within 10 s); the sweeps
          // between task reads look at the workers only (functions/reconciler/handler.ts).
          CUBE_RECONCILER_SWEEPS: '25',
          CUBE_RECONCILER_SWEEP_INTERVAL_MS: '2000',
          ...environment,
        },
        timeout: Duration.seconds(90),
        statements: statements(RECONCILER_ACCESS),
        ...(reserved ? { reservedConcurrency: reserved.reconciler } : {}),
      }),
    };

    this.functions.scheduler.addEventSource(
      new SqsEventSource(this.schedulingQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    new events.Rule(this, 'ReconcilerSchedule', {
      description: 'Runs the Cube reconciler every minute',
      schedule: events.Schedule.rate(Duration.minutes(1)),
      targets: [new eventTargets.LambdaFunction(this.functions.reconciler, { retryAttempts: 0 })],
    });

    if (props.frontDoor === 'function-url') {
      const url = this.functions.api.addFunctionUrl({
        authType: lambda.FunctionUrlAuthType.NONE,
      });
      this.apiUrl = url.url;
    } else {
      const accessLogs = new logs.LogGroup(this, 'HttpApiAccessLogs', {
        retention: logs.RetentionDays.THREE_MONTHS,
        removalPolicy: RemovalPolicy.DESTROY,
      });
      this.api = new HttpApi(this, 'HttpApi', {
        description: 'Cube control plane API',
        createDefaultStage: false,
      });
      // Throttled at the stage, so a flood stops before it reaches (and pays for) the function;
      // every request logged (no bodies, no Authorization header: API Gateway logs neither).
      this.api.addStage('DefaultStage', {
        stageName: '$default',
        autoDeploy: true,
        throttle: props.apiThrottle ?? { rateLimit: 100, burstLimit: 200 },
        accessLogSettings: { destination: new LogGroupLogDestination(accessLogs) },
      });
      const integration = new HttpLambdaIntegration('ApiIntegration', this.functions.api);
      for (const path of ['/v1', '/v1/{proxy+}']) {
        this.api.addRoutes({ path, methods: [HttpMethod.ANY], integration });
      }
      this.apiUrl = this.api.apiEndpoint;
    }

    this.workerPolicy = new iam.ManagedPolicy(this, 'WorkerPolicy', {
      description:
        "What a Cube worker host may do: its queue, its tasks, its heartbeat, its containers' logs",
      statements: [...statements(WORKER_ACCESS), ...this.workerSecretStatements(props)],
    });
  }

  /** Read access to the secrets tasks name, under the configured prefix only. */
  private workerSecretStatements(props: CubeControlPlaneProps): iam.PolicyStatement[] {
    const prefix = props.secretsPrefix ?? 'cube/';
    if (prefix === false) return [];
    if (!/^[a-zA-Z0-9_.\-/]{1,200}$/.test(prefix)) {
      throw new Error(`secretsPrefix ${JSON.stringify(prefix)}: letters, digits, _ . - / only`);
    }
    const stack = Stack.of(this);
    const path = prefix.replace(/^\/+/, '');
    return [
      new iam.PolicyStatement({
        actions: ['ssm:GetParameter'],
        resources: [
          stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: `${path}*` }),
        ],
      }),
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            resourceName: `${path}*`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ],
      }),
    ];
  }

  private lambda(
    id: string,
    entry: string,
    options: {
      environment: Record<string, string>;
      timeout: Duration;
      statements: iam.PolicyStatement[];
      reservedConcurrency?: number;
    },
  ): NodejsFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // Our own role instead of AWSLambdaBasicExecutionRole, whose logs actions apply to "*".
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    role.addToPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    for (const statement of options.statements) role.addToPolicy(statement);
    return new NodejsFunction(this, id, {
      entry: join(PROJECT_ROOT, entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      // nodejs20.x is deprecated on Lambda (2026-04-30) and cannot be created after
      // 2027-02-01; the code runs on Node 20 locally and on 22 here.
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 512,
      timeout: options.timeout,
      environment: options.environment,
      ...(options.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: options.reservedConcurrency }
        : {}),
      role,
      logGroup,
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: true,
        // Bundle the pinned AWS SDK rather than take whichever one the runtime carries.
        externalModules: [],
        // Some bundled CommonJS code calls require() for Node built-ins.
        banner:
          "import { createRequire as __cubeCreateRequire } from 'node:module'; const require = __cubeCreateRequire(import.meta.url);",
        forceDockerBundling: false,
        logLevel: LogLevel.WARNING,
      },
    });
  }
}

/** IAM statements for an access table: one per resource, never a wildcard action. */
export function accessStatements(
  access: Access,
  tables: Record<TableKey, dynamodb.ITable>,
  queues: Record<'schedulingQueue' | 'schedulingDlq' | 'workerQueues' | 'containerLogs', string>,
): iam.PolicyStatement[] {
  const out: iam.PolicyStatement[] = [];
  const allow = (actions: string[], resource: string) => {
    if (actions.length > 0) {
      out.push(new iam.PolicyStatement({ actions: [...new Set(actions)], resources: [resource] }));
    }
  };
  for (const [key, actions] of Object.entries(access.tables) as [TableKey, string[]][]) {
    allow(actions, tables[key].tableArn);
  }
  for (const [key, actions] of Object.entries(access.indexes) as [IndexKey, string[]][]) {
    const [tableKey, index] = key.split('/') as [TableKey, string];
    allow(actions, `${tables[tableKey].tableArn}/index/${index}`);
  }
  allow(access.schedulingQueue, queues.schedulingQueue);
  allow(access.schedulingDlq, queues.schedulingDlq);
  allow(access.workerQueues, queues.workerQueues);
  allow(access.containerLogs, queues.containerLogs);
  return out;
}

type KeyAttribute = dynamodb.Attribute;

function attribute(definition: CreateTableCommandInput, name: string): KeyAttribute {
  const type = definition.AttributeDefinitions?.find(
    (a) => a.AttributeName === name,
  )?.AttributeType;
  const types = {
    S: dynamodb.AttributeType.STRING,
    N: dynamodb.AttributeType.NUMBER,
    B: dynamodb.AttributeType.BINARY,
  };
  if (!type) throw new Error(`${definition.TableName}: no attribute definition for ${name}`);
  return { name, type: types[type] };
}

function keys(
  definition: CreateTableCommandInput,
  schema: { AttributeName?: string; KeyType?: string }[] | undefined,
): { partitionKey: KeyAttribute; sortKey?: KeyAttribute } {
  const hash = schema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
  const range = schema?.find((k) => k.KeyType === 'RANGE')?.AttributeName;
  if (!hash) throw new Error(`${definition.TableName}: no partition key`);
  return {
    partitionKey: attribute(definition, hash),
    ...(range ? { sortKey: attribute(definition, range) } : {}),
  };
}

function tableShape(definition: CreateTableCommandInput) {
  return keys(definition, definition.KeySchema);
}

function indexShape(
  gsi: NonNullable<CreateTableCommandInput['GlobalSecondaryIndexes']>[number],
  definition: CreateTableCommandInput,
): dynamodb.GlobalSecondaryIndexProps {
  const projection = {
    ALL: dynamodb.ProjectionType.ALL,
    KEYS_ONLY: dynamodb.ProjectionType.KEYS_ONLY,
    INCLUDE: dynamodb.ProjectionType.INCLUDE,
  }[gsi.Projection?.ProjectionType ?? 'ALL'];
  return {
    indexName: gsi.IndexName!,
    ...keys(definition, gsi.KeySchema),
    projectionType: projection,
    ...(gsi.Projection?.NonKeyAttributes
      ? { nonKeyAttributes: gsi.Projection.NonKeyAttributes }
      : {}),
  };
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
