// Docker's events stream, so an exit is recorded the moment it happens rather than at the
// next reconcile. The stream is reopened (from the last event seen) whenever it ends.
// Nothing here grows without bound: a partial line is cut at MAX_EVENT_LINE_CHARS; each stream
// is destroyed and its listeners removed before the next one opens; opening is bounded by the
// engine's read deadline (a hung engine does not stall the loop for good); a stream that ends
// at once counts as a failure, so a flapping engine is reopened with backoff, not every 250 ms.
// The exits themselves are handed to an ExitRecorder (exitRecorder.ts), which bounds them.
import type Docker from 'dockerode';
import { LABEL_ATTEMPT, LABEL_TASK_ID, LABEL_WORKER } from '../engine/containerOptions.js';
import { ENGINE_DEADLINES_MS, withDeadline } from '../engine/engineDeadline.js';
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

/** A line longer than this is no event of ours: it is dropped, not buffered on. */
export const MAX_EVENT_LINE_CHARS = 64 * 1024;
/** A stream that stayed open this long was healthy: the next reopen starts without backoff. */
const STABLE_STREAM_MS = 5_000;

/** Follows this worker's container exits until the signal aborts. */
export async function followContainerEvents(options: FollowOptions): Promise<void> {
  const { docker, workerId, signal, log } = options;
  let since: number | undefined;
  let lastSeen: number | undefined;
  let failures = 0;
  while (!signal.aborted) {
    const openedAt = Date.now();
    try {
      const opening = docker.getEvents({
        filters: { type: ['container'], event: ['die'], label: [`${LABEL_WORKER}=${workerId}`] },
        ...(since !== undefined ? { since } : {}),
      });
      // A stream that comes after its deadline is nobody's: close it.
      opening.then(
        (late) => (Date.now() - openedAt >= ENGINE_DEADLINES_MS.read ? destroy(late) : undefined),
        () => {},
      );
      const stream = await withDeadline(opening, ENGINE_DEADLINES_MS.read, 'the events stream');
      options.onConnected?.();
      const dropped = await consumeLines(stream, signal, (line) => {
        lastSeen = eventTime(line) ?? lastSeen;
        const died = parseDieEvent(line, workerId);
        if (died) options.onDie(died);
      });
      if (dropped > 0) log(`docker events stream: ${dropped} over-long lines dropped`);
      // Ended on its own: backoff only when it did so at once (an engine that keeps hanging up).
      failures = Date.now() - openedAt >= STABLE_STREAM_MS ? 0 : failures + 1;
    } catch (error) {
      if (signal.aborted) break;
      failures++;
      log(`docker events stream failed: ${(error as Error).message}`);
    }
    // Reopen from the last event seen (whole seconds, so it may repeat: that is harmless).
    since = lastSeen ?? since ?? Math.floor(openedAt / 1000);
    if (!signal.aborted) await sleep(Math.min(10_000, 250 * 2 ** failures), signal);
  }
}

type Destroyable = NodeJS.ReadableStream & { destroy?: () => void };

/** Ends a stream for good; an error it still emits after that is nobody's. */
function destroy(stream: NodeJS.ReadableStream): void {
  stream.on('error', () => {});
  (stream as Destroyable).destroy?.();
}

function eventTime(line: string): number | undefined {
  try {
    const time = (JSON.parse(line) as DockerEvent).time;
    return typeof time === 'number' ? time : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Hands each line of the stream to `onLine` until it ends (or the signal aborts), then
 * destroys it with every listener this added removed. Resolves with the over-long lines it
 * dropped; rejects with the stream's error.
 */
export function consumeLines(
  stream: NodeJS.ReadableStream,
  signal: AbortSignal,
  onLine: (line: string) => void,
): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let dropped = 0;
    /** Inside an over-long line: skip up to its newline. */
    let skipping = false;
    let finished = false;
    const finish = (error?: Error) => {
      if (finished) return;
      finished = true;
      signal.removeEventListener('abort', onAbort);
      stream.removeListener('data', onData);
      stream.removeListener('end', onEnd);
      stream.removeListener('close', onEnd);
      stream.removeListener('error', onError);
      destroy(stream);
      if (error && !signal.aborted) reject(error);
      else resolve(dropped);
    };
    const onAbort = () => finish();
    const onEnd = () => finish();
    const onError = (error: Error) => finish(error);
    const onData = (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (skipping) skipping = false;
        else if (line) onLine(line);
        newline = buffered.indexOf('\n');
      }
      if (buffered.length > MAX_EVENT_LINE_CHARS) {
        if (!skipping) dropped++;
        skipping = true;
        buffered = '';
      }
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
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
