// The service controller: reads a service, its slots and replica tasks, asks core's pure
// decideService what to do, and does it with conditional writes. Run on every nudge naming
// the service (apply, scale, rollback, delete, its own delayed wake-up) and on each
// reconciler sweep; any number of runs, late, twice or at once, converge on the same state:
// - the record write (rollout state, wake-up) is conditional on the version read, and a run
//   whose write loses acts on nothing (it starts over from a fresh read);
// - a replica is created with its slot's move to the next generation and a check of the
//   specVersion, in one transaction (aws/serviceStore.ts), only into a slot whose occupant is
//   gone or stopping for good (nothing undoes that), or once this run's stop of it landed:
//   a slot holds one live replica;
// - a stop applies only to the task version the decision saw.
import type { ServiceStore } from '../../aws/serviceStore.js';
import { CapacityExhaustedError, ConflictError } from '../../core/errors.js';
import { canonicalJson } from '../../core/services/canonical.js';
import {
  type ControllerDecision,
  type CreateReplica,
  decideService,
  type StopReplica,
} from '../../core/services/controller.js';
import { replicaSpec, replicaTaskId } from '../../core/services/replicas.js';
import type { ServiceEvent, ServiceRecord } from '../../core/services/types.js';
import { newTask, stopRequest } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';
import { forgetLostRoom, type Placed } from '../shared/placeInSnapshot.js';
import type { WorkerSnapshot } from '../shared/workerSnapshot.js';
import { placeReplicas } from './placeReplicas.js';

export type ServiceDeps = Pick<
  Deps,
  'config' | 'tasks' | 'queues' | 'workers' | 'placementSigner'
> & {
  services: ServiceStore;
};

export interface ControllerRun {
  name: string;
  outcome: 'gone' | 'unchanged' | 'acted' | 'deleted' | 'busy';
  created: number;
  stopped: number;
}

/** A pending wake-up later than the one wanted by more than this is brought forward. */
const WAKE_SLACK_MS = 500;
const MAX_PASSES = 4;

export async function runServiceController(
  deps: ServiceDeps,
  name: string,
  clock: () => Date = () => new Date(),
): Promise<ControllerRun> {
  const run: ControllerRun = { name, outcome: 'unchanged', created: 0, stopped: 0 };
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const { record, slots } = await deps.services.load(name);
    if (!record) return { ...run, outcome: run.outcome === 'acted' ? 'acted' : 'gone' };
    const views = await deps.services.withTasks(slots);
    const now = clock();
    const decision = decideService(record, views, now, { pollMs: deps.config.servicePollMs });
    const events = decision.events.map(
      (e): ServiceEvent => ({ service: name, at: now.toISOString(), by: 'controller', ...e }),
    );
    try {
      if (decision.deleted) {
        await deps.services.remove(record, events);
        return { ...run, outcome: 'deleted' };
      }
      if (decision.rollbackTo !== undefined) {
        await rollBack(deps, record, decision, events, now);
        run.outcome = 'acted';
        continue; // the previous revision is the target now: decide again
      }
      const after = nextRecord(record, decision, now);
      const acting = decision.creates.length > 0 || decision.stops.length > 0;
      if (!after && !acting && events.length === 0) return run;
      const written = after ?? {
        ...record,
        version: record.version + 1,
        updatedAt: now.toISOString(),
      };
      // The claim: only the run whose write lands acts on what it read.
      await deps.services.put(record, written, { events });
      run.outcome = 'acted';
      // Stops and creates at once; a create into a slot this run stops waits for that stop.
      const seen = new Map(views.flatMap((s) => (s.task ? [[s.task.id, s.task] as const] : [])));
      const stops = new Map(
        decision.stops.map(
          (stop) => [stop.taskId, retireReplica(deps, name, stop, seen.get(stop.taskId))] as const,
        ),
      );
      const replicas = decision.creates.map((create) => newReplica(written, create, now));
      const { placed, snapshot } = await placeReplicas(
        deps,
        written,
        views,
        replicas.map((r) => r.task),
      );
      const [stopped, created] = await Promise.all([
        Promise.all(stops.values()),
        Promise.all(
          decision.creates.map(async (create, i) => {
            if (create.afterStop && !(await stops.get(create.afterStop))) return false;
            return createReplica(deps, written, create, replicas[i]!, placed[i], snapshot);
          }),
        ),
        Promise.all(
          decision.prunes.map((p) => deps.services.pruneDraining(name, p.slot, p.gen, p.draining)),
        ),
      ]);
      // Stop messages after the run messages: a worker that receives a stop alone waits out its
      // receive window before receiving again, which would hold a replacement's run behind it.
      await Promise.all(stopped.map((task) => task && tellWorkerToStop(deps, name, task)));
      run.stopped += stopped.filter(Boolean).length;
      run.created += created.filter(Boolean).length;
      if (written.wakeAt && written.wakeAt !== record.wakeAt) {
        const delayMs = Date.parse(written.wakeAt) - now.getTime();
        await deps.queues.sendSchedule({ kind: 'service', name }, delayMs / 1000);
      }
      return run;
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      // Someone else wrote first: look again with what they wrote.
    }
  }
  return { ...run, outcome: run.outcome === 'acted' ? 'acted' : 'busy' };
}

