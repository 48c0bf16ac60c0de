// cube services, cube service inspect NAME, cube rollout history NAME.
import { Command, Option } from 'clipanion';
import { workerNames } from '../../baseCommand.js';
import { formatAge } from '../../format.js';
import type { ReplicaView } from '../../services/types.js';
import { formatTable } from '../../table.js';
import { ServiceCommand } from './base.js';

export class ServicesCommand extends ServiceCommand {
  static override paths = [['services'], ['service', 'ls']];
  static override usage = Command.Usage({
    description: 'List services',
    details: `READY is healthy/desired replicas; UPDATED those on the target revision.`,
    examples: [
      ['List services', 'cube services'],
      ['As JSON', 'cube services --json'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print the services as JSON' });

  protected async run(): Promise<number> {
    const list = await this.services().list();
    list.sort((a, b) => a.name.localeCompare(b.name));
    if (this.json) {
      this.printJson(list);
      return 0;
    }
    const now = new Date();
    const rows = list.map((s) => [
      s.name,
      `${s.counts.healthy}/${s.replicas}`,
      `${s.counts.updated}/${s.replicas}`,
      String(s.revision),
      s.rollout.state,
      s.image,
      formatAge(s.updatedAt, now),
      s.rollout.reason,
    ]);
    this.context.stdout.write(
      formatTable(
        ['NAME', 'READY', 'UPDATED', 'REVISION', 'ROLLOUT', 'IMAGE', 'AGE', 'REASON'],
        rows,
        { maxWidths: { NAME: 32, IMAGE: 40, REASON: 70 } },
      ),
    );
    return 0;
  }
}

export class ServiceInspectCommand extends ServiceCommand {
  static override paths = [['service', 'inspect']];
  static override usage = Command.Usage({
    description: 'Show a service: revision, rollout state and reason, replicas, recent events',
    examples: [['Inspect a service', 'cube service inspect web']],
  });

  name = Option.String({ required: true });
  json = Option.Boolean('--json', false, { description: 'Print the service as JSON' });

  protected async run(): Promise<number> {
    const client = this.client();
    const { service: s, events } = await this.services().get(this.name);
    if (this.json) {
      this.printJson({ service: s, events });
      return 0;
    }
    const names = await workerNames(client);
    const now = new Date();
    const u = s.update;
    this.print(
      [
        `Name:       ${s.name}${s.deleting ? ' (deleting)' : ''}`,
        `Image:      ${s.task.image}`,
        `Replicas:   ${s.counts.healthy} healthy, ${s.counts.running} running, ${s.counts.updated} updated of ${s.replicas} desired`,
        `Revision:   ${s.revision} (latest ${s.latestRevision}${s.stableRevision !== undefined ? `, stable ${s.stableRevision}` : ''})`,
        `Rollout:    ${s.rollout.state}: ${s.rollout.reason}`,
        `Update:     maxSurge ${u.maxSurge}, maxUnavailable ${u.maxUnavailable}, minHealthyTime ${u.minHealthyTime}s, healthyDeadline ${u.healthyDeadline}s, progressDeadline ${u.progressDeadline}s, autoRollback ${u.autoRollback}`,
        `Version:    ${s.specVersion}`,
      ].join('\n'),
    );
    const draining = s.drainingTasks ?? [];
    if (s.replicaTasks.length + draining.length > 0) {
      this.print('\nReplicas:');
      const row = (r: ReplicaView, replaced: boolean) => [
        String(r.slot),
        r.taskId,
        String(r.revision),
        `${r.state}${r.health ? ` (${r.health})` : ''}${replaced ? ' (replaced)' : ''}`,
        r.healthy && !replaced ? 'yes' : 'no',
        r.workerId ? (names.get(r.workerId) ?? r.workerId) : '-',
        r.reason ?? '',
      ];
      this.context.stdout.write(
        formatTable(
          ['SLOT', 'TASK', 'REVISION', 'STATE', 'HEALTHY', 'WORKER', 'REASON'],
          [...s.replicaTasks.map((r) => row(r, false)), ...draining.map((r) => row(r, true))],
          { maxWidths: { REASON: 60 } },
        ),
      );
    }
    if (events.length > 0) {
      this.print('\nEvents:');
      this.context.stdout.write(
        formatTable(
          ['AGE', 'KIND', 'REVISION', 'BY', 'REASON'],
          events.map((e) => [formatAge(e.at, now), e.kind, String(e.revision), e.by, e.reason]),
          { maxWidths: { REASON: 80 } },
        ),
      );
    }
    return 0;
  }
}

export class RolloutHistoryCommand extends ServiceCommand {
  static override paths = [['rollout', 'history']];
  static override usage = Command.Usage({
    description: "List a service's kept revisions (the last 10), newest first",
    examples: [['Revisions of web', 'cube rollout history web']],
  });

  name = Option.String({ required: true });
  json = Option.Boolean('--json', false, { description: 'Print the revisions as JSON' });

  protected async run(): Promise<number> {
    const revisions = await this.services().revisions(this.name);
    if (this.json) {
      this.printJson(revisions);
      return 0;
    }
    const now = new Date();
    this.context.stdout.write(
      formatTable(
        ['REVISION', 'IMAGE', 'CREATED', 'NOTE'],
        revisions.map((r) => [
          String(r.revision),
          r.task.image,
          formatAge(r.createdAt, now),
          [r.current ? 'target' : '', r.stable ? 'stable' : ''].filter(Boolean).join(', '),
        ]),
      ),
    );
    return 0;
  }
}
