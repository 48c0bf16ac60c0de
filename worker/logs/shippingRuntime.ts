// The engine as the task handlers see it, with log shipping hooked to a container's life in
// one place: shipping starts when a container starts (or is listed running: a restarted
// worker adopting it), and a container's end is reported (inspectExit) and its removal done
// only once its output is read and put, bounded by SETTLE_TIMEOUT_MS. So a task's final
// state is written with its logs in place, and nothing it printed goes with its container.
import type { TaskRecord } from '../../core/types.js';
import type { ContainerRuntime } from '../engine/containerRuntime.js';
import type { LogShipping } from './logShipping.js';

export class ShippingRuntime implements ContainerRuntime {
  constructor(
    private readonly inner: ContainerRuntime,
    private readonly shipping: LogShipping,
  ) {}

  ping(timeoutMs?: number) {
    return this.inner.ping(timeoutMs);
  }

  async listOwn() {
    const containers = await this.inner.listOwn();
    for (const c of containers) {
      if (c.state === 'running') this.shipping.follow(c.id);
    }
    return containers;
  }

  find(taskId: string, attempt: number) {
    return this.inner.find(taskId, attempt);
  }

  listTask(taskId: string) {
    return this.inner.listTask(taskId);
  }

  countRunning() {
    return this.inner.countRunning();
  }

  async createAndStart(task: TaskRecord, secretEnv?: Record<string, string>) {
    const made = await this.inner.createAndStart(task, secretEnv);
    this.shipping.follow(made.containerId, {
      taskId: task.id,
      attempt: task.attempt,
      ship: task.spec.logs !== false,
    });
    return made;
  }

  async start(containerId: string) {
    await this.inner.start(containerId);
    this.shipping.follow(containerId);
  }

  async inspectExit(containerId: string) {
    const exit = await this.inner.inspectExit(containerId);
    if (exit && !exit.running && !exit.neverStarted) await this.shipping.settle(containerId);
    return exit;
  }

  stop(containerId: string, timeoutSeconds?: number) {
    return this.inner.stop(containerId, timeoutSeconds);
  }

  async remove(containerId: string) {
    await this.shipping.settle(containerId);
    await this.inner.remove(containerId);
    this.shipping.forget(containerId);
  }

  async stopAndRemove(containerId: string, timeoutSeconds?: number) {
    await this.inner.stop(containerId, timeoutSeconds);
    await this.remove(containerId);
  }

  ipAddress(containerId: string) {
    return this.inner.ipAddress(containerId);
  }

  exec(containerId: string, cmd: string[], timeoutMs: number) {
    return this.inner.exec(containerId, cmd, timeoutMs);
  }
}
