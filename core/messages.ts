// SQS message bodies. A message is only a nudge naming a task and attempt: the receiver
// re-reads the task record and acts only if the record still says so.
import { z } from 'zod';
import type { TaskRecord } from './types.js';

export const ScheduleMessage = z.strictObject({
  kind: z.literal('schedule'),
  taskId: z.string().min(1).max(64),
  attempt: z.number().int().min(1),
});
export type ScheduleMessage = z.infer<typeof ScheduleMessage>;

/** Nudges the service controller to look at one service (apply, scale, rollback, delete, wake). */
export const ServiceMessage = z.strictObject({
  kind: z.literal('service'),
  name: z.string().min(1).max(64),
});
export type ServiceMessage = z.infer<typeof ServiceMessage>;

/** What the scheduling queue carries: placement nudges and service controller nudges. */
export const SchedulingMessage = z.discriminatedUnion('kind', [ScheduleMessage, ServiceMessage]);
export type SchedulingMessage = z.infer<typeof SchedulingMessage>;

export const WorkerMessage = z.strictObject({
  kind: z.enum(['run', 'stop']),
  taskId: z.string().min(1).max(64),
  attempt: z.number().int().min(1),
});
export type WorkerMessage = z.infer<typeof WorkerMessage>;

/**
 * A worker message may carry, as this message attribute, the task record its sender has just
 * written (JSON). The worker uses it only through a write conditional on that record's
 * version, which proves it is still the record; any conflict makes it read the record.
 * An attribute, not the body: workers that do not ask for it still get a valid nudge.
 */
export const RECORD_ATTRIBUTE = 'cube-record';

/** Records above this go without the attribute (SQS takes 256 KiB per message). */
export const MAX_RECORD_ATTRIBUTE_BYTES = 200 * 1024;

const RecordShape = z.looseObject({
  id: z.string().min(1),
  version: z.number().int().min(1),
  attempt: z.number().int().min(1),
  state: z.string(),
  spec: z.looseObject({}),
});

/** A worker message with the sender's copy of the record, when it came with one. */
export type ReceivedWorkerMessage = WorkerMessage & { record?: TaskRecord };

/**
 * The record carried with a message, if it is one for the task and attempt the message names;
 * anything else (absent, not JSON, another task) is ignored and the record is read instead.
 */
export function recordFromAttribute(
  message: WorkerMessage,
  value: string | undefined,
): TaskRecord | undefined {
  if (!value) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch {
    return undefined;
  }
  const parsed = RecordShape.safeParse(raw);
  if (!parsed.success) return undefined;
  const record = parsed.data as unknown as TaskRecord;
  return record.id === message.taskId && record.attempt === message.attempt ? record : undefined;
}

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
export const parseSchedulingMessage = (body: string): SchedulingMessage =>
  parseWith(SchedulingMessage, body);
export const parseWorkerMessage = (body: string): WorkerMessage => parseWith(WorkerMessage, body);
