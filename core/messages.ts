// SQS message bodies. A message is only a nudge naming a task and attempt: the receiver
// re-reads the task record and acts only if the record still says so.
import { z } from 'zod';

export const ScheduleMessage = z.strictObject({
  kind: z.literal('schedule'),
  taskId: z.string().min(1).max(64),
  attempt: z.number().int().min(1),
});
export type ScheduleMessage = z.infer<typeof ScheduleMessage>;

export const WorkerMessage = z.strictObject({
  kind: z.enum(['run', 'stop']),
  taskId: z.string().min(1).max(64),
  attempt: z.number().int().min(1),
});
export type WorkerMessage = z.infer<typeof WorkerMessage>;

export class MalformedMessageError extends Error {
  override name = 'MalformedMessageError';
}

function parseWith<T>(schema: z.ZodType<T>, body: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch {
    throw new MalformedMessageError('message body is not JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new MalformedMessageError(`malformed message: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

export const parseScheduleMessage = (body: string): ScheduleMessage =>
  parseWith(ScheduleMessage, body);
export const parseWorkerMessage = (body: string): WorkerMessage => parseWith(WorkerMessage, body);
