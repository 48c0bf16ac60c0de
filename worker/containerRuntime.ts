// What the worker needs from a container engine. DockerRuntime is the real one;
// SimulatedRuntime only pretends, so a benchmark can run thousands of workers in one process.
import type { TaskRecord } from '../core/types.js';
import type { ContainerExit, CubeContainer, ExecResult } from './dockerRuntime.js';

export interface ContainerRuntime {
  /** Every container of this worker, running or not. */
  listOwn(): Promise<CubeContainer[]>;
  find(taskId: string, attempt: number): Promise<CubeContainer | undefined>;
  listTask(taskId: string): Promise<CubeContainer[]>;
  countRunning(): Promise<number>;
  createAndStart(task: TaskRecord): Promise<{ containerId: string; adopted: boolean }>;
  start(containerId: string): Promise<void>;
  inspectExit(containerId: string): Promise<ContainerExit | undefined>;
  stop(containerId: string, timeoutSeconds?: number): Promise<void>;
  remove(containerId: string): Promise<void>;
  stopAndRemove(containerId: string, timeoutSeconds?: number): Promise<void>;
  ipAddress(containerId: string): Promise<string | undefined>;
  exec(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecResult>;
}
