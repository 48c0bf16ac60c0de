import { Command, Option } from 'clipanion';
import type { TaskRecord, TaskState } from '../../core/types.js';
import { CubeCommand, workerNames } from '../baseCommand.js';
import { describePlannedRestart, describeTask, FINISHED_STATES } from '../format.js';
import { createProgress } from '../progress.js';
import { buildTaskRequest, type RunFlags } from '../taskRequest.js';
import { parseTimeout, waitForTask } from '../wait.js';

const SUCCESS: readonly TaskState[] = ['RUNNING', 'COMPLETED'];

/** Where `cube run --wait` stops: running, completed, or ended with no restart planned. */
export function runWaitOver(task: TaskRecord): boolean {
  return SUCCESS.includes(task.state) || (FINISHED_STATES.includes(task.state) && !task.restart);
}

export class RunCommand extends CubeCommand {
  static override paths = [['run']];
  static override usage = Command.Usage({
    description: 'Submit a task: run a container image on the cluster',
    details: `
      Prints the new task's id on stdout (or its record with --json). The container's
      command and arguments go after \`--\`.

      With --wait, waits until the task is RUNNING (or already COMPLETED) and exits 0, or
      exits 1 when it FAILED, was STOPPED or LOST with no restart left, or --timeout passed;
      the last line on stderr gives the state, the container's exit code and the reason. A
      failure with a restart planned (--restart) is not the end: a line says when and where
      the next attempt starts, and the wait goes on. A command line it cannot parse exits 2.
    `,
    examples: [
      [
        'Run a web server',
        'cube run --name web --port 8080:80 --memory 64m busybox -- httpd -f -p 80',
      ],
      ['Run a command and wait for it to start', 'cube run --wait busybox -- sh -c "sleep 30"'],
      [
        'Set environment, labels, resources and a restart policy',
        'cube run --env MODE=prod --label team=ops --cpu 0.5 --restart on-failure:3 busybox -- sleep 600',
      ],
      [
        'Restart a web server that stops answering, stopping it gently',
        'cube run --network host --health-http 8080/healthz --health-interval 5 --stop-timeout 30 --restart always busybox -- httpd -f -p 8080',
      ],
      ['Capture the id in a script', 'id=$(cube run busybox -- true)'],
    ],
  });

  name = Option.String('--name', { description: 'Task name (default: generated)' });
  cpu = Option.String('--cpu', { description: 'CPU cores to reserve, e.g. 0.5 (default 0.1)' });
  memory = Option.String('--memory', {
    description: 'Memory to reserve, e.g. 64m, 1g (default 128m)',
  });
  disk = Option.String('--disk', { description: 'Disk to reserve, e.g. 1g' });
  env = Option.Array('--env', {
    description: 'Environment variable K=V (repeatable); bare K copies it from here',
  });
  secret = Option.Array('--secret', {
    description:
      'Secret env var NAME=ssm:/path or NAME=secretsmanager:NAME, read by the worker at start (repeatable)',
  });
  label = Option.Array('--label', { description: 'Label k=v (repeatable)' });
  port = Option.Array('--port', {
    description: 'Publish a port: 80, 8080:80 (host:container), 53/udp (repeatable)',
  });
  network = Option.String('--network', { description: 'Network mode: bridge, host or none' });
  restart = Option.String('--restart', {
    description: 'Restart policy: never, always, on-failure[:N]',
  });
  scheduler = Option.String('--scheduler', { description: 'Scheduling policy name' });
  constraint = Option.Array('--constraint', {
    description:
      "Worker label constraint: 'zone=a', 'zone!=a', 'zone in (a,b)', 'gpu exists' (repeatable)",
  });
  maxReschedules = Option.String('--max-reschedules', {
    description: 'Times the task may be placed on another worker after failing (default 5)',
  });
  healthCmd = Option.String('--health-cmd', {
    description: 'Health check command, run with sh -c in the container; exit 0 is healthy',
  });
  healthHttp = Option.String('--health-http', {
    description: 'HTTP health check PORT[/path]: a GET answered 2xx is healthy',
  });
  healthInterval = Option.String('--health-interval', {
    description: 'Seconds between health checks (default 10)',
  });
  healthTimeout = Option.String('--health-timeout', {
    description: 'Seconds a health check may take (default 5)',
  });
  healthRetries = Option.String('--health-retries', {
    description: 'Failures in a row that make the task unhealthy (default 3)',
  });
  healthStartPeriod = Option.String('--health-start-period', {
    description: 'Seconds after start in which failed checks do not count (default 0)',
  });
  stopSignal = Option.String('--stop-signal', {
    description: 'Signal that asks the container to stop (default SIGTERM)',
  });
  stopTimeout = Option.String('--stop-timeout', {
    description: 'Seconds between the stop signal and SIGKILL (default 10)',
  });
  stopAfterDisconnect = Option.String('--stop-after-disconnect', {
    description:
      'Seconds without the control plane after which its worker stops the task (default: never)',
  });
  logs = Option.Boolean('--logs', true, {
    description: "Ship the output to the log group for 'cube logs' (--no-logs: do not)",
  });
  wait = Option.Boolean('--wait', false, { description: 'Wait until the task runs or fails' });
  timeout = Option.String('--timeout', {
    description: 'Seconds to wait with --wait (default 120)',
  });
  json = Option.Boolean('--json', false, { description: 'Print the task record as JSON' });