/** The record after the decision, or undefined when nothing in it changes. */
function nextRecord(
  record: ServiceRecord,
  decision: ControllerDecision,
  now: Date,
): ServiceRecord | undefined {
  const t = now.getTime();
  const wanted = decision.wakeAt ? Date.parse(decision.wakeAt) : undefined;
  const pending = record.wakeAt ? Date.parse(record.wakeAt) : undefined;
  const rearm =
    wanted !== undefined &&
    (pending === undefined || pending <= t || pending > wanted + WAKE_SLACK_MS);
  const rolloutChanged = canonicalJson(decision.rollout) !== canonicalJson(record.rollout);
  const stableChanged =
    decision.stableRevision !== undefined && decision.stableRevision !== record.stableRevision;
  if (!rearm && !rolloutChanged && !stableChanged) return undefined;
  return {
    ...record,
    rollout: decision.rollout,
    ...(stableChanged ? { stableRevision: decision.stableRevision } : {}),
    ...(rearm ? { wakeAt: decision.wakeAt } : {}),
    version: record.version + 1,
    updatedAt: now.toISOString(),
  };
}

async function rollBack(
  deps: ServiceDeps,
  record: ServiceRecord,
  decision: ControllerDecision,
  events: ServiceEvent[],
  now: Date,
): Promise<void> {
  const target = decision.rollbackTo!;
  const revision = await deps.services.revision(record.name, target);
  const at = now.toISOString();
  if (!revision) {
    const reason = `${decision.rollout.reason}; revision ${target} is no longer kept, so nothing rolls back`;
    await deps.services.put(
      record,
      {
        ...record,
        rollout: { ...record.rollout, state: 'failed', reason },
        version: record.version + 1,
        updatedAt: at,
      },
      { events: [{ ...events[0]!, reason }] },
    );
    return;
  }
  await deps.services.put(
    record,
    {
      ...record,
      revision: target,
      task: revision.task,
      rollout: decision.rollout,
      specVersion: record.specVersion + 1,
      version: record.version + 1,
      updatedAt: at,
    },
    { events },
  );
}

/** The replica's task record (PENDING) and first event. */
function newReplica(record: ServiceRecord, create: CreateReplica, now: Date) {
  const id = replicaTaskId(record, create.slot, create.gen);
  const spec = replicaSpec(record.task, record.name, create.slot);
  const { task, event } = newTask(id, spec, `service:${record.name}`, now);
  task.service = record.name;
  task.serviceRevision = create.revision;
  task.serviceSlot = create.slot;
  task.serviceHealthyAfterMs = record.update.minHealthyTime * 1000;
  event.reason = `replica ${create.slot} of service ${record.name}, revision ${create.revision}`;
  return { task, event };
}

/**
 * Creates one replica, placed when `placed` says where (else PENDING with a schedule nudge);
 * false when its slot was taken or the spec changed first.
 */
async function createReplica(
  deps: ServiceDeps,
  record: ServiceRecord,
  create: CreateReplica,
  { task, event }: ReturnType<typeof newReplica>,
  placed: Placed | undefined,
  snapshot: WorkerSnapshot | undefined,
): Promise<boolean> {
  const slot = {
    slot: create.slot,
    gen: create.gen,
    taskId: task.id,
    revision: create.revision,
    failures: create.failures,
    ...(create.draining.length > 0 ? { draining: create.draining } : {}),
  };
  try {
    await deps.services.createReplica(record, slot, task, event, placed?.transition);
  } catch (error) {
    if (error instanceof CapacityExhaustedError && placed) {
      // The room went: the scheduler decides with fresh figures.
      if (snapshot) await forgetLostRoom(deps, snapshot, error.workerId);
      return createReplica(deps, record, create, { task, event }, undefined, undefined);
    }
    if (error instanceof ConflictError || error instanceof CapacityExhaustedError) return false;
    throw error;
  }
  if (placed) {
    // A lost run message is re-sent by the reconciler (SCHEDULED past scheduledResendMs).
    await deps.queues
      .sendTaskToWorker(placed.queueUrl, 'run', placed.transition.after)
      .catch((error: Error) =>
        console.error(`service ${record.name}: no run message for ${task.id}: ${error.message}`),
      );
    return true;
  }
  // A lost nudge is made good by the reconciler, which nudges PENDING tasks.
  await deps.queues.sendSchedule({ kind: 'schedule', taskId: task.id, attempt: task.attempt });
  return true;
}

/**
 * Stops a replica gracefully if it is still as the decision saw it (the record the run read,
 * at the version the decision names): the record after the stop, or undefined.
 */
async function retireReplica(
  deps: ServiceDeps,
  service: string,
  stop: StopReplica,
  seen: TaskRecord | undefined,
): Promise<TaskRecord | undefined> {
  const task = seen?.version === stop.version ? seen : await deps.tasks.get(stop.taskId);
  if (!task || task.version !== stop.version) return undefined;
  const request = stopRequest(task, `service:${service}`);
  if (!request) return undefined;
  request.reason = stop.reason;
  try {
    return await deps.tasks.transition(task, request);
  } catch (error) {
    if (error instanceof ConflictError) return undefined;
    throw error;
  }
}

/** The stop message to the worker of a replica now STOPPING (the reconciler resends a lost one). */
async function tellWorkerToStop(deps: ServiceDeps, service: string, stopped: TaskRecord) {
  if (stopped.state !== 'STOPPING' || !stopped.workerId) return;
  const queueUrl = await deps.queues.workerQueueUrl(stopped.workerId);
  await deps.queues
    .sendTaskToWorker(queueUrl, 'stop', stopped)
    .catch((error: Error) =>
      console.error(`service ${service}: no stop message for ${stopped.id}: ${error.message}`),
    );
}

/** Runs the controller on every service (the reconciler's sweep). */
export async function sweepServices(deps: ServiceDeps): Promise<number> {
  let acted = 0;
  for (const service of await deps.services.list()) {
    try {
      const run = await runServiceController(deps, service.name);
      if (run.created + run.stopped > 0 || run.outcome === 'deleted') acted++;
    } catch (error) {
      console.error(`service ${service.name}: controller failed: ${(error as Error).message}`);
    }
  }
  return acted;
}
