// Host ports: a task that binds a host port needs it free on its worker. The worker's
// record lists the ports its placed tasks hold (`usedPorts`, e.g. `tcp/8080`); the store
// adds and removes them in the same transaction as the cpu/memory reservation.
import type { TaskSpec, WorkerRecord } from '../types.js';
import type { FilterPlugin } from './types.js';

// Memo per spec array: the hot loop asks for the same task's ports once per worker.
const portsBySpec = new WeakMap<readonly unknown[], string[]>();

/**
 * The host ports a task binds, as `protocol/port`. With `host` networking the container
 * port is the host port; with `bridge` only an explicit host port binds one (an absent one
 * is an ephemeral port Docker picks); `none` binds nothing.
 */
export function hostPortsOf(task: Pick<TaskSpec, 'ports' | 'network'>): string[] {
  const ports = task.ports;
  if (ports.length === 0 || task.network === 'none') return [];
  let keys = portsBySpec.get(ports);
  if (keys === undefined) {
    keys = [];
    for (const p of ports) {
      const host = task.network === 'host' ? (p.host ?? p.container) : p.host;
      if (host !== undefined) keys.push(`${p.protocol}/${host}`);
    }
    portsBySpec.set(ports, keys);
  }
  return keys;
}

/** The first of the task's host ports already taken on the worker, as a reason. */
export function takenPort(task: TaskSpec, worker: WorkerRecord): string | undefined {
  if (task.ports.length === 0) return undefined;
  const used = worker.usedPorts;
  if (used === undefined || used.length === 0) return undefined;
  const wanted = hostPortsOf(task);
  for (let i = 0; i < wanted.length; i++) {
    if (used.includes(wanted[i]!)) return `host port ${wanted[i]} in use`;
  }
  return undefined;
}

export const hostPortsFree: FilterPlugin = {
  name: 'host-ports',
  filter: takenPort,
};
