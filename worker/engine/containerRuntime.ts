// What the worker needs from a container engine. DockerRuntime is the real one;
// SimulatedRuntime only pretends, so a benchmark can run thousands of workers in one process.
import type { EngineBinding } from '../../core/endpoints.js';
import type { TaskRecord } from '../../core/types.js';

export interface ContainerRuntime {
  /** Throws when the engine does not answer within `timeoutMs` (the heartbeat's probe). */
  ping(timeoutMs?: number): Promise<void>;
  /** Every container of this worker, running or not. */
  listOwn(): Promise<CubeContainer[]>;
  find(taskId: string, attempt: number): Promise<CubeContainer | undefined>;
  listTask(taskId: string): Promise<CubeContainer[]>;
  countRunning(): Promise<number>;
  /** `secretEnv`: the task's resolved secrets, added to its environment and kept nowhere else. */
  createAndStart(
    task: TaskRecord,
    secretEnv?: Record<string, string>,
  ): Promise<{ containerId: string; adopted: boolean }>;
  start(containerId: string): Promise<void>;
  inspectExit(containerId: string): Promise<ContainerExit | undefined>;
  stop(containerId: string, timeoutSeconds?: number): Promise<void>;
  remove(containerId: string): Promise<void>;
  stopAndRemove(containerId: string, timeoutSeconds?: number): Promise<void>;
  ipAddress(containerId: string): Promise<string | undefined>;
  exec(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecResult>;
}

/** A container this worker made, as its labels and Docker's state describe it. */
export interface CubeContainer {
  id: string;
  taskId: string;
  attempt: number;
  /** Docker's state: created, running, paused, restarting, removing, exited, dead. */
  state: string;
  /** The task's fencing bound, from its label (control/fencing.ts). */
  stopAfterDisconnectSeconds?: number;
}

/** How a container ended (or that it has not). */
export interface ContainerExit {
  running: boolean;
  /** Created but never started (a crash between create and start). */
  neverStarted: boolean;
  exitCode: number;
  oomKilled: boolean;
  /** Docker's own error for a container that could not run (e.g. executable not found). */
  error?: string;
  /** The host ports the engine bound for it, read by the same inspect (none when stopped). */
  bound?: EngineBinding[];
}

/** What a command run inside a container gave back. */
export interface ExecResult {
  /** Undefined when it did not finish within the timeout. */
  exitCode: number | undefined;
  output: string;
}
