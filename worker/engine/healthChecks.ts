// One health probe of a running task: an HTTP GET (2xx is healthy) or a command exec'd in the
// container (exit 0 is healthy). The worker reaches an HTTP check on loopback for host
// networking and on the container's IP on a bridge; a container without a network is probed
// from inside, with the image's wget.
import type { HealthCheckSpec, TaskRecord } from '../../core/types.js';
import type { DockerRuntime } from './dockerRuntime.js';

export interface ProbeResult {
  ok: boolean;
  /** The output or error, trimmed, for `cube inspect`. */
  output: string;
}

const MAX_OUTPUT = 200;
const trim = (text: string) => text.trim().slice(0, MAX_OUTPUT);

export async function probe(
  runtime: Pick<DockerRuntime, 'exec' | 'ipAddress'>,
  task: Pick<TaskRecord, 'spec'>,
  containerId: string,
  check: HealthCheckSpec,
): Promise<ProbeResult> {
  const timeoutMs = check.timeoutSeconds * 1000;
  try {
    if (check.command) return await execProbe(runtime, containerId, check.command, timeoutMs);
    if (!check.http) return { ok: false, output: 'no probe configured' };
    const { port, path } = check.http;
    if (task.spec.network === 'none') {
      const url = `http://127.0.0.1:${port}${path}`;
      const wait = String(Math.max(1, Math.ceil(check.timeoutSeconds)));
      return await execProbe(
        runtime,
        containerId,
        ['wget', '-q', '-T', wait, '-O', '/dev/null', url],
        timeoutMs,
      );
    }
    // The container's own address: never one a spec names (a 400 at submit).
    const host = task.spec.network === 'host' ? '127.0.0.1' : await runtime.ipAddress(containerId);
    if (!host) return { ok: false, output: 'the container has no IP address to probe' };
    return await httpProbe(
      `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`,
      timeoutMs,
    );
  } catch (error) {
    return { ok: false, output: trim(describeError(error)) };
  }
}

async function httpProbe(url: string, timeoutMs: number): Promise<ProbeResult> {
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
  } catch (error) {
    return { ok: false, output: trim(`GET ${url}: ${describeError(error)}`) };
  }
  await response.body?.cancel().catch(() => {});
  const ok = response.status >= 200 && response.status < 300;
  return { ok, output: `GET ${url}: HTTP ${response.status}` };
}

async function execProbe(
  runtime: Pick<DockerRuntime, 'exec'>,
  containerId: string,
  cmd: string[],
  timeoutMs: number,
): Promise<ProbeResult> {
  const result = await runtime.exec(containerId, cmd, timeoutMs);
  if (result.exitCode === undefined) {
    return { ok: false, output: trim(`timed out after ${timeoutMs / 1000} s ${result.output}`) };
  }
  const output = trim(result.output) || `exit code ${result.exitCode}`;
  return { ok: result.exitCode === 0, output };
}

function describeError(error: unknown): string {
  const e = error as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError') return 'timed out';
  return e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(error);
}
