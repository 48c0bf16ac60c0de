// The worker's only door to Docker. Every container it makes carries the labels
// cube.task-id, cube.attempt and cube.worker, and the name cube-<taskId>-<attempt>, so a
// duplicate message or a restarted worker finds what already runs instead of starting it
// again (Docker's name uniqueness is the second guard).
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { EngineBinding } from '../../core/endpoints.js';
import type { TaskRecord } from '../../core/types.js';
import {
  containerCreateOptions,
  DEFAULT_STOP_TIMEOUT_SECONDS,
  LABEL_ATTEMPT,
  LABEL_STOP_AFTER_DISCONNECT,
  LABEL_TASK_ID,
  LABEL_WORKER,
} from './containerOptions.js';
import type {
  ContainerExit,
  ContainerRuntime,
  CubeContainer,
  ExecResult,
} from './containerRuntime.js';
import { ENGINE_DEADLINES_MS as BOUND, withDeadline } from './engineDeadline.js';
import { StartSlots } from './startSlots.js';

export const DEFAULT_PULL_TIMEOUT_MS = 120_000;

export class ImageUnavailableError extends Error {
  override name = 'ImageUnavailableError';
  constructor(
    readonly image: string,
    options?: { cause?: unknown },
  ) {
    super(`image ${image} not found locally and could not be pulled`, options);
  }
}

interface DockerError extends Error {
  statusCode?: number;
  json?: { message?: string };
}

const statusOf = (error: unknown) => (error as DockerError | undefined)?.statusCode;

/** The message Docker gave, without dockerode's "(HTTP code N) ..." prefix. */
export function dockerErrorMessage(error: unknown): string {
  const e = error as DockerError;
  return e?.json?.message ?? e?.message ?? String(error);
}

/** Docker's `{"80/tcp": [{HostIp, HostPort}]}` as a flat list (unbound ports are null). */
export function engineBindings(
  ports: Record<string, { HostIp?: string; HostPort?: string }[] | null> | undefined,
): EngineBinding[] {
  const bound: EngineBinding[] = [];
  for (const [key, bindings] of Object.entries(ports ?? {})) {
    const [port, protocol] = key.split('/');
    const container = Number(port);
    if (!Number.isInteger(container) || (protocol !== 'tcp' && protocol !== 'udp')) continue;
    for (const b of bindings ?? []) {
      const hostPort = Number(b.HostPort);
      if (!Number.isInteger(hostPort) || hostPort <= 0) continue;
      bound.push({ container, protocol, hostPort, ...(b.HostIp ? { hostIp: b.HostIp } : {}) });
    }
  }
  return bound;
}

export interface DockerRuntimeOptions {
  stopTimeoutSeconds?: number;
  pullTimeoutMs?: number;
  /** Container starts at once on this worker (default 4). */
  startConcurrency?: number;
  /** The Docker network tasks with network `bridge` join (default Docker's own `bridge`). */
  bridgeNetwork?: string;
  log?: (line: string) => void;
}

export const DEFAULT_START_CONCURRENCY = 4;

export class DockerRuntime implements ContainerRuntime {
  private readonly stopTimeoutSeconds: number;
  private readonly pullTimeoutMs: number;
  private readonly log: (line: string) => void;
  private readonly startSlots: StartSlots;
  private readonly bridgeNetwork: string | undefined;

  constructor(
    readonly docker: Docker,
    readonly workerId: string,
    options: DockerRuntimeOptions = {},
  ) {
    this.stopTimeoutSeconds = options.stopTimeoutSeconds ?? DEFAULT_STOP_TIMEOUT_SECONDS;
    this.pullTimeoutMs = options.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS;
    this.log = options.log ?? (() => {});
    this.startSlots = new StartSlots(options.startConcurrency ?? DEFAULT_START_CONCURRENCY);
    this.bridgeNetwork = options.bridgeNetwork;
  }

  /** Throws when the engine does not answer a ping within `timeoutMs` (the heartbeat's probe). */
  async ping(timeoutMs: number = BOUND.ping): Promise<void> {
    await withDeadline(this.docker.ping(), timeoutMs, 'a ping');
  }

