// Human formatting of times, resources and task states for the CLI's views, and the one rule
// for text that came from containers or users (names, labels, reasons, health output, API
// messages) before it reaches a terminal: no control characters.
import { formatRestartPolicy } from '../core/taskSpec.js';
import type { Resources, TaskRecord, TaskState, WorkerRecord } from '../core/types.js';
import { formatCpu, formatSize } from '../core/units.js';

/** States after which a task does nothing more by itself (FAILED may still be retried). */
export const FINISHED_STATES: readonly TaskState[] = ['COMPLETED', 'FAILED', 'STOPPED', 'LOST'];
/** What `cube ps` shows without --all. */
export const ACTIVE_STATES: readonly TaskState[] = [
  'PENDING',
  'SCHEDULED',
  'STARTING',
  'RUNNING',
  'STOPPING',
];

// C0 controls (ESC starts the sequences that move the cursor, retitle the window, rewrite the
// clipboard), DEL, C1 controls (U+009B is a one-character CSI on some terminals), and the
// bidirectional overrides that make a line read other than it is.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_BUT_LINES =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\u001b': '\\e' };

/** `\e`, `\x07`, `\u202e`: a control character made visible instead of obeyed. */
function visible(char: string): string {
  const named = NAMED[char];
  if (named) return named;
  const code = char.charCodeAt(0);
  return code <= 0xff
    ? `\\x${code.toString(16).padStart(2, '0')}`
    : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Text for one line (a field, a table cell): every control character shown escaped. */
export function oneLine(text: string): string {
  return text.replace(CONTROLS, visible);
}

/** Text of several lines as the CLI writes it: newlines and tabs kept, other controls escaped. */
export function terminalSafe(text: string): string {
  return text.replace(CONTROLS_BUT_LINES, visible);
}

/** JSON.stringify escapes C0 controls; this escapes the rest of them too (still valid JSON). */
export function safeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(
    CONTROLS_BUT_LINES,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Compact age: `42s`, `5m`, `3h`, `2d` (never negative: clocks drift). */
export function formatAge(iso: string | undefined, now: Date = new Date()): string {
  if (!iso) return '-';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return '-';
  const seconds = Math.max(0, Math.floor((now.getTime() - then) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 120) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

export function formatResources(r: Resources): string {
  const parts = [`cpu ${formatCpu(r.cpuMillis)}`, `memory ${formatSize(r.memoryBytes)}`];
  if (r.diskBytes > 0) parts.push(`disk ${formatSize(r.diskBytes)}`);
  return parts.join(', ');
}

export function formatLabels(labels: Record<string, string> | undefined): string {
  const entries = Object.entries(labels ?? {});
  return entries.length === 0 ? '-' : entries.map(([k, v]) => `${k}=${v}`).join(',');
}

/** Shell-like rendering of a command line, quoting arguments that need it. */
export function formatCommand(command: readonly string[]): string {
  if (command.length === 0) return '(image default)';
  return command
    .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}

/** `host:container/protocol`; a port the engine picks shows as `*` until it is recorded. */
export function formatPorts(task: TaskRecord): string {
  const ports = task.spec.ports ?? [];
  if (ports.length === 0) return '-';
  const bound = (container: number, protocol: string) =>
    task.endpoints?.find((e) => e.container === container && e.protocol === protocol)?.hostPort;
  return ports
    .map((p) => {
      const host =
        p.host ??
        (task.spec.network === 'host' ? p.container : bound(p.container, p.protocol)) ??
        '*';
      return `${host}:${p.container}/${p.protocol}`;
    })
    .join(', ');
}

export function formatRestart(task: TaskRecord): string {
  const policy = formatRestartPolicy(task.spec.restart);
  return task.restartCount > 0 ? `${policy} (restarted ${task.restartCount}x)` : policy;
}

/** `READY`, `DOWN`, `READY,CORDONED`. */
export function formatWorkerState(worker: WorkerRecord): string {
  const flags: string[] = [worker.state];
  if (worker.cordoned) flags.push('CORDONED');
  // Only a live worker's word on its engine counts: a DOWN one's last ping says nothing now.
  if (worker.state === 'READY' && worker.engine?.answering === false)
    flags.push('ENGINE-NOT-ANSWERING');
  return flags.join(',');
}

/**
 * What the FAILED (or COMPLETED, LOST) state of a task with a planned restart means: it is not
 * over. `restarts in 4s as attempt 2 on the same worker`; undefined without a plan.
 */
export function describePlannedRestart(task: TaskRecord, now = new Date()): string | undefined {
  if (!task.restart || !FINISHED_STATES.includes(task.state)) return undefined;
  const seconds = Math.ceil((Date.parse(task.restart.at) - now.getTime()) / 1000);
  const when = seconds > 0 ? `restarts in ${seconds}s` : 'restarts now';
  const where = task.restart.kind === 'in-place' ? 'on the same worker' : 'on another worker';
  return `${when} as attempt ${task.attempt + 1} ${where}`;
}

/** A one-line account of where a task stands, for --wait progress and results. */
export function describeTask(task: TaskRecord, workerName?: string): string {
  const parts = [`task ${task.id} is ${task.state}`];
  if (task.workerId && ['SCHEDULED', 'STARTING', 'RUNNING'].includes(task.state)) {
    parts.push(`on ${workerName ?? task.workerId}`);
  }
  if (task.exitCode !== undefined && FINISHED_STATES.includes(task.state)) {
    parts.push(`(exit code ${task.exitCode})`);
  }
  const text = parts.join(' ');
  const planned = describePlannedRestart(task);
  const withReason = task.reason ? `${text}: ${task.reason}` : text;
  return planned ? `${withReason}; ${planned}` : withReason;
}
