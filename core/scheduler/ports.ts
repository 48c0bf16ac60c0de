// Host ports: a task that binds a host port needs it free on its worker. The worker's
// record lists the ports its placed tasks hold (`usedPorts`, e.g. `tcp/8080`); the store
// adds and removes them in the same transaction as the cpu/memory reservation.
import type { TaskSpec, WorkerRecord } from '../types.js';
import type { FilterPlugin } from './types.js';

// Memo per spec array: the hot loop asks for the same task's ports once per worker.
const portsBySpec = new WeakMap<readonly unknown[], { network: string; keys: string[] }>();
// Reason strings, made once per port: rejections are counted by them in a Map.
const reasons = new Map<string, string>();

function reasonFor(port: string): string {
  let reason = reasons.get(port);
  if (reason === undefined) {
    reason = `host port ${port} in use`;
    if (reasons.size < 10_000) reasons.set(port, reason);
  }
  return reason;
}

/**
 * The host ports a task binds, as `protocol/port`. With `host` networking the container
 * port is the host port; with `bridge` only an explicit host port binds one (an absent one
 * is an ephemeral port Docker picks); `none` binds nothing.
 */
export function hostPortsOf(task: Pick<TaskSpec, 'ports' | 'network'>): string[] {
  const ports = task.ports;
  if (ports.length === 0 || task.network === 'none') return [];
  const memo = portsBySpec.get(ports);
  if (memo !== undefined && memo.network === task.network) return memo.keys;
  const keys: string[] = [];
  for (const p of ports) {
    const host = task.network === 'host' ? (p.host ?? p.container) : p.host;
    if (host !== undefined) keys.push(`${p.protocol}/${host}`);
  }
  portsBySpec.set(ports, { network: task.network, keys });
  return keys;
}

/** The first of the task's host ports already taken on the worker, as a reason. */
export function takenPort(task: TaskSpec, worker: WorkerRecord): string | undefined {
  if (task.ports.length === 0) return undefined;
  const used = worker.usedPorts;
  if (used === undefined || used.length === 0) return undefined;
  const wanted = hostPortsOf(task);
  for (let i = 0; i < wanted.length; i++) {
    if (used.includes(wanted[i]!)) return reasonFor(wanted[i]!);
  }
  return undefined;
}

export const hostPortsFree: FilterPlugin = {
  name: 'host-ports',
  filter: takenPort,
};
