// Exactly which DynamoDB and SQS actions each part of Cube calls, read from the code that
// calls them (aws/*.ts through functions/ and worker/). One table here, turned into IAM
// statements by controlPlane.ts, so a new store call means one new line in one place.
//
// DynamoDB transactions (TaskStore.create/write, ServiceStore.put/createReplica) are
// authorised per item as PutItem, UpdateItem, DeleteItem and ConditionCheckItem; there is no
// TransactWriteItems IAM action.

export type TableKey = 'tasks' | 'workers' | 'events' | 'tokens' | 'services';
export type IndexKey =
  | 'tasks/byState'
  | 'tasks/byRestart'
  | 'tasks/byWorker'
  | 'tasks/byIdPrefix'
  | 'events/byTime';
export type DynamoAction =
  | 'dynamodb:GetItem'
  | 'dynamodb:PutItem'
  | 'dynamodb:UpdateItem'
  | 'dynamodb:DeleteItem'
  | 'dynamodb:ConditionCheckItem'
  | 'dynamodb:BatchGetItem'
  | 'dynamodb:BatchWriteItem'
  | 'dynamodb:Query'
  | 'dynamodb:Scan';
export type SqsAction =
  | 'sqs:CreateQueue'
  | 'sqs:GetQueueUrl'
  | 'sqs:SendMessage'
  | 'sqs:ReceiveMessage'
  | 'sqs:DeleteMessage'
  | 'sqs:DeleteQueue'
  | 'sqs:SetQueueAttributes';

export type LogsAction =
  | 'logs:CreateLogStream'
  | 'logs:PutLogEvents'
  | 'logs:GetLogEvents'
  | 'logs:FilterLogEvents';

export interface Access {
  tables: Partial<Record<TableKey, DynamoAction[]>>;
  indexes: Partial<Record<IndexKey, DynamoAction[]>>;
  /** The scheduling queue (its URL is passed in, so GetQueueUrl is never needed). */
  schedulingQueue: SqsAction[];
  /** Its dead-letter queue (URL passed in as CUBE_SCHEDULING_DLQ_URL). */
  schedulingDlq: SqsAction[];
  /** Every queue named `<prefix>-worker-*`. */
  workerQueues: SqsAction[];
  /** The containers' log group (`/cube/<prefix>/containers`): workers write, the API reads. */
  containerLogs: LogsAction[];
}

/** A transition: the task (conditional Put), the worker's allocation (Update), the event. */
const TRANSITION = {
  tasks: ['dynamodb:PutItem'],
  workers: ['dynamodb:UpdateItem'],
  events: ['dynamodb:PutItem'],
} as const;

/**
 * The service controller (aws/serviceStore.ts, functions/services): the service partition
 * read (Query) and written (record Put, a pruned revision's Delete, a replica's slot Put with
 * the record's ConditionCheck), a rollback's revision read (GetItem), a deleted service's items
 * removed (BatchWriteItem); its replicas read in one BatchGetItem and created (Put), stopped
 * (GetItem + transition); its events written.
 */
const SERVICE_CONTROLLER = {
  services: [
    'dynamodb:GetItem',
    'dynamodb:Query',
    'dynamodb:PutItem',
    'dynamodb:DeleteItem',
    'dynamodb:ConditionCheckItem',
    'dynamodb:BatchWriteItem',
  ],
  tasks: ['dynamodb:BatchGetItem', 'dynamodb:GetItem', 'dynamodb:PutItem'],
} as const;

export const API_ACCESS: Access = {
  tables: {
    // bearerAuth -> verify; /v1/tokens -> issue (put), list (scan), revoke (update)
    tokens: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Scan', 'dynamodb:UpdateItem'],
    // get/require, create + transition (stop, drain), prefix matches read whole; a service's
    // replicas (batch)
    tasks: ['dynamodb:GetItem', ...TRANSITION.tasks, 'dynamodb:BatchGetItem'],
    // stop/drain -> get, /v1/nodes and placement on submit -> list, /v1/workers -> register
    // (get + put), cordon/uncordon (update), reservations on submit and releases, node rm
    workers: [
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Scan',
      ...TRANSITION.workers,
      'dynamodb:DeleteItem',
    ],
    // create/transition events, worker events, GET /v1/tasks/{id} and ?task= timelines,
    // service events and their reads
    events: [...TRANSITION.events, 'dynamodb:Query'],
    // /v1/services: apply/scale/rollback/delete (record Put, pruned revision Delete), show
    // (Query: record and slots; revisions), list (Scan); replicas read in one BatchGetItem
    services: [
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:Scan',
      'dynamodb:PutItem',
      'dynamodb:DeleteItem',
    ],
  },
  indexes: {
    // GET /v1/tasks pages
    'tasks/byState': ['dynamodb:Query'],
    // drain's tasks on a worker; a service dry-run's spread counts read byState
    'tasks/byWorker': ['dynamodb:Query'],
    // ?prefix= lookups
    'tasks/byIdPrefix': ['dynamodb:Query'],
    // GET /v1/events
    'events/byTime': ['dynamodb:Query'],
  },
  // submit, drain -> applyDueRestart
  schedulingQueue: ['sqs:SendMessage'],
  schedulingDlq: [],
  // /v1/workers -> ensureWorkerQueue (SetQueueAttributes: a queue made earlier with other
  // attributes, e.g. unencrypted, is brought to the current ones; SSE-SQS needs no KMS grant);
  // submit (placed), stop, drain -> sendToWorker; node rm
  workerQueues: ['sqs:CreateQueue', 'sqs:SendMessage', 'sqs:DeleteQueue', 'sqs:SetQueueAttributes'],
  // GET /v1/tasks/{id}/logs (one stream), a service's replicas (several streams)
  containerLogs: ['logs:GetLogEvents', 'logs:FilterLogEvents'],
};

