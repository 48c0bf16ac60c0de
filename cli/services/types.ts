// What the /v1/services API answers, as the CLI reads it (the server's shapes, kept to the
// fields the commands show; `--json` prints the server's answer whole).
import type { ReplicaCounts, RolloutState } from '../../core/services/types.js';
import type { TaskSpec } from '../../core/types.js';

export type { ReplicaCounts, RolloutState };

export interface Rollout {
  state: RolloutState;
  revision: number;
  fromRevision?: number;
  startedAt: string;
  progressAt: string;
  reason: string;
}

export interface ServiceSummary {
  name: string;
  replicas: number;
  revision: number;
  specVersion: number;
  image: string;
  rollout: Pick<Rollout, 'state' | 'revision' | 'reason'>;
  counts: ReplicaCounts;
  updatedAt: string;
}

export interface ReplicaView {
  slot: number;
  taskId: string;
  revision: number;
  state: string;
  healthy: boolean;
  workerId?: string;
  health?: string;
  reason?: string;
}

export interface ServiceView {
  name: string;
  replicas: number;
  revision: number;
  latestRevision: number;
  stableRevision?: number;
  specVersion: number;
  update: Record<string, number | boolean>;
  task: TaskSpec;
  rollout: Rollout;
  counts: ReplicaCounts;
  deleting?: boolean;
  createdAt: string;
  updatedAt: string;
  replicaTasks: ReplicaView[];
  /** Replaced replicas still stopping (absent from servers before they were shown). */
  drainingTasks?: ReplicaView[];
}

export interface ServiceEvent {
  service: string;
  at: string;
  kind: string;
  revision: number;
  by: string;
  reason: string;
}

export interface FieldChange {
  field: string;
  from?: unknown;
  to?: unknown;
}

export interface ApplyResult {
  change: 'created' | 'revision' | 'scale' | 'update-policy' | 'unchanged';
  changes: FieldChange[];
  service: ServiceView;
}

export interface ApplyDryRun {
  dryRun: true;
  change: ApplyResult['change'];
  revision: number;
  currentRevision?: number;
  specVersion?: number;
  changes: FieldChange[];
  policy: string;
  placements: {
    replica: number;
    placed: boolean;
    workerId?: string;
    workerName?: string;
    reason: string;
  }[];
}

export interface RevisionInfo {
  revision: number;
  createdAt: string;
  current: boolean;
  stable: boolean;
  task: TaskSpec;
}

/** The healthy replicas of one container port: `address:hostPort` each. */
export interface PortEndpoints {
  container: number;
  protocol: string;
  endpoints: { address: string; taskId: string; workerId: string }[];
}
