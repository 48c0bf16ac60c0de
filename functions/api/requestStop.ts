// A stop of one task, as `cube stop` asks it and as a service controller stopping a replica
// would: core's stopRequest says what the stop does in the task's state (it wins over any
// planned restart, reschedule or drain); a placed task's worker is sent a stop message.
import { ConflictError } from '../../core/errors.js';
import { stopRequest } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';
import type { Deps } from '../shared/deps.js';

type StopDeps = Pick<Deps, 'tasks' | 'queues'>;

/** Stops the task and returns its record: STOPPED, STOPPING, or as it was if nothing is left. */
export async function requestStop(deps: StopDeps, id: string, by: string): Promise<TaskRecord> {
  for (let tries = 0; tries < 5; tries++) {
    const task = await deps.tasks.require(id);
    const request = stopRequest(task, by);
    let stopped = task;
    try {
      if (request) stopped = await deps.tasks.transition(task, request);
    } catch (error) {
      if (!(error instanceof ConflictError)) throw error;
      continue;
    }
    // STOPPING (just now or already): the worker is told, or told again.
    if (stopped.state === 'STOPPING' && stopped.workerId) {
      // The queue URL follows from the worker id (no read of its record). A worker gone
      // with its queue is the reconciler's to settle (its tasks end STOPPED).
      const queueUrl = await deps.queues.workerQueueUrl(stopped.workerId);
      await deps.queues
        .sendTaskToWorker(queueUrl, 'stop', stopped)
        .catch((error: Error) =>
          console.error(`stop ${id}: no stop message sent: ${error.message}`),
        );
    }
    return stopped;
  }
  throw new ConflictError(`task ${id} kept changing while stopping it`);
}
