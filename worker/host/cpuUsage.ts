// The host's CPU busy share between two samples, from the kernel's per-CPU counters that
// node:os reads in-process. systeminformation's currentLoad forks `cat /proc/stat | grep cpu`
// synchronously on every call (for steal and guest figures Cube does not use): in the ten
// workers' CPU profiles during a bench:throughput run, 8.9 % of their time once started went
// to waiting on it, the event loop blocked, besides three processes forked per sample.
import { cpus } from 'node:os';

interface Counters {
  busy: number;
  total: number;
  cores: number;
}

function counters(): Counters {
  let busy = 0;
  let total = 0;
  const list = cpus();
  for (const { times } of list) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total, cores: list.length };
}

export class CpuUsage {
  private last = counters();
  /** Until two samples are apart: the average since boot. */
  private usage = this.last.total > 0 ? this.last.busy / this.last.total : 0;

  /** Cores, and the share of them busy since the previous sample (0..1). */
  sample(): { cores: number; usage: number } {
    const now = counters();
    const total = now.total - this.last.total;
    if (total > 0) {
      this.usage = Math.min(1, Math.max(0, (now.busy - this.last.busy) / total));
      this.last = now;
    }
    return { cores: now.cores, usage: this.usage };
  }
}
