// A container runtime that only pretends: containers are entries in a map that "run" until
// stopped. For the 2,000-worker scale benchmark (no Docker); never used by the daemon.
import type { TaskRecord } from '../../core/types.js';
import type {
  ContainerExit,
  ContainerRuntime,
  CubeContainer,
  ExecResult,
} from './containerRuntime.js';

export class SimulatedRuntime implements ContainerRuntime {
  private readonly containers = new Map<string, CubeContainer>();
  private next = 0;

  constructor(readonly workerId: string) {}

  async ping(): Promise<void> {}

  async listOwn(): Promise<CubeContainer[]> {
    return [...this.containers.values()].map((c) => ({ ...c }));
  }

  async find(taskId: string, attempt: number): Promise<CubeContainer | undefined> {
    return (await this.listOwn()).find((c) => c.taskId === taskId && c.attempt === attempt);
  }

  async listTask(taskId: string): Promise<CubeContainer[]> {
    return (await this.listOwn()).filter((c) => c.taskId === taskId);
  }

  async countRunning(): Promise<number> {
    return (await this.listOwn()).filter((c) => c.state === 'running').length;
  }

  async createAndStart(task: TaskRecord): Promise<{ containerId: string; adopted: boolean }> {
    const existing = await this.find(task.id, task.attempt);
    if (existing) return { containerId: existing.id, adopted: true };
    const id = `${this.workerId}-${++this.next}`;
    this.containers.set(id, { id, taskId: task.id, attempt: task.attempt, state: 'running' });
    return { containerId: id, adopted: false };
  }

  async start(containerId: string): Promise<void> {
    const c = this.containers.get(containerId);
    if (c && c.state === 'created') c.state = 'running';
  }

  async inspectExit(containerId: string): Promise<ContainerExit | undefined> {
    const c = this.containers.get(containerId);
    if (!c) return undefined;
    return {
      running: c.state === 'running',
      neverStarted: c.state === 'created',
      exitCode: c.state === 'running' ? 0 : 137,
      oomKilled: false,
    };
  }

  async stop(containerId: string): Promise<void> {
    const c = this.containers.get(containerId);
    if (c) c.state = 'exited';
  }

  async remove(containerId: string): Promise<void> {
    this.containers.delete(containerId);
  }

  async stopAndRemove(containerId: string): Promise<void> {
    this.containers.delete(containerId);
  }

  async ipAddress(): Promise<string | undefined> {
    return '127.0.0.1';
  }

  async exec(): Promise<ExecResult> {
    return { exitCode: 0, output: '' };
  }
}
