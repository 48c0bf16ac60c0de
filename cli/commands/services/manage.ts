// cube scale, cube rollout status|undo, cube service rm, cube endpoints.
import { Command, Option, UsageError } from 'clipanion';
import { createProgress } from '../../progress.js';
import { describeRollout, watchRollout } from '../../services/rolloutWatch.js';
import { formatTable } from '../../table.js';
import { parseTimeout } from '../../wait.js';
import { ServiceCommand } from './base.js';

const wholeNumber = (text: string, what: string, min: number) => {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min) {
    throw new UsageError(`${what} must be a whole number of at least ${min} (got '${text}')`);
  }
  return n;
};

export class ScaleCommand extends ServiceCommand {
  static override paths = [['scale']];
  static override usage = Command.Usage({
    description: 'Change the number of replicas of a service (no new revision)',
    examples: [['Five replicas of web', 'cube scale web 5 --wait']],
  });

  name = Option.String({ required: true });
  replicas = Option.String({ required: true });
  wait = Option.Boolean('--wait', false, { description: 'Wait until the count is reached' });
  timeout = Option.String('--timeout', { description: 'Seconds to wait (default 900)' });
  json = Option.Boolean('--json', false, { description: 'Print the service as JSON' });

  protected async run(): Promise<number> {
    const replicas = wholeNumber(this.replicas, 'replicas', 0);
    const services = this.services();
    const view = await services.scale(this.name, replicas);
    if (!this.wait) {
      if (this.json) this.printJson(view);
      else this.print(`service ${this.name}: scaling to ${view.replicas} replicas`);
      return 0;
    }
    return this.follow(services, this.name, this.timeout, this.json, 'count');
  }
}

export class RolloutStatusCommand extends ServiceCommand {
  static override paths = [['rollout', 'status']];
  static override usage = Command.Usage({
    description: "Follow a service's rollout until it completes, fails or is rolled back",
    details: 'Exits 0 when the rollout completed, 1 when it failed, was rolled back or timed out.',
    examples: [['Follow web', 'cube rollout status web']],
  });

  name = Option.String({ required: true });
  timeout = Option.String('--timeout', { description: 'Seconds to wait (default 900)' });
  json = Option.Boolean('--json', false, { description: 'Print the verdict and service as JSON' });

  protected async run(): Promise<number> {
    return this.follow(this.services(), this.name, this.timeout, this.json);
  }
}

export class RolloutUndoCommand extends ServiceCommand {
  static override paths = [['rollout', 'undo']];
  static override usage = Command.Usage({
    description: 'Roll a kept revision (default: the one before) forward again',
    examples: [
      ['Back to the previous revision', 'cube rollout undo web'],
      ['Back to revision 2', 'cube rollout undo web --to-revision 2 --wait'],
    ],
  });

  name = Option.String({ required: true });
  toRevision = Option.String('--to-revision', { description: 'The revision to roll out' });
  wait = Option.Boolean('--wait', false, { description: 'Follow the rollout until it settles' });
  timeout = Option.String('--timeout', { description: 'Seconds to wait (default 900)' });
  json = Option.Boolean('--json', false, { description: 'Print the service as JSON' });

  protected async run(): Promise<number> {
    const revision =
      this.toRevision === undefined ? undefined : wholeNumber(this.toRevision, '--to-revision', 1);
    const services = this.services();
    const view = await services.rollback(this.name, revision);
    if (!this.wait) {
      if (this.json) this.printJson(view);
      else this.print(`service ${this.name}: ${view.rollout.reason}`);
      return 0;
    }
    return this.follow(services, this.name, this.timeout, this.json);
  }
}

export class ServiceRmCommand extends ServiceCommand {
  static override paths = [['service', 'rm']];
  static override usage = Command.Usage({
    description: 'Delete a service: its replicas are stopped gracefully, then it is gone',
    examples: [['Delete web and wait', 'cube service rm web --wait']],
  });

  name = Option.String({ required: true });
  wait = Option.Boolean('--wait', false, { description: 'Wait until every replica is gone' });
  timeout = Option.String('--timeout', { description: 'Seconds to wait (default 300)' });
  json = Option.Boolean('--json', false, { description: 'Print the service as JSON' });

  protected async run(): Promise<number> {
    const services = this.services();
    const view = await services.remove(this.name);
    if (this.json && !this.wait) {
      this.printJson(view);
      return 0;
    }
    if (!this.wait) {
      this.print(`service ${this.name}: deleting (${view.counts.live} replicas to stop)`);
      return 0;
    }
    const progress = createProgress(this.progressStream, `service ${this.name}: deleting`);
    const result = await watchRollout(services, this.name, {
      timeoutMs: parseTimeout(this.timeout, 300),
      untilGone: true,
      onUpdate: (v) => progress.update(`service ${this.name}: deleting, ${describeRollout(v)}`),
    });
    progress.done();
    const gone = result.verdict === 'deleted';
    if (this.json) this.printJson({ deleted: gone });
    else this.print(gone ? `service ${this.name} deleted` : `service ${this.name}: still deleting`);
    return gone ? 0 : 1;
  }
}

export class EndpointsCommand extends ServiceCommand {
  static override paths = [['endpoints']];
  static override usage = Command.Usage({
    description: "Where a service's healthy replicas answer: address:hostPort per container port",
    examples: [['Endpoints of web', 'cube endpoints web']],
  });

  name = Option.String({ required: true });
  json = Option.Boolean('--json', false, { description: 'Print the endpoints as JSON' });

  protected async run(): Promise<number> {
    const ports = await this.services().endpoints(this.name);
    if (this.json) {
      this.printJson(ports);
      return 0;
    }
    const rows = ports.flatMap((p) =>
      p.endpoints.length === 0
        ? [[`${p.container}/${p.protocol}`, '(no healthy replica)', '-']]
        : p.endpoints.map((e) => [`${p.container}/${p.protocol}`, e.address, e.taskId]),
    );
    this.context.stdout.write(formatTable(['PORT', 'ENDPOINT', 'TASK'], rows));
    return 0;
  }
}