export const SCHEDULER_ACCESS: Access = {
  tables: {
    // placePendingTask: get, notePending (conditional Put), transition to SCHEDULED; the
    // service controller's nudges run here too
    tasks: ['dynamodb:GetItem', ...TRANSITION.tasks, ...SERVICE_CONTROLLER.tasks],
    // the batch's snapshot (list), a lost race's re-read (get), the reservation (update)
    workers: ['dynamodb:GetItem', 'dynamodb:Scan', ...TRANSITION.workers],
    events: [...TRANSITION.events],
    services: [...SERVICE_CONTROLLER.services],
  },
  // placed tasks (spread and task-group plugins read them)
  indexes: { 'tasks/byState': ['dynamodb:Query'] },
  // Receiving from the scheduling queue is granted by the SQS event source itself; the
  // service controller sends its replicas' schedule nudges and its own delayed wake-ups.
  schedulingQueue: ['sqs:SendMessage'],
  // a malformed nudge goes straight to the dead-letter queue (Queues.sendToDeadLetter)
  schedulingDlq: ['sqs:SendMessage'],
  workerQueues: ['sqs:SendMessage'],
  containerLogs: [],
};

export const RECONCILER_ACCESS: Access = {
  tables: {
    // due restarts re-read the task; every repair is a transition; services' replicas
    tasks: ['dynamodb:GetItem', ...TRANSITION.tasks, ...SERVICE_CONTROLLER.tasks],
    // list, markDown (update), re-read after a lost markDown race, restarts' workers.get,
    // removal of DOWN workers past the retention
    workers: ['dynamodb:GetItem', 'dynamodb:Scan', ...TRANSITION.workers, 'dynamodb:DeleteItem'],
    // transitions and worker down/removed events
    events: [...TRANSITION.events],
    // each sweep runs the service controller on every service (Scan lists them)
    services: [...SERVICE_CONTROLLER.services, 'dynamodb:Scan'],
  },
  indexes: {
    'tasks/byState': ['dynamodb:Query'],
    // TaskStore.dueRestarts scans the sparse restart index
    'tasks/byRestart': ['dynamodb:Scan'],
  },
  schedulingQueue: ['sqs:SendMessage'],
  schedulingDlq: [],
  // resends; DeleteQueue: the queue of a DOWN worker removed past the retention
  workerQueues: ['sqs:SendMessage', 'sqs:DeleteQueue'],
  containerLogs: [],
};

/**
 * A worker host registers over the HTTPS API (which creates its queue and record), then
 * talks to AWS directly: its queue, its tasks' transitions, its heartbeat.
 */
export const WORKER_ACCESS: Access = {
  tables: {
    // run/stop/exit handlers and local reconcile: get + transition; health (update)
    tasks: ['dynamodb:GetItem', ...TRANSITION.tasks, 'dynamodb:UpdateItem'],
    // heartbeat and capacity releases (update); in-place restarts read the worker (get)
    workers: ['dynamodb:GetItem', ...TRANSITION.workers],
    events: [...TRANSITION.events],
  },
  indexes: {
    // localReconcile lists its own tasks that should have containers
    'tasks/byWorker': ['dynamodb:Query'],
    // taskRestart picks up planned restarts after a worker restart
    'tasks/byRestart': ['dynamodb:Scan'],
  },
  // aws/restarts.ts: a restart that cannot happen in place is placed again
  schedulingQueue: ['sqs:SendMessage'],
  schedulingDlq: [],
  // queueLoop: long-poll and delete on its own queue (IAM cannot tell one worker's queue
  // from another's: the id is derived at registration, so the prefix is the narrowest)
  // and a malformed message goes to `<prefix>-worker-dlq` (under the same prefix)
  workerQueues: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:SendMessage'],
  // worker/logs/: a stream per task attempt, its batches; never reading them back
  containerLogs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
};
