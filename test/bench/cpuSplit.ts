// bench:throughput's deployment-shaped layout: the machine's CPUs split in two with CPU
// affinity (taskset), as Cube is deployed. The "host" CPUs hold what runs on a worker host:
// the engine (dockerd, containerd and every shim and runc they start, which inherit it) and
// the worker daemons. The "cloud" CPUs hold what a deployment runs elsewhere: the emulator
// standing in for DynamoDB and SQS, `cube up`'s API and functions (Lambda), and the bench
// itself as the user's client. The raw run gets the same host CPUs, so the ratio says what
// Cube leaves of the engine's own rate on a host, not what a co-located control plane takes.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus, getPriority, setPriority } from 'node:os';

export interface CpuSplit {
  /** taskset lists, e.g. "0" and "1" on two CPUs. */
  host: string;
  cloud: string;
}

// The machine's CPUs, not this process's share: availableParallelism() follows the affinity
// this module sets.
const machineCpus = () => cpus().length;

/** Half the CPUs (rounded up) for the host, the rest for the cloud; none on one CPU. */
export function splitCpus(count = machineCpus()): CpuSplit | undefined {
  if (count < 2) return undefined;
  const hostCount = Math.ceil(count / 2);
  const list = (from: number, to: number) => (from === to ? `${from}` : `${from}-${to}`);
  return { host: list(0, hostCount - 1), cloud: list(hostCount, count - 1) };
}

export const allCpus = (count = machineCpus()) => `0-${count - 1}`;

/** Sets the CPU affinity of every thread of a process (children inherit it). */
export function setAffinity(pid: number, list: string): void {
  // taskset -a succeeds silently for a pid that does not exist (no threads to move).
  if (!existsSync(`/proc/${pid}`)) throw new Error(`process ${pid} does not exist`);
  try {
    execFileSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'taskset (util-linux) is not installed: install it or run with --cpus shared'
        : `could not set the CPU affinity of process ${pid} to ${list}: ${(error as Error).message}`,
    );
  }
}

/** dockerd, containerd and the running shims: the engine's long-lived processes. */
export function engineProcesses(): { pid: number; comm: string }[] {
  const found: { pid: number; comm: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let comm: string;
    try {
      comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
    } catch {
      continue; // gone meanwhile
    }
    if (comm === 'dockerd' || comm === 'containerd' || comm.startsWith('containerd-shim')) {
      found.push({ pid: Number(entry), comm });
    }
  }
  return found;
}

/**
 * Puts the engine on the CPUs listed; returns how many processes were moved. dockerd and
 * containerd first: they start the rest. A shim that exits meanwhile is skipped.
 */
export function pinEngine(list: string): number {
  const engine = engineProcesses();
  if (!engine.some((p) => p.comm === 'dockerd')) {
    throw new Error('no dockerd process found to pin: is the engine local?');
  }
  let moved = 0;
  for (const { pid, comm } of engine.sort((a, b) => a.comm.length - b.comm.length)) {
    try {
      setAffinity(pid, list);
      moved++;
    } catch (error) {
      if (!comm.startsWith('containerd-shim')) throw error;
    }
  }
  return moved;
}

/**
 * The worker daemons' CPU weight on the host CPUs. A host runs the worker as its systemd
 * service: a cgroup of its own, weighed against docker.service and containerd.service as a
 * whole. Here every process shares one cgroup, where each of the engine's dozens of runnable
 * start-up processes (runc, its hooks) weighs as much as a worker: seen, workers went 10 s
 * without a heartbeat and were taken for lost. Nice -5 gives a worker about three of them.
 */
export const WORKER_NICE = -5;

/**
 * Runs `fn` (which spawns processes) with this process on `list` and, if given, at `nice`;
 * then puts it on `back` at its own nice again. Children inherit both.
 */
export function spawnedOn<T>(list: string, back: string, fn: () => T, nice?: number): T {
  const ownNice = getPriority();
  setAffinity(process.pid, list);
  // The calling thread's priority, which a child forked from it takes.
  if (nice !== undefined) setPriority(nice);
  try {
    return fn();
  } finally {
    if (nice !== undefined) setPriority(ownNice);
    setAffinity(process.pid, back);
  }
}

/**
 * Puts this bench on the cloud CPUs and the engine on the host's until the process exits,
 * whatever way it ends (normal end, error, SIGINT/SIGTERM); returns the engine processes moved.
 */
export function benchOnSplit(split: CpuSplit, bench: string): number {
  setAffinity(process.pid, split.cloud);
  const moved = pinEngine(split.host);
  process.once('exit', () => {
    try {
      pinEngine(allCpus());
    } catch (error) {
      process.stderr.write(`${bench}: the engine keeps CPUs ${split.host}: ${error}\n`);
    }
  });
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  return moved;
}
