// `cube run` flags -> the POST /v1/tasks body. Pure, so the parsing rules are unit-tested.
// Only the command-line syntax is checked here; the API validates the spec itself.
import { UsageError } from 'clipanion';
import { parseRestartPolicy, type TaskSpecInput } from '../core/taskSpec.js';
import type { NetworkMode, PortSpec } from '../core/types.js';
import { parseSize } from '../core/units.js';

export interface RunFlags {
  image: string;
  command?: string[];
  name?: string;
  cpu?: string;
  memory?: string;
  disk?: string;
  env?: string[];
  /** `NAME=ssm:/path` or `NAME=secretsmanager:NAME`: read by the worker at container start. */
  secret?: string[];
  label?: string[];
  port?: string[];
  network?: string;
  restart?: string;
  scheduler?: string;
  constraint?: string[];
  /** A health check command, run with `sh -c` inside the container. */
  healthCmd?: string;
  /** An HTTP health check: `PORT` or `PORT/path`. */
  healthHttp?: string;
  healthInterval?: string;
  healthTimeout?: string;
  healthRetries?: string;
  healthStartPeriod?: string;
  stopSignal?: string;
  stopTimeout?: string;
  stopAfterDisconnect?: string;
  maxReschedules?: string;
  /** False (`--no-logs`): the output is not shipped to the log group. */
  logs?: boolean;
}

const NETWORKS: readonly NetworkMode[] = ['bridge', 'host', 'none'];

export function buildTaskRequest(
  flags: RunFlags,
  localEnv: Record<string, string | undefined> = {},
): TaskSpecInput {
  const body: TaskSpecInput = { image: flags.image };
  if (flags.name !== undefined) body.name = flags.name;
  if (flags.command && flags.command.length > 0) body.command = [...flags.command];
  if (flags.env && flags.env.length > 0) body.env = parseEnv(flags.env, localEnv);
  if (flags.secret && flags.secret.length > 0) body.secrets = flags.secret.map(parseSecret);
  if (flags.label && flags.label.length > 0) body.labels = parseLabels(flags.label);
  if (flags.port && flags.port.length > 0) body.ports = flags.port.map(parsePort);
  if (flags.cpu !== undefined) body.cpu = parseCpu(flags.cpu);
  if (flags.memory !== undefined) body.memory = checkSize('--memory', flags.memory);
  if (flags.disk !== undefined) body.disk = checkSize('--disk', flags.disk);
  if (flags.network !== undefined) {
    if (!NETWORKS.includes(flags.network as NetworkMode)) {
      throw new UsageError(
        `--network must be one of ${NETWORKS.join(', ')} (got '${flags.network}')`,
      );
    }
    body.network = flags.network as NetworkMode;
  }
  if (flags.restart !== undefined) {
    if (!parseRestartPolicy(flags.restart)) {
      throw new UsageError(
        `--restart must be never, always, on-failure or on-failure:N (got '${flags.restart}')`,
      );
    }
    body.restart = flags.restart;
  }
  if (flags.scheduler !== undefined) body.scheduler = flags.scheduler;
  // Checked by the API (core/scheduler/constraints.ts), which names the bad one.
  if (flags.constraint && flags.constraint.length > 0) body.constraints = [...flags.constraint];
  const healthCheck = parseHealthCheck(flags);
  if (healthCheck) body.healthCheck = healthCheck;
  if (flags.stopSignal !== undefined) body.stopSignal = parseSignal(flags.stopSignal);
  if (flags.stopTimeout !== undefined) {
    body.stopTimeout = parseSeconds('--stop-timeout', flags.stopTimeout);
  }
  if (flags.stopAfterDisconnect !== undefined) {
    body.stopAfterDisconnect = parseSeconds('--stop-after-disconnect', flags.stopAfterDisconnect);
  }
  if (flags.maxReschedules !== undefined) {
    body.maxReschedules = parseCount('--max-reschedules', flags.maxReschedules, 0);
  }
  if (flags.logs === false) body.logs = false;
  return body;
}

type HealthCheckInput = NonNullable<TaskSpecInput['healthCheck']>;

