import {
  type ContainerPolicy,
  containerPolicyEnv,
  containerPolicyFromEnv,
} from '../core/containerPolicy.js';
import { formatDuration, parseDuration } from '../core/history/duration.js';
import { DEFAULT_RETAIN_FINISHED_MS } from '../core/history/retention.js';
import { logGroupName } from '../core/logs/logNames.js';
import { RESTART_DEFAULTS, type RestartSettings } from '../core/restartPolicy.js';

// Where the control plane's tables and queues live. The same environment variables are set
// by the CDK stack in AWS and by `cube up` locally, so no code knows which one it runs in.

/** The container policy (core/containerPolicy.ts): what tasks may be submitted at all. */
export interface ControlPlaneConfig extends ContainerPolicy {
  prefix: string;
  tasksTable: string;
  workersTable: string;
  eventsTable: string;
  tokensTable: string;
  /** Where workers ship container output (`CUBE_LOG_GROUP`, default `/cube/<prefix>/containers`). */
  logGroup: string;
  /** Days the log group keeps it (`CUBE_LOG_RETENTION_DAYS`, default 30; for `cube up`). */
  logRetentionDays: number;
  /** Services, their revisions and replica slots (`CUBE_SERVICES_TABLE`). */
  servicesTable: string;
  /** How often the service controller looks again at a service not yet converged. */
  servicePollMs: number;
  schedulingQueueName: string;
  /** Set in AWS by the stack; locally resolved from the queue name. */
  schedulingQueueUrl?: string;
  /** Where the scheduler puts messages it cannot parse; else `<scheduling queue>-dlq`. */
  schedulingDlqUrl?: string;
  workerQueuePrefix: string;
  defaultPolicy?: string;
  /** Scheduler plugin modules loaded at cold start (`CUBE_SCHEDULER_PLUGINS`, comma-separated). */
  schedulerPlugins: string[];
  heartbeatTtlMs: number;
  heartbeatIntervalMs: number;
  /** Heartbeat interval of a worker without tasks (it declares it; the TTL follows). */
  heartbeatIdleIntervalMs: number;
  /** A SCHEDULED task older than this with no worker progress gets its run message again. */
  scheduledResendMs: number;
  /** Restart limits and backoff, handed to workers at registration. */
  restart: RestartSettings;
  /**
   * The API places a new task itself when a worker in its snapshot fits (one write and one
   * run message instead of a trip through the scheduling queue); `CUBE_PLACE_ON_SUBMIT=0`
   * sends every task through the scheduler.
   */
  placeOnSubmit: boolean;
  /** How long the API trusts a verified token (`CUBE_TOKEN_CACHE_MS`; 0: check every call). */
  tokenCacheMs: number;
  /**
   * How long finished tasks, events, dead tokens and DOWN workers are kept
   * (`CUBE_RETAIN_FINISHED`, e.g. `7d`, `36h`; default 7 days).
   */
  retainFinishedMs: number;
}

