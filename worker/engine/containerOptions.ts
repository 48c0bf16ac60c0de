// What a task's container is made of: its name, Cube's labels and Docker's create options, as
// pure functions of the task record, shared by the runtime and by whoever reads containers back.
import type Docker from 'dockerode';
import { TASK_DEFAULTS } from '../../core/taskSpec.js';
import type { TaskRecord } from '../../core/types.js';

export const LABEL_TASK_ID = 'cube.task-id';
export const LABEL_ATTEMPT = 'cube.attempt';
export const LABEL_WORKER = 'cube.worker';
/** `off` on the container of a task with `logs: false`: its output is not shipped. */
export const LABEL_LOGS = 'cube.logs';
/** Seconds cut off from the control plane after which the worker stops the container. */
export const LABEL_STOP_AFTER_DISCONNECT = 'cube.stop-after-disconnect';

/**
 * The engine's own log of every container, bounded (json-file, 3 files of 10 MiB), so a
 * chatty task cannot fill the host's disk; the worker ships from it (worker/logs/).
 */
export const LOG_ROTATION = { 'max-size': '10m', 'max-file': '3' } as const;
/** On a service's replicas: the service's name and the revision the replica runs. */
export const LABEL_SERVICE = 'cube.service';
export const LABEL_REVISION = 'cube.revision';

export const DEFAULT_STOP_TIMEOUT_SECONDS = 10;

export function containerName(taskId: string, attempt: number): string {
  return `cube-${taskId}-${attempt}`;
}

/**
 * Docker's create options for one attempt of a task: a pure function of the record. A `bridge`
 * task joins `bridgeNetwork` when the worker names one (a user-defined bridge network).
 */
export function containerCreateOptions(
  task: TaskRecord,
  workerId: string,
  bridgeNetwork = 'bridge',
  secretEnv: Record<string, string> = {},
): Docker.ContainerCreateOptions {
  const { spec } = task;
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostPort: string }[]> = {};
  for (const port of spec.ports) {
    const key = `${port.container}/${port.protocol}`;
    exposed[key] = {};
    // Bindings mean nothing with host networking (the container port is the host port)
    // and nothing without a network.
    if (spec.network === 'bridge') {
      bindings[key] = [{ HostPort: port.host === undefined ? '' : String(port.host) }];
    }
  }
  return {
    name: containerName(task.id, task.attempt),
    Image: spec.image,
    ...(spec.command.length > 0 ? { Cmd: spec.command } : {}),
    Env: Object.entries({ ...spec.env, ...secretEnv }).map(([key, value]) => `${key}=${value}`),
    // The task's own labels first, so they cannot overwrite the ones Cube relies on.
    Labels: {
      ...spec.labels,
      [LABEL_TASK_ID]: task.id,
      [LABEL_ATTEMPT]: String(task.attempt),
      [LABEL_WORKER]: workerId,
      ...(spec.logs === false ? { [LABEL_LOGS]: 'off' } : {}),
      // Read by the worker's fence when it loses the control plane (control/fencing.ts).
      ...(spec.stopAfterDisconnectSeconds !== undefined
        ? { [LABEL_STOP_AFTER_DISCONNECT]: String(spec.stopAfterDisconnectSeconds) }
        : {}),
      ...(task.service !== undefined
        ? {
            [LABEL_SERVICE]: task.service,
            [LABEL_REVISION]: String(task.serviceRevision ?? ''),
          }
        : {}),
    },
    ...(spec.ports.length > 0 ? { ExposedPorts: exposed } : {}),
    // `docker stop` (and a daemon shutdown) then sends the task's own signal and waits its time.
    StopSignal: spec.stopSignal ?? 'SIGTERM',
    StopTimeout: stopTimeoutOf(task),
    ...(spec.user ? { User: spec.user } : {}),
    HostConfig: {
      NetworkMode: spec.network === 'bridge' ? bridgeNetwork : spec.network,
      LogConfig: { Type: 'json-file', Config: { ...LOG_ROTATION } },
      // Never privileged unless the spec says so (the control plane refuses that unless allowed).
      Privileged: spec.privileged === true,
      ...(spec.readOnlyRootfs ? { ReadonlyRootfs: true } : {}),
      ...capabilities(spec),
      // No setuid escalation inside; a fork bomb stops at the limit instead of the host.
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: spec.pidsLimit ?? TASK_DEFAULTS.pidsLimit,
      ...(spec.mounts?.length
        ? {
            Mounts: spec.mounts.map((m) => ({
              Type: m.type,
              Target: m.target,
              ReadOnly: m.readOnly,
              // tmpfs has no source; Docker takes an empty one.
              Source: m.source ?? '',
            })),
          }
        : {}),
      ...(spec.resources.cpuMillis > 0 ? { NanoCpus: spec.resources.cpuMillis * 1e6 } : {}),
      ...(spec.resources.memoryBytes > 0 ? { Memory: spec.resources.memoryBytes } : {}),
      ...(Object.keys(bindings).length > 0 ? { PortBindings: bindings } : {}),
    },
  };
}

/**
 * NET_RAW (raw sockets: sniffing, spoofing) is dropped unless the task adds it back; what the
 * task drops itself is dropped too. A privileged container has every capability anyway.
 */
function capabilities(spec: TaskRecord['spec']): { CapDrop?: string[]; CapAdd?: string[] } {
  const add = spec.capAdd ?? [];
  const drop = spec.capDrop ?? [];
  const dropAll = drop.includes('ALL');
  const dropped = dropAll || add.includes('NET_RAW') ? drop : [...drop, 'NET_RAW'];
  return {
    ...(dropped.length > 0 ? { CapDrop: dropped } : {}),
    ...(add.length > 0 ? { CapAdd: add } : {}),
  };
}

/** The task's stop timeout in whole seconds (Docker takes integers; round up, never less). */
export function stopTimeoutOf(task: Pick<TaskRecord, 'spec'>): number {
  const seconds = task.spec.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS;
  return Math.max(0, Math.ceil(seconds));
}
