// Registration with the control plane over HTTPS: POST /v1/workers with a bearer token. The
// answer names the worker's id (derived from its name, so a restart keeps it), its queue and
// the tables it writes to. Retried with backoff and jitter while the API cannot be reached.
import { z } from 'zod';
import type { RestartSettings } from '../../core/restartPolicy.js';
import type { Resources, WorkerRecord } from '../../core/types.js';
import type { InstanceClaim } from '../../core/workerInstance.js';
import { backoffDelay, sleep } from '../timing.js';
import { type HttpPost, httpPost } from './httpPost.js';
import { WORKER_VERSION } from './version.js';

export interface RegistrationBody {
  name: string;
  labels: Record<string, string>;
  capacity: Resources;
  version: string;
  /** Where its tasks' published ports are reached (`--advertise-addr`). */
  address?: string;
  /** This daemon instance: one name, one live daemon (core/workerInstance.ts). */
  instance?: InstanceClaim;
  /** The placement key this worker pinned: a control plane holding another refuses it (409). */
  controlPlaneKey?: string;
}

/** The part of the control plane's configuration a worker needs. */
export interface WorkerControlPlaneConfig {
  tasksTable: string;
  workersTable: string;
  eventsTable: string;
  heartbeatIntervalMs: number;
  heartbeatTtlMs: number;
  /** Absent from an older control plane (it would not honour a declared interval): no idling. */
  heartbeatIdleIntervalMs?: number;
  /** Restart limits and backoff (an older control plane sends none: RESTART_DEFAULTS). */
  restart?: RestartSettings;
  /** Where a worker nudges the scheduler after handing a task back (a drain, a reschedule). */
  schedulingQueueUrl?: string;
  /** Where a malformed message received by the worker goes (`<prefix>-worker-dlq`). */
  deadLetterQueueUrl?: string;
  /** Where container output is shipped (an older control plane names none: not shipped). */
  logGroup?: string;
  /** The public key placements are signed with (`ed25519:...`); a pinned key wins over it. */
  controlPlaneKey?: string;
  /** How long finished tasks are kept (an older control plane sends none: 7 days). */
  retainFinishedMs?: number;
}

export interface RegistrationResponse {
  worker: WorkerRecord;
  queueUrl: string;
  config: WorkerControlPlaneConfig;
}

const RegistrationResponseSchema = z.object({
  worker: z.looseObject({ id: z.string().min(1), name: z.string() }),
  queueUrl: z.string().min(1),
  config: z.looseObject({
    tasksTable: z.string().min(1),
    workersTable: z.string().min(1),
    eventsTable: z.string().min(1),
    heartbeatIntervalMs: z.number().positive(),
    heartbeatTtlMs: z.number().positive(),
    heartbeatIdleIntervalMs: z.number().positive().optional(),
    restart: z
      .object({
        maxRestarts: z.number().int().min(0),
        maxReschedules: z.number().int().min(0),
        initialDelayMs: z.number().min(0),
        maxDelayMs: z.number().min(0),
      })
      .optional(),
    schedulingQueueUrl: z.string().min(1).optional(),
    deadLetterQueueUrl: z.string().min(1).optional(),
    logGroup: z.string().min(1).max(512).optional(),
    controlPlaneKey: z.string().min(1).max(200).optional(),
    retainFinishedMs: z.number().positive().optional(),
  }),
});

export function registrationBody(
  name: string,
  labels: Record<string, string>,
  capacity: Resources,
  version: string = WORKER_VERSION,
  address?: string,
): RegistrationBody {
  return { name, labels, capacity, version, ...(address ? { address } : {}) };
}

/** The API answered, and said no: retrying the same request would not help. */
export class RegistrationRejectedError extends Error {
  override name = 'RegistrationRejectedError';
  constructor(
    readonly status: number,
    detail: string,
  ) {
    super(`the control plane refused to register this worker (HTTP ${status}): ${detail}`);
  }
}