  /** Every container of this worker, running or not. */
  async listOwn(): Promise<CubeContainer[]> {
    return this.list([`${LABEL_WORKER}=${this.workerId}`]);
  }

  /** The container of one attempt of a task on this worker, if one exists. */
  async find(taskId: string, attempt: number): Promise<CubeContainer | undefined> {
    const found = await this.list([
      `${LABEL_WORKER}=${this.workerId}`,
      `${LABEL_TASK_ID}=${taskId}`,
      `${LABEL_ATTEMPT}=${attempt}`,
    ]);
    return found[0];
  }

  /** Every container of a task on this worker, whatever the attempt. */
  async listTask(taskId: string): Promise<CubeContainer[]> {
    return this.list([`${LABEL_WORKER}=${this.workerId}`, `${LABEL_TASK_ID}=${taskId}`]);
  }

  async countRunning(): Promise<number> {
    return (await this.listOwn()).filter((c) => c.state === 'running').length;
  }

  /**
   * Creates and starts the container of the task's current attempt. A name conflict means
   * it exists already: that container is adopted (and started if it never was).
   */
  createAndStart(
    task: TaskRecord,
    secretEnv?: Record<string, string>,
  ): Promise<{ containerId: string; adopted: boolean }> {
    return this.startSlots.run(() => this.createAndStartNow(task, secretEnv));
  }

  private async createAndStartNow(
    task: TaskRecord,
    secretEnv?: Record<string, string>,
  ): Promise<{ containerId: string; adopted: boolean }> {
    const options = containerCreateOptions(task, this.workerId, this.bridgeNetwork, secretEnv);
    let containerId: string;
    try {
      containerId = await this.create(options);
    } catch (error) {
      if (statusOf(error) !== 409) throw error;
      const existing = await withDeadline(
        this.docker.getContainer(options.name!).inspect(),
        BOUND.read,
        'an inspect',
      );
      if (existing.Config.Labels?.[LABEL_WORKER] !== this.workerId) {
        throw new Error(`container ${options.name} exists but belongs to another worker`, {
          cause: error,
        });
      }
      // Start it only if it never ran: an exited container is an exit to record, not rerun.
      if (existing.State.Status === 'created') await this.start(existing.Id);
      return { containerId: existing.Id, adopted: true };
    }
    await this.start(containerId);
    return { containerId, adopted: false };
  }

