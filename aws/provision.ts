// Creates the control plane's tables, scheduling queue and log group when they are missing (for
// `cube up` and tests; in AWS the CDK stack owns them). Safe to run again and again.

import {
  type CloudWatchLogsClient,
  CreateLogGroupCommand,
  PutRetentionPolicyCommand,
  ResourceAlreadyExistsException,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DescribeTableCommand,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { TTL_ATTRIBUTE } from '../core/history/retention.js';
import type { ControlPlaneConfig } from './config.js';
import { EVENTS_BY_TIME_INDEX } from './eventStore.js';
import { logsClient } from './logsClient.js';
import { addMissingIndexes, enableTtl } from './provisionHistory.js';
import { QUEUE_ENCRYPTION } from './queues.js';
import {
  TASKS_BY_PREFIX_INDEX,
  TASKS_BY_RESTART_INDEX,
  TASKS_BY_STATE_INDEX,
  TASKS_BY_WORKER_INDEX,
} from './taskStore.js';

/** Every table's TTL attribute (epoch seconds; core/history/retention.ts). */
export { TTL_ATTRIBUTE };

/** Deliveries of one scheduling nudge before it is dead-lettered. */
export const SCHEDULING_MAX_RECEIVES = 5;

export function tableDefinitions(config: ControlPlaneConfig): CreateTableCommandInput[] {
  return [
    {
      TableName: config.tasksTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'state', AttributeType: 'S' },
        { AttributeName: 'createdAt', AttributeType: 'S' },
        { AttributeName: 'restartDue', AttributeType: 'S' },
        { AttributeName: 'workerId', AttributeType: 'S' },
        { AttributeName: 'idPrefix', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: TASKS_BY_STATE_INDEX,
          KeySchema: [
            { AttributeName: 'state', KeyType: 'HASH' },
            { AttributeName: 'createdAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          // Sparse: only tasks with a planned restart carry restartDue.
          IndexName: TASKS_BY_RESTART_INDEX,
          KeySchema: [{ AttributeName: 'restartDue', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        },
        {
          // A worker's own tasks by state (sparse: only placed tasks carry workerId).
          IndexName: TASKS_BY_WORKER_INDEX,
          KeySchema: [
            { AttributeName: 'workerId', KeyType: 'HASH' },
            { AttributeName: 'state', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
        {
          // Id-prefix lookups: the first characters of the id, then the id.
          IndexName: TASKS_BY_PREFIX_INDEX,
          KeySchema: [
            { AttributeName: 'idPrefix', KeyType: 'HASH' },
            { AttributeName: 'id', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [TTL_ATTRIBUTE] },
        },
      ],
    },
    {
      TableName: config.workersTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
    },
    {
      TableName: config.eventsTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'taskId', AttributeType: 'S' },
        { AttributeName: 'seq', AttributeType: 'N' },
        { AttributeName: 'bucket', AttributeType: 'S' },
        { AttributeName: 'at', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'taskId', KeyType: 'HASH' },
        { AttributeName: 'seq', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          // The cluster's timeline: one partition per hour, events in time order within it.
          IndexName: EVENTS_BY_TIME_INDEX,
          KeySchema: [
            { AttributeName: 'bucket', KeyType: 'HASH' },
            { AttributeName: 'at', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    },
    {
      // One partition per service: its record, revisions and replica slots (serviceStore.ts).
      TableName: config.servicesTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'service', AttributeType: 'S' },
        { AttributeName: 'key', AttributeType: 'S' },
      ],
      KeySchema: [
        { AttributeName: 'service', KeyType: 'HASH' },
        { AttributeName: 'key', KeyType: 'RANGE' },
      ],
    },
    {
      TableName: config.tokensTable,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'hash', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'hash', KeyType: 'HASH' }],
    },
  ];
}

export async function provisionControlPlane(
  ddb: DynamoDBClient,
  sqs: SQSClient,
  config: ControlPlaneConfig,
  logs: CloudWatchLogsClient = logsClient(),
): Promise<{ schedulingQueueUrl: string; schedulingDlqUrl: string }> {
  await provisionLogGroup(logs, config);
  for (const definition of tableDefinitions(config)) {
    let existed = false;
    try {
      await ddb.send(new CreateTableCommand(definition));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
      existed = true;
    }
    await waitActive(ddb, definition.TableName!);
    // A table made by an older Cube lacks the newer indexes: add them (one per update).
    if (existed)
      await addMissingIndexes(ddb, definition, () => waitActive(ddb, definition.TableName!));
    await enableTtl(ddb, definition.TableName!, TTL_ATTRIBUTE);
  }
  // A nudge that keeps failing (a malformed body, say) ends in the dead-letter queue.
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: `${config.schedulingQueueName}-dlq`,
      Attributes: { MessageRetentionPeriod: '1209600', ...QUEUE_ENCRYPTION },
    }),
  );
  const dlqAttributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl!, AttributeNames: ['QueueArn'] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: config.schedulingQueueName,
      Attributes: {
        VisibilityTimeout: '30',
        ReceiveMessageWaitTimeSeconds: '20',
        ...QUEUE_ENCRYPTION,
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlqAttributes.Attributes!.QueueArn,
          maxReceiveCount: SCHEDULING_MAX_RECEIVES,
        }),
      },
    }),
  );
  return { schedulingQueueUrl: queue.QueueUrl!, schedulingDlqUrl: dlq.QueueUrl! };
}

/** The log group workers ship container output to, with its retention (idempotent). */
export async function provisionLogGroup(
  logs: CloudWatchLogsClient,
  config: Pick<ControlPlaneConfig, 'logGroup' | 'logRetentionDays'>,
): Promise<void> {
  try {
    await logs.send(new CreateLogGroupCommand({ logGroupName: config.logGroup }));
  } catch (error) {
    if (!(error instanceof ResourceAlreadyExistsException)) throw error;
  }
  await logs.send(
    new PutRetentionPolicyCommand({
      logGroupName: config.logGroup,
      retentionInDays: config.logRetentionDays,
    }),
  );
}

async function waitActive(ddb: DynamoDBClient, table: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    const out = await ddb.send(new DescribeTableCommand({ TableName: table }));
    const indexesReady = (out.Table?.GlobalSecondaryIndexes ?? []).every(
      (gsi) => gsi.IndexStatus === undefined || gsi.IndexStatus === 'ACTIVE',
    );
    if (out.Table?.TableStatus === 'ACTIVE' && indexesReady) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

export { DynamoDBClient };
