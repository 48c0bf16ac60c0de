// `limit` and `nextToken`, the query parameters of every paginated listing.
import { z } from 'zod';
import { fromAnswer, wholeText } from '../../core/schemaRules.js';

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export const PageQuery = z.strictObject({
  limit: wholeText(1, MAX_PAGE_LIMIT)
    .meta({ description: `Items per page (default ${DEFAULT_PAGE_LIMIT})` })
    .optional(),
  nextToken: fromAnswer(
    z
      .string()
      .max(4096)
      .regex(/^[A-Za-z0-9_-]+$/, 'must be the nextToken of an earlier answer'),
    'nextToken',
    'The nextToken of an earlier answer to the same query: the page after it',
  ).optional(),
});

export const pageLimit = (text: string | undefined) =>
  text === undefined ? DEFAULT_PAGE_LIMIT : Number(text);