  /**
   * Creates straight away and pulls only when Docker lacks the image (as `docker run` does):
   * an image inspect before every create is one more engine round trip on the hot path.
   */
  private async create(options: Docker.ContainerCreateOptions): Promise<string> {
    const create = () =>
      withDeadline(this.docker.createContainer(options), BOUND.create, 'a create');
    try {
      return (await create()).id;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    await this.ensureImage(options.Image!);
    return (await create()).id;
  }

  /** Starts a container; one already started is fine. */
  async start(containerId: string): Promise<void> {
    try {
      await withDeadline(this.docker.getContainer(containerId).start(), BOUND.start, 'a start');
    } catch (error) {
      if (statusOf(error) !== 304) throw error;
    }
  }

  /** How the container stands; undefined when it no longer exists. */
  async inspectExit(containerId: string): Promise<ContainerExit | undefined> {
    try {
      const info = await withDeadline(
        this.docker.getContainer(containerId).inspect(),
        BOUND.read,
        'an inspect',
      );
      const state = info.State;
      const error = (state as { Error?: string }).Error;
      return {
        running: state.Running || state.Restarting || state.Paused,
        neverStarted: state.Status === 'created',
        exitCode: state.ExitCode,
        oomKilled: state.OOMKilled,
        ...(error ? { error } : {}),
        bound: engineBindings(info.NetworkSettings?.Ports),
      };
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * docker stop: the container's stop signal (the task's, set at create), then SIGKILL after
   * the timeout. Gone or stopped already is fine.
   */
  async stop(containerId: string, timeoutSeconds = this.stopTimeoutSeconds): Promise<void> {
    try {
      // The engine waits the stop timeout itself before its SIGKILL: the bound is beyond it.
      await withDeadline(
        this.docker.getContainer(containerId).stop({ t: timeoutSeconds }),
        timeoutSeconds * 1000 + BOUND.stopMargin,
        'a stop',
      );
    } catch (error) {
      const status = statusOf(error);
      if (status !== 304 && status !== 404) throw error;
    }
  }

  async remove(containerId: string): Promise<void> {
    try {
      await withDeadline(
        this.docker.getContainer(containerId).remove({ force: true }),
        BOUND.remove,
        'a removal',
      );
    } catch (error) {
      const status = statusOf(error);
      // 409: a removal is already in progress.
      if (status !== 404 && status !== 409) throw error;
    }
  }

  async stopAndRemove(containerId: string, timeoutSeconds?: number): Promise<void> {
    await this.stop(containerId, timeoutSeconds);
    await this.remove(containerId);
  }

  /** The address a health check reaches the container at: its first network's IP. */
  async ipAddress(containerId: string): Promise<string | undefined> {
    const info = await withDeadline(
      this.docker.getContainer(containerId).inspect(),
      BOUND.read,
      'an inspect',
    );
    const settings = info.NetworkSettings as typeof info.NetworkSettings & { IPAddress?: string };
    const networks = Object.values(settings?.Networks ?? {});
    return settings?.IPAddress || networks.find((n) => n.IPAddress)?.IPAddress;
  }

  /** Runs a command inside a running container (docker exec), output trimmed to 4 KiB. */
  async exec(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const exec = await withDeadline(
      this.docker
        .getContainer(containerId)
        .exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true }),
      BOUND.exec,
      'an exec',
    );
    const stream = (await withDeadline(
      exec.start({ hijack: true, stdin: false }),
      BOUND.exec,
      'an exec start',
    )) as NodeJS.ReadableStream & {
      destroy?: () => void;
    };
    let output = '';
    const collect = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        output = (output + chunk.toString()).slice(-4096);
        callback();
      },
    });
    this.docker.modem.demuxStream(stream, collect, collect);
    const finished = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        stream.destroy?.();
        resolve(false);
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        // A hijacked exec socket can stay half-open after the output ends: close it.
        stream.destroy?.();
        resolve(true);
      };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', done);
    });
    if (!finished) return { exitCode: undefined, output };
    // The stream ends as the process does; Docker may take a moment to note its exit code.
    for (let tries = 0; tries < 20; tries++) {
      const info = await withDeadline(exec.inspect(), BOUND.read, 'an exec inspect');
      if (!info.Running && info.ExitCode !== null) return { exitCode: info.ExitCode, output };
      await new Promise((r) => setTimeout(r, 25));
    }
    return { exitCode: undefined, output };
  }

  private async list(labels: string[]): Promise<CubeContainer[]> {
    const infos = await withDeadline(
      this.docker.listContainers({ all: true, filters: { label: labels } }),
      BOUND.read,
      'a container listing',
    );
    return infos.map((info) => {
      const fence = Number(info.Labels[LABEL_STOP_AFTER_DISCONNECT]);
      return {
        id: info.Id,
        taskId: info.Labels[LABEL_TASK_ID] ?? '',
        attempt: Number(info.Labels[LABEL_ATTEMPT]),
        state: info.State,
        ...(fence > 0 ? { stopAfterDisconnectSeconds: fence } : {}),
      };
    });
  }

  /** Makes sure the image is local, pulling it if it is not. */
  private async ensureImage(ref: string): Promise<void> {
    try {
      await withDeadline(this.docker.getImage(ref).inspect(), BOUND.read, 'an image inspect');
      return;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
    }
    this.log(`pulling image ${ref}`);
    try {
      await this.pull(ref);
    } catch (error) {
      throw new ImageUnavailableError(ref, { cause: error });
    }
  }

  private async pull(ref: string): Promise<void> {
    const stream = await withDeadline(this.docker.pull(ref), this.pullTimeoutMs, 'a pull');
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
        reject(new Error(`pull of ${ref} timed out`));
      }, this.pullTimeoutMs);
      this.docker.modem.followProgress(
        stream,
        (error: Error | null, output: { error?: string }[]) => {
          clearTimeout(timer);
          const failed = output?.find((item) => item.error);
          if (error) reject(error);
          else if (failed) reject(new Error(failed.error));
          else resolve();
        },
      );
    });
  }
}