/** The health check flags; the timing flags need --health-cmd or --health-http. */
export function parseHealthCheck(flags: RunFlags): HealthCheckInput | undefined {
  const timing = {
    '--health-interval': flags.healthInterval,
    '--health-timeout': flags.healthTimeout,
    '--health-retries': flags.healthRetries,
    '--health-start-period': flags.healthStartPeriod,
  };
  if (flags.healthCmd === undefined && flags.healthHttp === undefined) {
    const given = Object.entries(timing).find(([, value]) => value !== undefined);
    if (given) throw new UsageError(`${given[0]} needs --health-cmd or --health-http`);
    return undefined;
  }
  if (flags.healthCmd !== undefined && flags.healthHttp !== undefined) {
    throw new UsageError('give either --health-cmd or --health-http, not both');
  }
  const check: HealthCheckInput = {};
  if (flags.healthCmd !== undefined) {
    if (flags.healthCmd.trim() === '') throw new UsageError('--health-cmd must not be empty');
    check.command = ['sh', '-c', flags.healthCmd];
  }
  if (flags.healthHttp !== undefined) check.http = parseHealthHttp(flags.healthHttp);
  if (flags.healthInterval !== undefined) {
    check.interval = parseSeconds('--health-interval', flags.healthInterval);
  }
  if (flags.healthTimeout !== undefined) {
    check.timeout = parseSeconds('--health-timeout', flags.healthTimeout);
  }
  if (flags.healthRetries !== undefined) {
    check.retries = parseCount('--health-retries', flags.healthRetries, 1);
  }
  if (flags.healthStartPeriod !== undefined) {
    check.startPeriod = parseSeconds('--health-start-period', flags.healthStartPeriod);
  }
  return check;
}

/** `8080` or `8080/healthz` (a GET of that path on that port; 2xx is healthy). */
export function parseHealthHttp(text: string): { port: number; path: string } {
  const match = /^(\d{1,5})(\/\S*)?$/.exec(text.trim());
  const port = Number(match?.[1]);
  if (!match || port < 1 || port > 65535) {
    throw new UsageError(`--health-http '${text}' must look like 8080 or 8080/healthz`);
  }
  return { port, path: match[2] ?? '/' };
}

/** Seconds: `5`, `0.5`, `5s`, `500ms`, `2m`. */
export function parseSeconds(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m)?$/.exec(text.trim());
  if (!match) {
    throw new UsageError(`${flag} must be a duration like 5, 0.5s, 500ms or 2m (got '${text}')`);
  }
  const value = Number(match[1]);
  return match[2] === 'ms' ? value / 1000 : match[2] === 'm' ? value * 60 : value;
}

function parseCount(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min) {
    throw new UsageError(`${flag} must be a whole number of at least ${min} (got '${text}')`);
  }
  return value;
}

/** `TERM`, `sigint`, `SIGQUIT` -> `SIGTERM`, `SIGINT`, `SIGQUIT`. */
export function parseSignal(text: string): string {
  const upper = text.trim().toUpperCase();
  const signal = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  if (!/^SIG[A-Z0-9+-]{2,10}$/.test(signal)) {
    throw new UsageError(`--stop-signal must be a signal name like SIGTERM or INT (got '${text}')`);
  }
  return signal;
}

/** `K=V` sets K (V may hold '='); a bare `K` copies K from the local environment, as docker does. */
export function parseEnv(
  items: readonly string[],
  localEnv: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new UsageError(`--env '${item}' has no name; use --env NAME=value`);
    if (eq < 0) {
      const value = localEnv[item];
      if (value === undefined) {
        throw new UsageError(`--env ${item}: use NAME=value, or set ${item} in your environment`);
      }
      env[item] = value;
    } else {
      env[item.slice(0, eq)] = item.slice(eq + 1);
    }
  }
  return env;
}

/** `key=value` (the value may be empty). */
export function parseLabels(items: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label '${item}' must look like key=value`);
    labels[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return labels;
}

/** `80` (container port, published on the same host port), `8080:80` (host:container), `/udp`. */
export function parsePort(text: string): PortSpec {
  const match = /^(?:(\d{1,5}):)?(\d{1,5})(?:\/(tcp|udp))?$/i.exec(text.trim());
  const bad = () =>
    new UsageError(`--port '${text}' must look like 80, 8080:80 or 53/udp (ports 1-65535)`);
  if (!match) throw bad();
  const container = Number(match[2]);
  const host = match[1] === undefined ? undefined : Number(match[1]);
  const valid = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;
  if (!valid(container) || (host !== undefined && !valid(host))) throw bad();
  const protocol = (match[3]?.toLowerCase() ?? 'tcp') as 'tcp' | 'udp';
  return host === undefined ? { container, protocol } : { container, host, protocol };
}

export function parseCpu(text: string): number {
  const cores = Number(text);
  if (text.trim() === '' || !Number.isFinite(cores) || cores <= 0) {
    throw new UsageError(`--cpu must be a number of cores above 0, like 0.5 or 2 (got '${text}')`);
  }
  return cores;
}

function checkSize(flag: string, text: string): string {
  if (parseSize(text) === undefined) {
    throw new UsageError(`${flag} must be a size like 64m, 1g or 1048576 (got '${text}')`);
  }
  return text;
}

/** `--secret NAME=ssm:/path`: the variable and the reference (the API checks the reference). */
export function parseSecret(item: string): { name: string; from: string } {
  const eq = item.indexOf('=');
  if (eq <= 0 || eq === item.length - 1) {
    throw new UsageError(`--secret '${item}': use NAME=ssm:/path or NAME=secretsmanager:NAME`);
  }
  return { name: item.slice(0, eq), from: item.slice(eq + 1) };
}