export function controlPlaneConfig(env: NodeJS.ProcessEnv = process.env): ControlPlaneConfig {
  const prefix = env.CUBE_PREFIX ?? 'cube';
  const num = (name: string, fallback: number) => {
    const value = Number(env[name]);
    return Number.isFinite(value) && value > 0 ? value : fallback;
  };
  return {
    prefix,
    tasksTable: env.CUBE_TASKS_TABLE ?? `${prefix}-tasks`,
    workersTable: env.CUBE_WORKERS_TABLE ?? `${prefix}-workers`,
    eventsTable: env.CUBE_EVENTS_TABLE ?? `${prefix}-events`,
    tokensTable: env.CUBE_TOKENS_TABLE ?? `${prefix}-tokens`,
    logGroup: env.CUBE_LOG_GROUP || logGroupName(prefix),
    logRetentionDays: num('CUBE_LOG_RETENTION_DAYS', 30),
    servicesTable: env.CUBE_SERVICES_TABLE ?? `${prefix}-services`,
    servicePollMs: num('CUBE_SERVICE_POLL_MS', 2_000),
    schedulingQueueName: env.CUBE_SCHEDULING_QUEUE_NAME ?? `${prefix}-scheduling`,
    schedulingQueueUrl: env.CUBE_SCHEDULING_QUEUE_URL || undefined,
    schedulingDlqUrl: env.CUBE_SCHEDULING_DLQ_URL || undefined,
    ...containerPolicyFromEnv(env),
    workerQueuePrefix: env.CUBE_WORKER_QUEUE_PREFIX ?? `${prefix}-worker-`,
    defaultPolicy: env.CUBE_DEFAULT_POLICY || undefined,
    schedulerPlugins: (env.CUBE_SCHEDULER_PLUGINS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    heartbeatTtlMs: num('CUBE_HEARTBEAT_TTL_MS', 6_000),
    heartbeatIntervalMs: num('CUBE_HEARTBEAT_INTERVAL_MS', 2_000),
    heartbeatIdleIntervalMs: num('CUBE_HEARTBEAT_IDLE_INTERVAL_MS', 60_000),
    scheduledResendMs: num('CUBE_SCHEDULED_RESEND_MS', 20_000),
    restart: {
      maxRestarts: num('CUBE_RESTART_MAX', RESTART_DEFAULTS.maxRestarts),
      maxReschedules: num('CUBE_RESCHEDULE_MAX', RESTART_DEFAULTS.maxReschedules),
      initialDelayMs: num('CUBE_RESTART_DELAY_MS', RESTART_DEFAULTS.initialDelayMs),
      maxDelayMs: num('CUBE_RESTART_MAX_DELAY_MS', RESTART_DEFAULTS.maxDelayMs),
    },
    placeOnSubmit: env.CUBE_PLACE_ON_SUBMIT !== '0',
    tokenCacheMs: env.CUBE_TOKEN_CACHE_MS === '0' ? 0 : num('CUBE_TOKEN_CACHE_MS', 30_000),
    retainFinishedMs: retention(env.CUBE_RETAIN_FINISHED),
  };
}

function retention(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_RETAIN_FINISHED_MS;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) {
    throw new Error(`CUBE_RETAIN_FINISHED=${text}: use a duration such as 7d, 36h or 90m`);
  }
  return ms;
}

/** The environment a process needs to reach the same control plane (for child processes). */
export function controlPlaneEnv(config: ControlPlaneConfig): Record<string, string> {
  const env: Record<string, string> = {
    CUBE_PREFIX: config.prefix,
    CUBE_TASKS_TABLE: config.tasksTable,
    CUBE_WORKERS_TABLE: config.workersTable,
    CUBE_EVENTS_TABLE: config.eventsTable,
    CUBE_TOKENS_TABLE: config.tokensTable,
    CUBE_LOG_GROUP: config.logGroup,
    CUBE_LOG_RETENTION_DAYS: String(config.logRetentionDays),
    CUBE_SERVICES_TABLE: config.servicesTable,
    CUBE_SERVICE_POLL_MS: String(config.servicePollMs),
    CUBE_SCHEDULING_QUEUE_NAME: config.schedulingQueueName,
    CUBE_WORKER_QUEUE_PREFIX: config.workerQueuePrefix,
    CUBE_HEARTBEAT_TTL_MS: String(config.heartbeatTtlMs),
    CUBE_HEARTBEAT_INTERVAL_MS: String(config.heartbeatIntervalMs),
    CUBE_HEARTBEAT_IDLE_INTERVAL_MS: String(config.heartbeatIdleIntervalMs),
    CUBE_SCHEDULED_RESEND_MS: String(config.scheduledResendMs),
    CUBE_RESTART_MAX: String(config.restart.maxRestarts),
    CUBE_RESCHEDULE_MAX: String(config.restart.maxReschedules),
    CUBE_RESTART_DELAY_MS: String(config.restart.initialDelayMs),
    CUBE_RESTART_MAX_DELAY_MS: String(config.restart.maxDelayMs),
  };
  if (config.schedulingQueueUrl) env.CUBE_SCHEDULING_QUEUE_URL = config.schedulingQueueUrl;
  if (config.defaultPolicy) env.CUBE_DEFAULT_POLICY = config.defaultPolicy;
  if (config.schedulingDlqUrl) env.CUBE_SCHEDULING_DLQ_URL = config.schedulingDlqUrl;
  Object.assign(env, containerPolicyEnv(config));
  if (!config.placeOnSubmit) env.CUBE_PLACE_ON_SUBMIT = '0';
  env.CUBE_TOKEN_CACHE_MS = String(config.tokenCacheMs);
  env.CUBE_RETAIN_FINISHED = formatDuration(config.retainFinishedMs);
  if (config.schedulerPlugins.length > 0) {
    env.CUBE_SCHEDULER_PLUGINS = config.schedulerPlugins.join(',');
  }
  return env;
}
