// Every failure reaches the user as one `cube: <message>` line on stderr, never a stack
// (set CUBE_DEBUG=1 to see one). Exit codes: 2 for a misused command line, 1 otherwise.
import { UsageError } from 'clipanion';
import { ApiError } from './apiClient.js';
import { terminalSafe } from './format.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

interface Writable {
  write(chunk: string): unknown;
}

export function reportError(error: unknown, stderr: Writable, env = process.env): number {
  // An API message may quote what a user sent.
  const message = terminalSafe(error instanceof Error ? error.message : String(error));
  if (error instanceof ApiError) {
    stderr.write(`cube: ${message} (HTTP ${error.status})\n`);
  } else {
    stderr.write(`cube: ${message}\n`);
  }
  if (env.CUBE_DEBUG && error instanceof Error && error.stack) stderr.write(`${error.stack}\n`);
  return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
}
