// How quickly the emulator's SQS answers a waiting long poll once a message is sent: every
// hop of a task (scheduler, worker) is one. moto wakes waiting receives with a condition
// variable on send (no internal polling sleep), so this should be about one request's time;
// measured so that an emulator artifact would show up as such and not as Cube's latency.
import { CreateQueueCommand, DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { createAwsClients } from '../../aws/clients.js';
import { Queues } from '../../aws/queues.js';
import { uniquePrefix } from '../support/aws.js';
import { percentile, round } from './stats.js';

export async function sqsWakeUp(samples: number) {
  const { sqs } = createAwsClients();
  const queues = new Queues(sqs, { schedulingQueueName: 'unused', workerQueuePrefix: 'unused' });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: uniquePrefix('wake') }));
  const url = QueueUrl!;
  const send: number[] = [];
  const wake: number[] = [];
  try {
    for (let i = 0; i < samples; i++) {
      let sentAt = 0;
      const received = queues.receive(url, { waitSeconds: 5 }).then(async (messages) => {
        const ms = performance.now() - sentAt;
        for (const m of messages) await queues.delete(url, m.ReceiptHandle!);
        return ms;
      });
      await new Promise((r) => setTimeout(r, 50)); // the receive is waiting by now
      sentAt = performance.now();
      await queues.sendToWorker(url, { kind: 'run', taskId: 'probe', attempt: 1 });
      send.push(performance.now() - sentAt);
      wake.push(await received);
    }
  } finally {
    await sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  }
  return {
    samples,
    sendP50: round(percentile(send, 50)),
    wakeP50: round(percentile(wake, 50)),
    wakeMax: round(Math.max(...wake)),
  };
}
