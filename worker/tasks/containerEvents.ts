// Docker's events stream, so an exit is recorded the moment it happens rather than at the
// next reconcile. The stream is reopened (from the last event seen) whenever it ends.
import type Docker from 'dockerode';
import { LABEL_ATTEMPT, LABEL_TASK_ID, LABEL_WORKER } from '../engine/containerOptions.js';
import { sleep } from '../timing.js';
import { recordExit } from './taskExit.js';
import { CONTAINER_STATES, ownsAttempt, type WorkerContext } from './workerContext.js';

export interface ContainerDied {
  containerId: string;
  taskId: string;
  attempt: number;
}

interface DockerEvent {
  Type?: string;
  Action?: string;
  time?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/** The `die` of one of this worker's containers, or undefined for any other event. */
export function parseDieEvent(line: string, workerId: string): ContainerDied | undefined {
  let event: DockerEvent;
  try {
    event = JSON.parse(line) as DockerEvent;
  } catch {
    return undefined;
  }
  const attributes = event.Actor?.Attributes ?? {};
  if (event.Type !== 'container' || event.Action !== 'die') return undefined;
  if (attributes[LABEL_WORKER] !== workerId || !event.Actor?.ID) return undefined;
  const taskId = attributes[LABEL_TASK_ID];
  const attempt = Number(attributes[LABEL_ATTEMPT]);
  if (!taskId || !Number.isInteger(attempt)) return undefined;
  return { containerId: event.Actor.ID, taskId, attempt };
}

export interface FollowOptions {
  docker: Docker;
  workerId: string;
  signal: AbortSignal;
  onDie: (died: ContainerDied) => void;
  log: (line: string) => void;
  /** Called once the stream is open (each time it is reopened). */
  onConnected?: () => void;
}

/** Follows this worker's container exits until the signal aborts. */
export async function followContainerEvents(options: FollowOptions): Promise<void> {
  const { docker, workerId, signal, log } = options;
  let since: number | undefined;
  let lastSeen: number | undefined;
  let failures = 0;
  while (!signal.aborted) {
    const openedAt = Math.floor(Date.now() / 1000);
    try {
      const stream = await docker.getEvents({
        filters: { type: ['container'], event: ['die'], label: [`${LABEL_WORKER}=${workerId}`] },
        ...(since !== undefined ? { since } : {}),
      });
      failures = 0;
      options.onConnected?.();
      await consumeLines(stream, signal, (line) => {
        lastSeen = eventTime(line) ?? lastSeen;
        const died = parseDieEvent(line, workerId);
        if (died) options.onDie(died);
      });
    } catch (error) {
      if (signal.aborted) break;
      failures++;
      log(`docker events stream failed: ${(error as Error).message}`);
    }
    // Reopen from the last event seen (whole seconds, so it may repeat: that is harmless).
    since = lastSeen ?? since ?? openedAt;
    if (!signal.aborted) await sleep(Math.min(10_000, 250 * 2 ** failures), signal);
  }
}

function eventTime(line: string): number | undefined {
  try {
    const time = (JSON.parse(line) as DockerEvent).time;
    return typeof time === 'number' ? time : undefined;
  } catch {
    return undefined;
  }
}

function consumeLines(
  stream: NodeJS.ReadableStream,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const destroyable = stream as NodeJS.ReadableStream & { destroy?: () => void };
    const finish = (error?: Error) => {
      signal.removeEventListener('abort', onAbort);
      stream.removeListener('data', onData);
      if (error && !signal.aborted) reject(error);
      else resolve();
    };
    const onAbort = () => {
      destroyable.destroy?.();
      finish();
    };
    const onData = (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) onLine(line);
        newline = buffered.indexOf('\n');
      }
    };
    stream.on('data', onData);
    stream.once('end', () => finish());
    stream.once('close', () => finish());
    stream.once('error', (error: Error) => finish(error));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Records the exit of a container that died, then removes the container. A STOPPING task is
 * left to the stop path; a container whose record moved on is an orphan and goes.
 */
export async function handleContainerDied(ctx: WorkerContext, died: ContainerDied): Promise<void> {
  await ctx.locks.withLock(died.taskId, async () => {
    const exit = await ctx.runtime.inspectExit(died.containerId);
    if (!exit || exit.running) return;
    const task = await ctx.tasks.get(died.taskId);
    if (ownsAttempt(ctx, task, died.attempt) && CONTAINER_STATES.has(task.state)) {
      if (task.state === 'STOPPING') return;
      const after = await recordExit(ctx, task, exit);
      if (!after) return;
    }
    await ctx.runtime.remove(died.containerId);
  });
}
