// The base of every command that talks to the API: settings, client, output helpers, and
// the one place where errors become a `cube: ...` line and an exit code.
import { Command } from 'clipanion';
import { ApiClient } from './apiClient.js';
import { type CubeConfig, readConfig } from './config.js';
import { reportError } from './errors.js';
import { safeJson, terminalSafe } from './format.js';

export abstract class CubeCommand extends Command {
  protected abstract run(): Promise<number>;

  async execute(): Promise<number> {
    try {
      return await this.run();
    } catch (error) {
      return reportError(error, this.context.stderr);
    }
  }

  protected client(overrides: Partial<CubeConfig> = {}): ApiClient {
    return new ApiClient(readConfig(overrides));
  }

  // Every line a command writes passes here (or through formatTable, progress, reportError),
  // so text from containers and users reaches the terminal with its controls made visible.
  protected print(text: string): void {
    const safe = terminalSafe(text);
    this.context.stdout.write(safe.endsWith('\n') ? safe : `${safe}\n`);
  }

  protected printJson(value: unknown): void {
    this.context.stdout.write(`${safeJson(value)}\n`);
  }

  protected warn(text: string): void {
    this.context.stderr.write(`${terminalSafe(text)}\n`);
  }

  /** The terminal stream progress spinners draw on. */
  protected get progressStream(): NodeJS.WriteStream {
    return this.context.stderr as NodeJS.WriteStream;
  }
}

/** Worker id -> name, for showing names instead of ids; empty if the listing fails. */
export async function workerNames(client: ApiClient): Promise<Map<string, string>> {
  try {
    return new Map((await client.listNodes()).map((w) => [w.id, w.name]));
  } catch {
    return new Map();
  }
}
