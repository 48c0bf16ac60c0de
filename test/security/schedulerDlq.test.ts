// Malformed, oversized and wrongly-typed messages on the scheduling queue of a live `cube up`
// end in its dead-letter queue at once (not after five 30 s receives), the scheduler keeps
// running, and the good message sent after them is still acted on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../aws/clients.js';
import type { TaskRecord } from '../../core/types.js';
import { ensureEmulator, stopEmulator } from '../support/aws.js';
import { eventually, startTestCluster, type TestCluster } from '../support/cli.js';
import { call } from './support.js';

let cluster: TestCluster;
let sqs: SQSClient;

const queueUrl = async (name: string) =>
  (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;

const BAD_MESSAGES = [
  'not json at all',
  '{"kind":"schedule","taskId":"t1"',
  'null',
  '[]',
  '"schedule"',
  '{}',
  '{"kind":"schedule"}',
  '{"kind":"schedule","taskId":123,"attempt":"1"}',
  '{"kind":"schedule","taskId":"t1","attempt":0}',
  '{"kind":"schedule","taskId":"t1","attempt":1.5}',
  '{"kind":"run","taskId":"t1","attempt":1}',
  '{"kind":"schedule","taskId":"t1","attempt":1,"extra":true}',
  `{"kind":"schedule","taskId":"${'x'.repeat(200_000)}","attempt":1}`,
  `{"kind":"schedule","taskId":"t1","attempt":1,"pad":"${'é'.repeat(60_000)}"}`,
  '{"kind":"schedule","taskId":"💥\\u0000","attempt":1e309}',
];

describe('malformed scheduling messages go to the DLQ', { timeout: 120_000 }, () => {
  before(async () => {
    await ensureEmulator();
    cluster = await startTestCluster('dlq', ['--workers', '0']);
    sqs = createAwsClients().sqs;
  });

  after(async () => {
    await cluster?.stop();
    await stopEmulator();
  });

  test('each bad message is dead-lettered and the next good one is placed', async () => {
    const scheduling = await queueUrl(`${cluster.prefix}-scheduling`);
    const dlq = await queueUrl(`${cluster.prefix}-scheduling-dlq`);
    for (const body of BAD_MESSAGES) {
      await sqs.send(new SendMessageCommand({ QueueUrl: scheduling, MessageBody: body }));
    }

    // A worker that can take the task (registered over the API, no process behind it), then
    // a task: the API's own nudge is the good message that follows the bad ones.
    const worker = await call(cluster.apiUrl, 'POST', '/v1/workers', {
      token: cluster.token,
      body: {
        name: 'dlq-worker',
        capacity: { cpuMillis: 4000, memoryBytes: 8 * 1024 ** 3, diskBytes: 0 },
      },
    });
    assert.equal(worker.status, 201, worker.text);
    const submitted = await call(cluster.apiUrl, 'POST', '/v1/tasks', {
      token: cluster.token,
      body: { image: 'busybox', network: 'none' },
    });
    assert.equal(submitted.status, 201, submitted.text);
    const taskId = (submitted.json as { task: TaskRecord }).task.id;

    const dead: Message[] = [];
    await eventually(
      `${BAD_MESSAGES.length} messages in the DLQ`,
      async () => {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: dlq,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageAttributeNames: ['All'],
          }),
        );
        dead.push(...(out.Messages ?? []));
        return dead.length >= BAD_MESSAGES.length ? true : undefined;
      },
      30_000,
      100,
    );
    assert.deepEqual(dead.map((m) => m.Body).sort(), [...BAD_MESSAGES].sort());
    const small = dead.find((m) => m.Body === '{}');
    assert.match(
      small?.MessageAttributes?.['cube-dead-letter-reason']?.StringValue ?? '',
      /malformed message/,
    );

    const placed = await eventually(
      `task ${taskId} to be placed`,
      async () => {
        const answer = await call(cluster.apiUrl, 'GET', `/v1/tasks/${taskId}`, {
          token: cluster.token,
        });
        const task = (answer.json as { task: TaskRecord }).task;
        return task.state === 'SCHEDULED' ? task : undefined;
      },
      20_000,
    );
    assert.equal(placed.workerId, (worker.json as { worker: { id: string } }).worker.id);
    assert.match(cluster.logs(), /dead-lettered: malformed message/);
    assert.doesNotMatch(cluster.logs(), /unhandled|Uncaught/i);
  });
});
