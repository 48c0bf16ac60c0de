// cube apply -f FILE: create or update a service from a YAML or JSON spec.
import { Command, Option } from 'clipanion';
import { readSpecFile } from '../../services/specFile.js';
import type { ApplyDryRun, ApplyResult, FieldChange } from '../../services/types.js';
import { formatTable } from '../../table.js';
import { ServiceCommand } from './base.js';

export class ApplyCommand extends ServiceCommand {
  static override paths = [['apply']];
  static override usage = Command.Usage({
    description: 'Create or update a service from a spec file',
    details: `
      Applying the same spec again changes nothing. A changed task makes a new revision, rolled
      out behind health gates (and rolled back by itself when it fails, unless the spec's
      update.autoRollback is false); a changed replicas alone is a scale. --dry-run prints the
      difference against the current revision and where new replicas would go, changing nothing.
    `,
    examples: [
      ['Apply a service and follow its rollout', 'cube apply -f examples/services/web.yaml --wait'],
      ['See what an apply would change', 'cube apply -f web.yaml --dry-run'],
    ],
  });

  file = Option.String('-f,--file', {
    required: true,
    description: 'YAML or JSON spec, - for stdin',
  });
  dryRun = Option.Boolean('--dry-run', false, { description: 'Show the diff and placements only' });
  wait = Option.Boolean('--wait', false, { description: 'Follow the rollout until it settles' });
  timeout = Option.String('--timeout', { description: 'Seconds to wait (default 900)' });
  json = Option.Boolean('--json', false, { description: 'Print the API answer as JSON' });

  protected async run(): Promise<number> {
    const { name, spec } = readSpecFile(this.file);
    const services = this.services();
    if (this.dryRun) {
      const plan = await services.dryRun(name, spec);
      if (this.json) this.printJson(plan);
      else this.print(formatDryRun(name, plan));
      return 0;
    }
    const result = await services.apply(name, spec);
    if (this.json && !this.wait) {
      this.printJson(result);
      return 0;
    }
    if (!this.json) this.print(describeApply(name, result));
    if (!this.wait || result.change === 'unchanged' || result.change === 'update-policy') return 0;
    return this.follow(services, name, this.timeout, this.json);
  }
}

export function describeApply(name: string, result: ApplyResult): string {
  const s = result.service;
  switch (result.change) {
    case 'created':
      return `service ${name} created: revision ${s.revision}, ${s.replicas} replicas of ${s.task.image}`;
    case 'revision':
      return `service ${name}: revision ${s.revision} rolling out (${changedFields(result.changes)})`;
    case 'scale':
      return `service ${name}: scaled to ${s.replicas} replicas`;
    case 'update-policy':
      return `service ${name}: update policy changed`;
    default:
      return `service ${name}: unchanged (revision ${s.revision})`;
  }
}

const changedFields = (changes: FieldChange[]) =>
  changes
    .map((c) => c.field)
    .slice(0, 6)
    .join(', ') || 'task changed';

const show = (value: unknown) =>
  value === undefined ? '-' : typeof value === 'string' ? value : JSON.stringify(value);

export function formatDryRun(name: string, plan: ApplyDryRun): string {
  const lines: string[] = [];
  const what =
    plan.change === 'created'
      ? `would create service ${name} at revision ${plan.revision}`
      : plan.change === 'revision'
        ? `would roll out revision ${plan.revision} (now ${plan.currentRevision})`
        : plan.change === 'unchanged'
          ? 'no change'
          : `would change: ${plan.change}`;
  lines.push(`${name}: ${what}`);
  if (plan.changes.length > 0) {
    lines.push(
      '',
      formatTable(
        ['FIELD', 'FROM', 'TO'],
        plan.changes.map((c) => [c.field, show(c.from), show(c.to)]),
        { maxWidths: { FROM: 50, TO: 50 } },
      ).trimEnd(),
    );
  }
  if (plan.placements.length > 0) {
    lines.push(
      '',
      `new replicas (policy ${plan.policy}):`,
      formatTable(
        ['REPLICA', 'WORKER', 'WHY'],
        plan.placements.map((p) => [
          String(p.replica),
          p.placed ? (p.workerName ?? p.workerId ?? '?') : '(none fits)',
          p.reason,
        ]),
        { maxWidths: { WHY: 80 } },
      ).trimEnd(),
    );
  }
  return lines.join('\n');
}
