// A small typed client for the control plane's HTTP API (/v1, JSON, bearer token).
import type { ClusterEvent } from '../core/history/events.js';
import type { TaskSpecInput } from '../core/taskSpec.js';
import type {
  PlacementExplanation,
  TaskEvent,
  TaskRecord,
  TaskState,
  TokenScope,
  WorkerRecord,
} from '../core/types.js';

/** The server answered with a non-2xx status; `message` is the server's own text. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** No answer at all: connection refused, DNS failure, timeout. */
export class ApiUnreachableError extends Error {
  override name = 'ApiUnreachableError';
}

/** A task id prefix that matches more than one task. */
export class AmbiguousTaskIdError extends Error {
  override name = 'AmbiguousTaskIdError';
}

/** Tasks and workers are listed this many a request (the API's limit is 1,000). */
export const LIST_PAGE_SIZE = 500;
/** The API looks prefixes up by their first 3 characters (aws/historyItems.ts). */
const MIN_PREFIX = 3;

export interface EventQuery {
  since?: string;
  kind?: string;
  task?: string;
  service?: string;
  worker?: string;
  limit?: number;
  nextToken?: string;
}

export interface TaskDetail {
  task: TaskRecord;
  events: TaskEvent[];
}

/** One page of an attempt's output (GET /v1/tasks/{id}/logs). */
export interface TaskLogsPage {
  taskId: string;
  attempt: number;
  state: TaskState;
  latestAttempt: number;
  /** This attempt prints no more: an empty page after this means the reader has it all. */
  ended: boolean;
  /** The task will run no new attempt. */
  over: boolean;
  lines: { time: string; message: string }[];
  nextToken?: string;
}

/** One page of a service's output (GET /v1/services/{name}/logs). */
export interface ServiceLogsPage {
  service: string;
  replicas: { replica: string; taskId: string; attempt: number }[];
  lines: { time: string; message: string; replica: string; taskId: string; id?: string }[];
  nextToken?: string;
}

export interface TaskLogsQuery {
  attempt?: number;
  since?: string;
  tail?: number;
  nextToken?: string;
  limit?: number;
}

export type NodeAction = 'cordon' | 'uncordon' | 'drain';

export interface NodeActionResult {
  node: WorkerRecord;
  /** drain only: tasks sent away, and tasks it found already leaving or done. */
  stopping?: string[];
  skipped?: string[];
}

export interface DryRunResult {
  policy: string;
  placed: boolean;
  workerId?: string;
  workerName?: string;
  score?: number;
  reason: string;
  explanation: PlacementExplanation;
}

/** A token as the API shows it: never its hash or secret. */
export interface TokenInfo {
  id: string;
  name: string;
  scope: TokenScope;
  createdAt: string;
  expiresAt?: string;
  revoked: boolean;
  revokedAt?: string;
  expired: boolean;
}

export interface ApiClientOptions {
  apiUrl: string;
  token: string;
  /** Per-request timeout; the API answers in well under a second when healthy. */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** `?a=1&b=2` of the defined values, or nothing. */
function searchOf(query: object): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  return params.size > 0 ? `?${params}` : '';
}

const NETWORK_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host not found',
  EHOSTUNREACH: 'host unreachable',
  ETIMEDOUT: 'connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
};