export interface RegisterOptions {
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Backoff between tries: base and ceiling of the jittered exponential delay. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many tries (default: keep trying until aborted). */
  maxAttempts?: number;
  /** How the POST is made (tests pass `fetch`); default: node:http (see httpPost.ts). */
  fetch?: HttpPost;
}

export function registrationUrl(apiUrl: string): string {
  return `${apiUrl.replace(/\/+$/, '')}/v1/workers`;
}

export async function registerWorker(
  apiUrl: string,
  token: string,
  body: RegistrationBody,
  options: RegisterOptions = {},
): Promise<RegistrationResponse> {
  const log = options.log ?? (() => {});
  const doFetch = options.fetch ?? httpPost;
  const url = registrationUrl(apiUrl);
  let waitedForHolder = false;
  for (let attempt = 1; ; attempt++) {
    options.signal?.throwIfAborted();
    let problem: string;
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      const text = await response.text();
      if (response.ok) return parseRegistrationResponse(text);
      // Another live daemon holds the name. It may be this host's previous daemon, killed
      // without a word: wait once until it would count as gone, then ask again.
      if (response.status === 409 && errorCode(text) === 'WORKER_NAME_TAKEN' && !waitedForHolder) {
        waitedForHolder = true;
        const retryAfter = Number(response.headers?.get('retry-after')) || 0;
        const waitMs = Math.min(MAX_HOLDER_WAIT_MS, retryAfter * 1000 + 1_000);
        log(
          `${errorDetail(text)}; waiting ${(waitMs / 1000).toFixed(0)} s in case it is a ` +
            'previous daemon of this worker that died',
        );
        await sleep(waitMs, options.signal);
        continue;
      }
      // Throttling and server errors pass; any other answer is final.
      if (response.status !== 429 && response.status < 500) {
        throw new RegistrationRejectedError(response.status, errorDetail(text));
      }
      problem = `HTTP ${response.status}: ${errorDetail(text)}`;
    } catch (error) {
      if (error instanceof RegistrationRejectedError || options.signal?.aborted) throw error;
      if (error instanceof z.ZodError || error instanceof SyntaxError) {
        throw new Error(`the control plane's registration answer is not understood: ${error}`);
      }
      problem = describeFetchError(error);
    }
    if (options.maxAttempts !== undefined && attempt >= options.maxAttempts) {
      throw new Error(`could not register with ${url} after ${attempt} tries: ${problem}`);
    }
    const delay = backoffDelay(attempt, options.baseDelayMs ?? 500, options.maxDelayMs ?? 30_000);
    log(`registering with ${url} failed (${problem}); retrying in ${(delay / 1000).toFixed(1)} s`);
    await sleep(delay, options.signal);
  }
}

export function parseRegistrationResponse(text: string): RegistrationResponse {
  const parsed = RegistrationResponseSchema.parse(JSON.parse(text));
  return parsed as unknown as RegistrationResponse;
}

/** The longest a daemon waits for a name's holder to go silent (an idle one's TTL is 150 s). */
const MAX_HOLDER_WAIT_MS = 180_000;

function errorCode(text: string): string | undefined {
  try {
    const json = JSON.parse(text) as { error?: unknown };
    return typeof json.error === 'string' ? json.error : undefined;
  } catch {
    return undefined;
  }
}

function errorDetail(text: string): string {
  try {
    const json = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    if (typeof json.error === 'string') {
      return typeof json.message === 'string' ? json.message : json.error;
    }
    return json.error?.message ?? json.message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200) || 'no details';
  }
}

function describeFetchError(error: unknown): string {
  // fetch wraps the socket's error in `cause`; node:http reports it directly.
  const { code, cause } = error as { code?: string; cause?: { code?: string; message?: string } };
  return cause?.code ?? cause?.message ?? code ?? (error as Error).message ?? String(error);
}
