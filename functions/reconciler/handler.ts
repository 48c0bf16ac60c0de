// The reconciler function (on a schedule): repairs what lost messages and dead processes
// left behind. Every repair is a version-checked transition, so running it twice, or beside
// the scheduler and workers, is safe.
import middy from '@middy/core';
import { sweepServices } from '../services/controller.js';
import { getDeps } from '../shared/deps.js';
import { reconcile } from './reconcile.js';

const sweeps = Math.max(1, Number(process.env.CUBE_RECONCILER_SWEEPS) || 1);
const sweepIntervalMs = Math.max(
  1000,
  Number(process.env.CUBE_RECONCILER_SWEEP_INTERVAL_MS) || 10_000,
);

/**
 * Tasks (and services) are read at most this often: their repairs (resends after 20 s, nudges
 * after 5 s, restarts after their backoff) gain little from more. The sweeps between read the
 * workers only, and go on to the tasks at once when a worker was found DOWN holding some. A
 * timer's drift is forgiven (a 3-s tick must not skip every other task sweep).
 */
const TASK_SWEEP_MS = 3_000;
const TICK_DRIFT_MS = 250;
let lastTaskSweep = Number.NEGATIVE_INFINITY;

/** Since when sweeps have succeeded without a break (module state survives warm invocations). */
let healthySince: number | undefined;

async function sweep() {
  const deps = getDeps();
  const now = new Date();
  try {
    healthySince ??= now.getTime();
    const mayMarkDown = now.getTime() - healthySince >= deps.config.heartbeatTtlMs;
    const tasksToo = now.getTime() - lastTaskSweep >= TASK_SWEEP_MS - TICK_DRIFT_MS;
    const report = await reconcile(deps, { now, mayMarkDown, workersOnly: !tasksToo });
    if (tasksToo) lastTaskSweep = now.getTime();
    // Services after tasks: a replica the sweep just found lost is replaced in the same sweep.
    const services = tasksToo || report.tasksLost > 0;
    return { ...report, servicesActedOn: services ? await sweepServices(deps) : 0 };
  } catch (error) {
    healthySince = undefined;
    throw error;
  }
}

// EventBridge fires at most once a minute; in AWS one invocation sweeps several times
// (CUBE_RECONCILER_SWEEPS) so a lost worker is noticed within seconds, not a minute.
export const handler = middy().handler(async () => {
  const reports = [];
  for (let i = 0; i < sweeps; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, sweepIntervalMs));
    const report = await sweep();
    if (Object.values(report).some((n) => n > 0))
      console.log(`reconciler: ${JSON.stringify(report)}`);
    reports.push(report);
  }
  return reports;
});
