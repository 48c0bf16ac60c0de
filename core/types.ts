// Domain types shared by every part of Cube. Types only: logic lives in its own module.

export const TASK_STATES = [
  'PENDING',
  'SCHEDULED',
  'STARTING',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'STOPPING',
  'STOPPED',
  'LOST',
] as const;
export type TaskState = (typeof TASK_STATES)[number];

/** Integer units so that sums of allocations never drift (cpu in thousandths of a core). */
export interface Resources {
  cpuMillis: number;
  memoryBytes: number;
  diskBytes: number;
}

/** What a worker has handed out: resources plus the number of tasks holding them. */
export interface Allocation extends Resources {
  tasks: number;
}

export type NetworkMode = 'bridge' | 'host' | 'none';

export interface PortSpec {
  container: number;
  /** Host port to bind; with network `host` the container port itself is the host port. */
  host?: number;
  protocol: 'tcp' | 'udp';
}

export interface RestartPolicy {
  mode: 'never' | 'on-failure' | 'always';
  /** In-place restart limit (`on-failure:N`); absent means the control plane's default. */
  maxRestarts?: number;
  /** Reschedules onto another worker; absent means the control plane's default. */
  maxReschedules?: number;
}

/** Probe of a running task: HTTP GET (2xx is healthy) or a command exec'd inside (exit 0). */
export interface HealthCheckSpec {
  /** Probes the task's own container: its address, or loopback with host networking. */
  http?: { port: number; path: string };
  command?: string[];
  intervalSeconds: number;
  timeoutSeconds: number;
  /** Consecutive failures that make the task unhealthy. */
  retries: number;
  /** Failures during this time after start do not count. */
  startPeriodSeconds: number;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface TaskHealth {
  status: HealthStatus;
  failingStreak: number;
  checkedAt?: string;
  /** The last probe's output or error, trimmed. */
  output?: string;
}

/**
 * Where one container port of a running task is reached on its worker's address: what the
 * engine bound (a `bridge` port with no `host` gets a port the engine picks), or with `host`
 * networking the container port itself. Recorded with RUNNING (core/endpoints.ts).
 */
export interface TaskEndpoint {
  container: number;
  protocol: 'tcp' | 'udp';
  hostPort: number;
}

/** A restart decided when the task failed, carried out when due (by its worker or the reconciler). */
export interface PlannedRestart {
  /** `in-place` restarts on the same worker; `reschedule` places the task afresh. */
  kind: 'in-place' | 'reschedule';
  at: string;
}

/**
 * A filesystem mounted into a task's container. `bind` mounts a host path (a host mount,
 * refused unless the control plane allows host mounts), `volume` a named Docker volume,
 * `tmpfs` an empty in-memory directory.
 */
export interface MountSpec {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Host path (bind) or volume name (volume); absent for tmpfs. */
  source?: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly: boolean;
}

/** One secret of a task: the variable it becomes and where its value is read from. */
export interface SecretSpec {
  name: string;
  /** `ssm:/path`, `secretsmanager:NAME`, or an SSM parameter / Secrets Manager secret ARN. */
  from: string;
}

/** A task spec after validation and normalisation (sizes in bytes, cpu in millicores). */
export interface TaskSpec {
  name: string;
  image: string;
  command: string[];
  env: Record<string, string>;
  resources: Resources;
  ports: PortSpec[];
  restart: RestartPolicy;
  labels: Record<string, string>;
  /** Scheduling policy name; absent means the control plane's default. */
  scheduler?: string;
  /** Placement constraints on worker labels, e.g. `zone in (a,b)` (core/scheduler/constraints.ts). */
  constraints?: string[];
  network: NetworkMode;
  healthCheck?: HealthCheckSpec;
  /** Signal sent first on stop; SIGKILL follows after stopTimeoutSeconds. */
  stopSignal: string;
  stopTimeoutSeconds: number;
  /**
   * Fencing: the worker stops the task once it has not reached the control plane this long,
   * so after the bound at most one copy runs. Absent: the task runs at least once (a cut-off
   * worker keeps it running while it is placed elsewhere).
   */
  stopAfterDisconnectSeconds?: number;
  /** Container user, `name|uid[:group|gid]`; absent means the image's own. */
  user?: string;
  /** Mount the container's root filesystem read-only. */
  readOnlyRootfs?: boolean;
  /** Linux capabilities to drop, upper case without CAP_ (e.g. NET_RAW), or ALL. */
  capDrop?: string[];
  /**
   * Capabilities to add. NET_RAW is dropped unless listed here; beyond Docker's default set a
   * capability needs the control plane's and the host's allowance (CUBE_ALLOW_CAPABILITIES).
   */
  capAdd?: string[];
  /** Most processes the container may hold (Docker's PidsLimit); default 1024. */
  pidsLimit?: number;
  /**
   * Environment variables whose values the worker reads from a secret store at container start
   * (core/secretRefs.ts); the record holds the references, never the values.
   */
  secrets?: SecretSpec[];
  /** Privileged mode; refused unless the control plane allows it (CUBE_ALLOW_PRIVILEGED). */
  privileged?: boolean;
  mounts?: MountSpec[];
  /** False: the container's output is not shipped to CloudWatch Logs (default: shipped). */
  logs?: boolean;
}

/** Why a placement failed, counted per reason at the time (Nomad-style). */
export interface PlacementExplanation {
  at: string;
  policy: string;
  workersEvaluated: number;
  workersFeasible: number;
  /** reason text -> number of workers rejected for it, e.g. { 'insufficient memory': 2 } */
  rejected: Record<string, number>;
  /** Best candidates, best first. */
  topScores: { workerId: string; workerName: string; score: number }[];
  chosenWorkerId?: string;
}

/** Signed by the control plane when it places a task; a worker runs nothing without it. */
export interface PlacementSignature {
  /** The attempt placed; in-place restarts on the same worker keep the signature. */
  attempt: number;
  /** Ed25519 signature (base64) of core/placementSignature.ts's payload. */
  value: string;
}

export interface TaskRecord {
  id: string;
  spec: TaskSpec;
  state: TaskState;
  /** Optimistic-concurrency version, +1 on every write. */
  version: number;
  /** Starts at 1; a restart or a reschedule makes a new attempt. */
  attempt: number;
  /** In-place restarts since the task was last placed. */
  restartCount: number;
  /** Times the task was placed again after failing or losing its worker. */
  rescheduleCount?: number;
  /** Set on a FAILED/COMPLETED/LOST task whose policy restarts it. */
  restart?: PlannedRestart;
  /** Sparse index key: present only while `restart` is (see TASKS_BY_RESTART_INDEX). */
  restartDue?: string;
  health?: TaskHealth;
  /** Host ports of the running attempt's container ports; cleared when it ends. */
  endpoints?: TaskEndpoint[];
  /** Workers this task failed or was lost on, most recent last (placement avoids them). */
  previousWorkerIds?: string[];
  workerId?: string;
  containerId?: string;
  exitCode?: number;
  /** Why the task is in its state: a pending placement reason, a failure, a stop. */
  reason?: string;
  placement?: PlacementExplanation;
  /** A service's replica: its service, the revision of the service's task spec, its slot. */
  service?: string;
  serviceRevision?: number;
  serviceSlot?: number;
  /** The service's minHealthyTime: its worker nudges the controller once it has passed. */
  serviceHealthyAfterMs?: number;
  /** The control plane's signature of this placement (core/placementSignature.ts). */
  signature?: PlacementSignature;
  createdAt: string;
  updatedAt: string;
  scheduledAt?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Epoch seconds after which the finished task may be deleted (CUBE_RETAIN_FINISHED). */
  purgeAt?: number;
}

/** One line of a task's timeline. */
export interface TaskEvent {
  taskId: string;
  at: string;
  version: number;
  from?: TaskState;
  to: TaskState;
  /** Who made the change: 'api', 'scheduler', 'reconciler', 'worker:<id>'. */
  by: string;
  reason?: string;
  attempt: number;
  workerId?: string;
}

export type WorkerState = 'READY' | 'DOWN';

export interface WorkerMetrics {
  at: string;
  cpuCores: number;
  /** Share of all cores busy, 0..1. */
  cpuUsage: number;
  load1: number;
  memTotalBytes: number;
  memAvailableBytes: number;
  diskTotalBytes: number;
  diskFreeBytes: number;
  runningTasks: number;
}

/** The worker's container engine as its last heartbeat found it (a ping with a timeout). */
export interface EngineHealth {
  answering: boolean;
  /** Why it did not answer (a timeout, a refused connection). */
  error?: string;
}

/** The daemon instance that holds a worker's name (core/workerInstance.ts). */
export interface WorkerInstance {
  hostname: string;
  pid: number;
  registeredAt: string;
}

export interface WorkerRecord {
  id: string;
  name: string;
  labels: Record<string, string>;
  state: WorkerState;
  cordoned: boolean;
  capacity: Resources;
  allocated: Allocation;
  /** Host ports its placed tasks hold, as `tcp/8080`; reserved with the allocation. */
  usedPorts?: string[];
  queueUrl: string;
  /** Where this worker's published ports are reached (`cube worker --advertise-addr`). */
  address?: string;
  registeredAt: string;
  heartbeatAt: string;
  /** Declared with each heartbeat: an idle worker beats rarely, a busy one often. */
  heartbeatIntervalMs?: number;
  /**
   * Declared with each heartbeat: when the worker last found its queue empty (the start of a
   * receive that brought fewer messages than asked). Messages sent before it have reached it.
   */
  queueCaughtUpAt?: string;
  metrics?: WorkerMetrics;
  /** Declared with each heartbeat; absent from older workers (then taken as answering). */
  engine?: EngineHealth;
  /** The daemon instance registered under this name (absent for older daemons). */
  instance?: WorkerInstance;
  version?: string;
  /** When the reconciler marked it DOWN; it is removed with its queue after the retention. */
  downAt?: string;
  /** Epoch seconds: DynamoDB's TTL backstop for a DOWN worker the reconciler did not remove. */
  purgeAt?: number;
}

export type TokenScope = 'admin' | 'submit' | 'read' | 'worker';