  image = Option.String({ name: 'image' });
  command = Option.Rest({ name: 'command' });

  /** The flags as given, for the request body (and the docs check, which resolves them). */
  flags(): RunFlags {
    return {
      image: this.image,
      command: this.command,
      name: this.name,
      cpu: this.cpu,
      memory: this.memory,
      disk: this.disk,
      env: this.env,
      secret: this.secret,
      label: this.label,
      port: this.port,
      network: this.network,
      restart: this.restart,
      scheduler: this.scheduler,
      constraint: this.constraint,
      maxReschedules: this.maxReschedules,
      healthCmd: this.healthCmd,
      healthHttp: this.healthHttp,
      healthInterval: this.healthInterval,
      healthTimeout: this.healthTimeout,
      healthRetries: this.healthRetries,
      healthStartPeriod: this.healthStartPeriod,
      stopSignal: this.stopSignal,
      stopTimeout: this.stopTimeout,
      stopAfterDisconnect: this.stopAfterDisconnect,
      logs: this.logs,
    };
  }

  protected async run(): Promise<number> {
    const body = buildTaskRequest(this.flags(), process.env);
    const timeoutMs = parseTimeout(this.timeout, 120);
    const client = this.client();
    const created = await client.createTask(body);
    if (!this.wait) {
      if (this.json) this.printJson(created);
      else this.print(created.id);
      return 0;
    }
    // The id goes out first so a script has it even if the wait fails.
    if (!this.json) this.print(created.id);
    const progress = createProgress(this.progressStream, describeTask(created));
    const names = await workerNames(client);
    const describe = (task: TaskRecord) =>
      describeTask(task, task.workerId ? names.get(task.workerId) : undefined);
    // A planned restart is said once per attempt, on a line of its own that stays.
    let announced = 0;
    let result: Awaited<ReturnType<typeof waitForTask>>;
    try {
      result = await waitForTask(client, created.id, {
        until: runWaitOver,
        timeoutMs,
        onUpdate: (task) => {
          if (!runWaitOver(task) && describePlannedRestart(task) && task.attempt > announced) {
            announced = task.attempt;
            progress.note(describe(task));
          }
          progress.update(describe(task));
        },
      });
    } catch (error) {
      progress.done();
      throw error;
    }
    const { task } = result.detail;
    if (this.json) this.printJson(task);
    if (result.timedOut) {
      progress.done(`cube: timed out after ${timeoutMs / 1000}s: ${describe(task)}`);
      return 1;
    }
    const retried = task.attempt > created.attempt ? ` (attempt ${task.attempt})` : '';
    if (SUCCESS.includes(task.state)) {
      progress.done(`${describe(task)}${retried}`);
      return 0;
    }
    progress.done(`cube: ${describe(task)}${retried}`);
    return 1;
  }
}
