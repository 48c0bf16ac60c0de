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
  label?: string[];
  port?: string[];
  network?: string;
  restart?: string;
  scheduler?: string;
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
  return body;
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
