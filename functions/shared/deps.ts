// The stores and queues a handler works with, built once per process (per Lambda container).
import { Backfill } from '../../aws/backfill.js';
import { awsClients } from '../../aws/clients.js';
import { type ControlPlaneConfig, controlPlaneConfig } from '../../aws/config.js';
import { EventStore } from '../../aws/eventStore.js';
import { placementSigner } from '../../aws/placementKey.js';
import { Queues } from '../../aws/queues.js';
import { ServiceStore } from '../../aws/serviceStore.js';
import { TaskStore } from '../../aws/taskStore.js';
import { TokenStore } from '../../aws/tokenStore.js';
import { WorkerStore } from '../../aws/workerStore.js';
import type { PlacementSigner } from '../../core/placementSignature.js';
import { TokenCache } from './tokenCache.js';

export interface Deps {
  config: ControlPlaneConfig;
  tasks: TaskStore;
  workers: WorkerStore;
  tokens: TokenStore;
  queues: Queues;
  services: ServiceStore;
  /** Signs placements; loaded once per process (aws/placementKey.ts). */
  placementSigner: () => Promise<PlacementSigner>;
  /** The cluster's timeline: events that are not task transitions are written here. */
  events: EventStore;
  /** Old-shape items given what the history indexes and TTL need (the reconciler's steps). */
  backfill?: Backfill;
}

let deps: Deps | undefined;

export function getDeps(): Deps {
  if (!deps) {
    const config = controlPlaneConfig();
    const { ddb, sqs } = awsClients();
    deps = {
      config,
      tasks: new TaskStore(ddb, config),
      workers: new WorkerStore(ddb, config),
      tokens: new TokenStore(ddb, config),
      queues: new Queues(sqs, config),
      services: new ServiceStore(ddb, config),
      placementSigner: () => placementSigner(),
      events: new EventStore(ddb, config),
      backfill: new Backfill(ddb, config),
    };
  }
  return deps;
}

/** Tokens verified by this process's API, kept for `tokenCacheMs` (see tokenCache.ts). */
export const apiTokens = new TokenCache(
  () => getDeps().tokens,
  () => getDeps().config.tokenCacheMs,
);
