// Where a task's container ports are reached. The worker records, with RUNNING, the host port
// behind each container port (what the engine actually bound: a `bridge` port with no `host`
// gets one the engine picks, so replicas share a worker); clients are given the healthy
// replicas' `address:hostPort`, the address being the one their worker advertised.
import { isIP } from 'node:net';
import type { TaskEndpoint, TaskRecord, TaskSpec, WorkerRecord } from './types.js';

/** One host binding as the engine reports it (Docker's NetworkSettings.Ports, flattened). */
export interface EngineBinding {
  container: number;
  protocol: 'tcp' | 'udp';
  hostIp?: string;
  hostPort: number;
}

/**
 * The endpoints to record for a task's container: with `host` networking the container ports
 * are the host's; with `bridge` the engine's bindings (the first IPv4 one of each port, or
 * its first); `none` publishes nothing. A port the engine did not bind is left out.
 */
export function taskEndpoints(
  spec: Pick<TaskSpec, 'ports' | 'network'>,
  bound: readonly EngineBinding[] = [],
): TaskEndpoint[] {
  if (spec.network === 'none') return [];
  const endpoints: TaskEndpoint[] = [];
  for (const port of spec.ports) {
    const { container, protocol } = port;
    if (spec.network === 'host') {
      endpoints.push({ container, protocol, hostPort: container });
      continue;
    }
    const mine = bound.filter((b) => b.container === container && b.protocol === protocol);
    const binding = mine.find((b) => !b.hostIp?.includes(':')) ?? mine[0];
    if (binding) endpoints.push({ container, protocol, hostPort: binding.hostPort });
  }
  return endpoints;
}

/** One reachable replica of a container port. */
export interface ReplicaEndpoint {
  /** `address:hostPort` (`[address]:hostPort` for IPv6). */
  address: string;
  taskId: string;
  workerId: string;
}

/** Every healthy replica of one container port. */
export interface PortEndpoints {
  container: number;
  protocol: 'tcp' | 'udp';
  endpoints: ReplicaEndpoint[];
}

/** RUNNING, and passing its health check if it has one. */
export function isServing(task: TaskRecord): boolean {
  if (task.state !== 'RUNNING') return false;
  return !task.spec.healthCheck || task.health?.status === 'healthy';
}

/** `host:port`, with IPv6 addresses in brackets. */
export function joinHostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * The endpoints of the given tasks (e.g. a service's replicas) per container port, from what
 * their workers' engines bound: only tasks that `healthy` accepts (default: isServing), on a
 * READY worker that advertised an address. Sorted by port, then address and host port.
 */
export function endpointsOf(
  tasks: readonly TaskRecord[],
  workers: readonly WorkerRecord[],
  healthy: (task: TaskRecord) => boolean = isServing,
): PortEndpoints[] {
  const byId = new Map(workers.map((w) => [w.id, w]));
  const ports = new Map<string, PortEndpoints & { found: Found[] }>();
  for (const task of tasks) {
    // Every declared port is listed, even with no replica serving it yet.
    for (const p of task.spec.network === 'none' ? [] : task.spec.ports) {
      const key = `${p.container}/${p.protocol}`;
      if (!ports.has(key)) {
        ports.set(key, { container: p.container, protocol: p.protocol, endpoints: [], found: [] });
      }
    }
    const worker = task.workerId ? byId.get(task.workerId) : undefined;
    if (!worker?.address || worker.state !== 'READY' || !healthy(task)) continue;
    for (const e of task.endpoints ?? []) {
      ports.get(`${e.container}/${e.protocol}`)?.found.push({
        host: worker.address,
        hostPort: e.hostPort,
        endpoint: {
          address: joinHostPort(worker.address, e.hostPort),
          taskId: task.id,
          workerId: worker.id,
        },
      });
    }
  }
  return [...ports.values()]
    .sort((a, b) => a.container - b.container || (a.protocol < b.protocol ? -1 : 1))
    .map(({ container, protocol, found }) => ({
      container,
      protocol,
      endpoints: found
        .sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.hostPort - b.hostPort))
        .map((f) => f.endpoint),
    }));
}

interface Found {
  host: string;
  hostPort: number;
  endpoint: ReplicaEndpoint;
}

export const HOSTNAME =
  /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Why `text` cannot be a worker's advertised address (an IP address or a DNS name), if so. */
export function advertiseAddressProblem(text: string): string | undefined {
  if (isIP(text) !== 0 || HOSTNAME.test(text)) return undefined;
  return `must be an IPv4 or IPv6 address or a host name, not '${text.slice(0, 64)}'`;
}
