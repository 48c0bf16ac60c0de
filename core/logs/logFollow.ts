// When a reader of an attempt's output has everything: the rules `cube logs -f` stops by,
// decided on the task record read before the output (the worker ships an attempt's last
// lines before it records the attempt's end, so what is read after an ended record is all).
import { TERMINAL_STATES } from '../taskStateMachine.js';
import type { TaskRecord } from '../types.js';

/** No more output will come for this attempt: it ended, or a later attempt replaced it. */
export function attemptEnded(
  task: Pick<TaskRecord, 'state' | 'attempt'>,
  attempt: number,
): boolean {
  if (attempt < task.attempt) return true;
  return TERMINAL_STATES.has(task.state) || task.state === 'LOST';
}

/** Nothing more will run: the task rests in an end with no restart planned. */
export function taskOver(task: Pick<TaskRecord, 'state' | 'restart'>): boolean {
  return TERMINAL_STATES.has(task.state) && task.restart === undefined;
}