export class ApiClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ApiClientOptions) {
    this.baseUrl = apiBaseUrl(options.apiUrl);
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchImpl = options.fetch ?? fetch;
  }

  async createTask(body: TaskSpecInput): Promise<TaskRecord> {
    return (await this.request<{ task: TaskRecord }>('POST', '/tasks', body)).task;
  }

  /**
   * All tasks, or only those in `states`, following the listing's pages; `onPage` hears the
   * count so far (for progress on long listings).
   */
  async listTasks(
    states?: readonly TaskState[],
    onPage?: (countSoFar: number) => void,
  ): Promise<TaskRecord[]> {
    const query = new URLSearchParams({ limit: String(LIST_PAGE_SIZE) });
    if (states && states.length > 0) query.set('state', states.join(','));
    return this.allPages<TaskRecord>('/tasks', query, 'tasks', onPage);
  }

  /** Tasks whose id starts with `prefix` (at least 3 characters), at most `limit`. */
  async tasksByPrefix(prefix: string, limit = 2): Promise<TaskRecord[]> {
    const query = new URLSearchParams({ prefix, limit: String(limit) });
    return (await this.request<{ tasks: TaskRecord[] }>('GET', `/tasks?${query}`)).tasks;
  }

  /** One page of the cluster's timeline. */
  async listEvents(query: EventQuery): Promise<{ events: ClusterEvent[]; nextToken?: string }> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) params.set(key, String(value));
    }
    return this.request('GET', `/events?${params}`);
  }

  /** Every page of a listing: `{ [key]: T[], nextToken? }` until no nextToken is left. */
  private async allPages<T>(
    path: string,
    query: URLSearchParams,
    key: string,
    onPage?: (countSoFar: number) => void,
  ): Promise<T[]> {
    const all: T[] = [];
    for (;;) {
      const page = await this.request<Record<string, unknown>>('GET', `${path}?${query}`);
      all.push(...((page[key] as T[] | undefined) ?? []));
      onPage?.(all.length);
      if (typeof page.nextToken !== 'string') return all;
      query.set('nextToken', page.nextToken);
    }
  }

  async getTask(id: string): Promise<TaskDetail> {
    return this.request<TaskDetail>('GET', `/tasks/${encodeURIComponent(id)}`);
  }

  async taskLogs(id: string, query: TaskLogsQuery = {}): Promise<TaskLogsPage> {
    return this.request<TaskLogsPage>(
      'GET',
      `/tasks/${encodeURIComponent(id)}/logs${searchOf(query)}`,
    );
  }

  async serviceLogs(
    name: string,
    query: Omit<TaskLogsQuery, 'attempt'> = {},
  ): Promise<ServiceLogsPage> {
    return this.request<ServiceLogsPage>(
      'GET',
      `/services/${encodeURIComponent(name)}/logs${searchOf(query)}`,
    );
  }

  async stopTask(id: string): Promise<TaskRecord> {
    return (await this.request<{ task: TaskRecord }>('DELETE', `/tasks/${encodeURIComponent(id)}`))
      .task;
  }

  async listNodes(): Promise<WorkerRecord[]> {
    const query = new URLSearchParams({ limit: String(LIST_PAGE_SIZE) });
    return this.allPages<WorkerRecord>('/nodes', query, 'nodes');
  }

  /** The public key placements are signed with, and its fingerprint (any token). */
  async placementKey(): Promise<PlacementKeyInfo> {
    return this.request<PlacementKeyInfo>('GET', '/placement-key');
  }

  /** Removes a DOWN worker and its queue (admin token); a live one is refused (409). */
  async removeNode(idOrName: string): Promise<WorkerRecord> {
    return (
      await this.request<{ node: WorkerRecord }>('DELETE', `/nodes/${encodeURIComponent(idOrName)}`)
    ).node;
  }

  /** Cordon, uncordon or drain a worker, by id or name (admin token). */
  async nodeAction(action: NodeAction, idOrName: string): Promise<NodeActionResult> {
    return this.request<NodeActionResult>(
      'POST',
      `/nodes/${encodeURIComponent(idOrName)}/${action}`,
    );
  }

  /** Where a spec would be placed now, and why; places nothing. */
  async dryRunSchedule(body: TaskSpecInput): Promise<DryRunResult> {
    return this.request<DryRunResult>('POST', '/schedule/dry-run', body);
  }

  /** Creates a token (admin); the secret is in this answer only. */
  async createToken(body: {
    name: string;
    scope: TokenScope;
    expiresInHours?: number;
    worker?: string;
  }): Promise<{ token: TokenInfo; secret: string }> {
    return this.request<{ token: TokenInfo; secret: string }>('POST', '/tokens', body);
  }

  async listTokens(): Promise<TokenInfo[]> {
    return (await this.request<{ tokens: TokenInfo[] }>('GET', '/tokens')).tokens;
  }

  async revokeToken(id: string): Promise<TokenInfo> {
    return (await this.request<{ token: TokenInfo }>('DELETE', `/tokens/${encodeURIComponent(id)}`))
      .token;
  }

  /**
   * Finds a task by full id or by a unique prefix of one (as `docker` accepts), returning
   * its detail. A prefix is only looked up when the exact id is not found.
   */
  async findTask(idOrPrefix: string): Promise<TaskDetail> {
    try {
      return await this.getTask(idOrPrefix);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404) || idOrPrefix.length === 0) {
        throw error;
      }
      // By Query on the prefix index; two matches are enough to call it ambiguous.
      if (idOrPrefix.length < MIN_PREFIX) {
        throw new ApiError(
          404,
          'NOT_FOUND',
          `task ${idOrPrefix} not found; a shorter id is looked up as a prefix of at least ${MIN_PREFIX} characters`,
        );
      }
      const matches = await this.tasksByPrefix(idOrPrefix, 2);
      if (matches.length === 1) return this.getTask(matches[0]!.id);
      if (matches.length > 1) {
        throw new AmbiguousTaskIdError(
          `task id prefix '${idOrPrefix}' matches more than one task; give more of the id`,
        );
      }
      throw error;
    }
  }

  /** One call of the API under /v1 (`path` starts with `/`); the typed methods wrap it. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new ApiUnreachableError(
        `cannot reach the Cube API at ${this.baseUrl} (${networkReason(error)}); ` +
          `start a local control plane with 'cube up' or check CUBE_API_URL`,
      );
    }
    const text = await response.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      data = undefined;
    }
    if (!response.ok) {
      const payload = (data ?? {}) as { error?: unknown; message?: unknown };
      const code = typeof payload.error === 'string' ? payload.error : `HTTP_${response.status}`;
      const message =
        typeof payload.message === 'string' && payload.message
          ? payload.message
          : defaultMessage(response.status, response.statusText);
      throw new ApiError(response.status, code, message);
    }
    if (data === undefined || typeof data !== 'object' || data === null) {
      throw new ApiError(
        response.status,
        'BAD_RESPONSE',
        `the API at ${this.baseUrl} answered ${method} ${path} with something that is not JSON`,
      );
    }
    return data as T;
  }
}

export interface PlacementKeyInfo {
  algorithm: string;
  /** `ed25519:<base64url>`, what `--control-plane-key` takes. */
  publicKey: string;
  /** `SHA256:...`, as workers log it. */
  fingerprint: string;
}

/** `http://host:8080`, `http://host:8080/`, `http://host:8080/v1` -> `http://host:8080/v1`. */
export function apiBaseUrl(apiUrl: string): string {
  const trimmed = apiUrl.replace(/\/+$/, '');
  return /\/v1$/.test(trimmed) ? trimmed : `${trimmed}/v1`;
}

function networkReason(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return 'no answer in time';
  }
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code && NETWORK_ERRORS[cause.code]) return NETWORK_ERRORS[cause.code]!;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return error instanceof Error ? error.message : String(error);
}

function defaultMessage(status: number, statusText: string): string {
  if (status === 401) return 'the API refused the token; run `cube up` again or check CUBE_TOKEN';
  if (status === 403) return 'the token is not allowed to do this';
  if (status === 404) return 'not found';
  return statusText || 'request failed';
}
