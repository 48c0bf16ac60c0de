// AWS list prices (us-east-1) and the capacity units each counted request consumes, for the
// request-cost benchmark. Units follow from item sizes measured in the run; where a request's
// size is not known (a Query's result, say) the assumption is written next to it.
import { type Counts, total } from './requestCounts.js';

export const PRICES = {
  /** DynamoDB on-demand, per request unit. */
  wru: 0.625 / 1e6,
  rru: 0.125 / 1e6,
  sqsRequest: 0.4 / 1e6,
  apiRequest: 1.0 / 1e6,
  lambdaRequest: 0.2 / 1e6,
  /** Per GB-second (x86). */
  lambdaGbSecond: 0.0000166667,
};

/** Assumed Lambda invocation: 256 MB for 100 ms (the handlers are I/O bound). */
export const LAMBDA_DURATION_COST = 0.25 * 0.1 * PRICES.lambdaGbSecond;

export interface ItemSizes {
  /** Bytes of a task item (its JSON length approximates DynamoDB's item size). */
  task: number;
  event: number;
  worker: number;
}

const kb1 = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));
const kb4 = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096));

/** Capacity units of one request of `key`, and whether they are write or read units. */
export function unitsOf(key: string, sizes: ItemSizes): { wru: number; rru: number } {
  const op = (key.split(':')[1] ?? '').replace(/Command$/, '');
  switch (op) {
    // A transition: task + event, and the worker's allocation on placement and release
    // (2 of the 6 transitions of submit..stopped). Transactions cost 2x.
    case 'TransactWriteItems':
      return { wru: 2 * (kb1(sizes.task) + kb1(sizes.event) + kb1(sizes.worker) / 3), rru: 0 };
    case 'PutItem':
      return { wru: kb1(sizes.task), rru: 0 };
    // Heartbeats and markDown update the worker item.
    case 'UpdateItem':
      return { wru: kb1(sizes.worker), rru: 0 };
    // Strongly consistent reads of one task or worker.
    case 'GetItem':
      return { wru: 0, rru: kb4(sizes.task) };
    // GSI queries are eventually consistent: 0.5 unit per 4 KB, assumed one page.
    case 'Query':
      return { wru: 0, rru: 0.5 };
    // The whole workers table (consistent): counted per worker by the caller where it matters.
    case 'Scan':
      return { wru: 0, rru: kb4(sizes.worker) };
    default:
      return { wru: 0, rru: 0 };
  }
}

export interface CostLine {
  key: string;
  requests: number;
  dollars: number;
}

/** Dollars for a bag of counted requests. */
export function costOf(counts: Counts, sizes: ItemSizes): { lines: CostLine[]; dollars: number } {
  const lines = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, requests]) => {
      const dollars = key.startsWith('sqs:')
        ? requests * PRICES.sqsRequest
        : (() => {
            const u = unitsOf(key, sizes);
            return requests * (u.wru * PRICES.wru + u.rru * PRICES.rru);
          })();
      return { key, requests, dollars };
    });
  return { lines, dollars: lines.reduce((s, l) => s + l.dollars, 0) };
}

/**
 * API Gateway + Lambda per task: submit and stop through the API, plus the scheduler's
 * invocations per task (about 0 when the API places tasks on submit; 1 when every task goes
 * through the scheduling queue; a batch of several nudges is one invocation).
 */
export function perTaskServerless(schedulerInvocations: number): { api: number; lambda: number } {
  const apiRequests = 2;
  const invocations = apiRequests + schedulerInvocations;
  return {
    api: apiRequests * PRICES.apiRequest,
    lambda: invocations * (PRICES.lambdaRequest + LAMBDA_DURATION_COST),
  };
}

export const fmt$ = (x: number) => `$${x < 10 ? x.toFixed(2) : x.toFixed(0)}`;

export function table(title: string, counts: Counts, sizes: ItemSizes, multiplier: number) {
  const { lines, dollars } = costOf(counts, sizes);
  const rows = lines.map(
    (l) =>
      `  ${l.key.replace(/Command$/, '').padEnd(28)} ${l.requests.toFixed(2).padStart(9)}   ${fmt$(l.dollars * multiplier).padStart(9)}`,
  );
  return [
    title,
    `  ${'request'.padEnd(28)} ${'count'.padStart(9)}   ${'cost'.padStart(9)}`,
    ...rows,
    `  ${'total'.padEnd(28)} ${total(counts).toFixed(2).padStart(9)}   ${fmt$(dollars * multiplier).padStart(9)}`,
  ].join('\n');
}
