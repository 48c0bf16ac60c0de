// The control plane on one machine, for `cube up` and the tests: the same handlers that run
// in AWS, served and driven in-process against whatever AWS endpoint the SDK is pointed at.
import type { Server } from 'node:http';
import { createAwsClients } from '../../aws/clients.js';
import { controlPlaneConfig, controlPlaneEnv } from '../../aws/config.js';
import { placementSigner } from '../../aws/placementKey.js';
import { DynamoDBClient, provisionControlPlane } from '../../aws/provision.js';
import { handler as apiHandler } from '../api/handler.js';
import { handler as reconcilerHandler } from '../reconciler/handler.js';
import { handler as schedulerHandler } from '../scheduler/handler.js';
import { getDeps } from '../shared/deps.js';
import { type HttpApiHandler, serveHttpApi } from './httpBridge.js';
import { lambdaContext } from './lambdaContext.js';
import { runSqsEventSource, type SqsHandler } from './sqsEventSource.js';

/** Scheduler batches in flight; reservations are conditional writes, so they cannot overcommit. */
const SCHEDULER_CONCURRENCY = 4;

export interface LocalControlPlaneOptions {
  port: number;
  /** How often the reconciler runs (EventBridge's floor in AWS is a minute). */
  reconcileIntervalMs?: number;
  /**
   * Where the placement key's secret lives (written 0600 on first use), so a restarted
   * control plane signs with the key its workers already hold. Absent: CUBE_PLACEMENT_KEY_*.
   */
  placementKeyFile?: string;
  log?: (line: string) => void;
}

export interface LocalControlPlane {
  apiUrl: string;
  adminToken: string;
  workerToken: string;
  /** The public key placements are signed with (`ed25519:...`), for workers to pin. */
  placementKey: string;
  /** Environment for child processes that must reach the same tables and queues. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startLocalControlPlane(
  options: LocalControlPlaneOptions,
): Promise<LocalControlPlane> {
  const log = options.log ?? (() => {});
  const clients = createAwsClients();
  const base = controlPlaneConfig();
  const region = process.env.AWS_REGION ?? 'us-east-1';
  const { schedulingQueueUrl } = await provisionControlPlane(
    new DynamoDBClient({ region }),
    clients.sqs,
    base,
  );
  process.env.CUBE_SCHEDULING_QUEUE_URL = schedulingQueueUrl;
  // Loaded now, once for the process: the handlers' getDeps().placementSigner() is this one.
  const signer = await placementSigner(
    options.placementKeyFile
      ? { ...process.env, CUBE_PLACEMENT_KEY_FILE: options.placementKeyFile }
      : process.env,
  );
  const deps = getDeps();
  const adminToken = await deps.tokens.create('cube-up-admin', 'admin');
  const workerToken = await deps.tokens.create('cube-up-workers', 'worker');

  const { server, url } = await serveHttpApi(apiHandler as unknown as HttpApiHandler, {
    port: options.port,
    log,
  });

  const abort = new AbortController();
  const scheduler = runSqsEventSource({
    queues: deps.queues,
    queueUrl: schedulingQueueUrl,
    handler: schedulerHandler as unknown as SqsHandler,
    functionName: 'cube-scheduler',
    concurrency: SCHEDULER_CONCURRENCY,
    signal: abort.signal,
    log,
  });

  const reconcileEvery = options.reconcileIntervalMs ?? 1_000;
  let reconciling = false;
  const timer = setInterval(() => {
    if (reconciling) return;
    reconciling = true;
    (reconcilerHandler as unknown as (e: unknown, c: unknown) => Promise<unknown>)(
      {},
      lambdaContext('cube-reconciler'),
    )
      .catch((error: unknown) => log(`reconciler: ${String(error)}`))
      .finally(() => {
        reconciling = false;
      });
  }, reconcileEvery);

  return {
    apiUrl: url,
    adminToken,
    workerToken,
    placementKey: signer.publicKey,
    env: { ...controlPlaneEnv({ ...base, schedulingQueueUrl }) },
    stop: async () => {
      clearInterval(timer);
      abort.abort();
      await closeServer(server);
      await scheduler;
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
