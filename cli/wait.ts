// Polls a task until a condition holds, for `run --wait` and `stop --wait`.
import { UsageError } from 'clipanion';
import type { TaskRecord } from '../core/types.js';
import type { ApiClient, TaskDetail } from './apiClient.js';

export interface WaitOptions {
  until: (task: TaskRecord) => boolean;
  timeoutMs: number;
  intervalMs?: number;
  onUpdate?: (task: TaskRecord) => void;
}

export interface WaitResult {
  detail: TaskDetail;
  timedOut: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function waitForTask(
  client: ApiClient,
  id: string,
  options: WaitOptions,
): Promise<WaitResult> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 200;
  for (;;) {
    const detail = await client.getTask(id);
    options.onUpdate?.(detail.task);
    if (options.until(detail.task)) return { detail, timedOut: false };
    const left = deadline - Date.now();
    if (left <= 0) return { detail, timedOut: true };
    await sleep(Math.min(interval, left));
  }
}

/** `--timeout` seconds -> milliseconds; throws on nonsense so the user hears of it. */
export function parseTimeout(text: string | undefined, fallbackSeconds: number): number {
  if (text === undefined) return fallbackSeconds * 1000;
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`--timeout must be a number of seconds (got '${text}')`);
  }
  return seconds * 1000;
}
