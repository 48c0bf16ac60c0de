// `limit` and `nextToken`, the query parameters of every paginated listing.
import { z } from 'zod';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export const PageQuery = z.strictObject({
  limit: z
    .string()
    .regex(/^\d{1,4}$/, `must be a whole number from 1 to ${MAX_PAGE_LIMIT}`)
    .refine((text) => Number(text) >= 1 && Number(text) <= MAX_PAGE_LIMIT, {
      message: `must be a whole number from 1 to ${MAX_PAGE_LIMIT}`,
    })
    .optional(),
  nextToken: z
    .string()
    .max(4096)
    .regex(/^[A-Za-z0-9_-]+$/, 'must be the nextToken of an earlier answer')
    .optional(),
});

export const pageLimit = (text: string | undefined) =>
  text === undefined ? DEFAULT_PAGE_LIMIT : Number(text);
