// Pages of a listing: `limit` and an opaque `nextToken` (base64url JSON of where the next page
// starts), and the filter that hides items past their TTL, which DynamoDB deletes only hours or
// days later.
import { z } from 'zod';
import { ValidationError } from '../core/errors.js';
import { TTL_ATTRIBUTE } from '../core/history/retention.js';

export function encodeToken(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A 400 for a token this listing did not give (or gave for another query). */
export const foreignToken = () =>
  new ValidationError('nextToken', 'must be the nextToken of an earlier answer');

/** The token's content, checked against `schema`; a 400 naming `nextToken` otherwise. */
export function decodeToken<T>(token: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw foreignToken();
  return parsed.data;
}

/** A key attribute of a start key: a string (the store's ids and times are short). */
export const KeyText = z.string().min(1).max(1024);

/** A FilterExpression part that keeps items not past their TTL. */
export function notPurged(now = new Date()) {
  return {
    expression: '(attribute_not_exists(#purgeAt) OR #purgeAt > :nowSeconds)',
    names: { '#purgeAt': TTL_ATTRIBUTE },
    values: { ':nowSeconds': Math.floor(now.getTime() / 1000) },
  };
}

/** The key attributes of an item (to start the next page right after it). */
export function keyOf(item: Record<string, unknown>, attributes: readonly string[]) {
  const key: Record<string, unknown> = {};
  for (const name of attributes) if (item[name] !== undefined) key[name] = item[name];
  return key;
}
