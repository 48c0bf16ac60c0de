// The service commands' pure parts: reading a spec file, when a rollout has settled, and what
// a dry-run prints.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from 'clipanion';
import { formatDryRun } from '../../cli/commands/services/apply.js';
import { describeRollout, verdictOf } from '../../cli/services/rolloutWatch.js';
import { readSpecFile } from '../../cli/services/specFile.js';
import type { ServiceView } from '../../cli/services/types.js';

const fileOf = (text: string) => (() => text) as unknown as typeof import('node:fs').readFileSync;

function view(over: Partial<ServiceView> = {}, counts: Partial<ServiceView['counts']> = {}) {
  return {
    name: 'web',
    replicas: 3,
    revision: 2,
    latestRevision: 2,
    specVersion: 2,
    update: {},
    task: { image: 'busybox' },
    rollout: {
      state: 'complete',
      revision: 2,
      startedAt: '',
      progressAt: '',
      reason: 'revision 2 complete',
    },
    counts: { desired: 3, live: 3, running: 3, healthy: 3, updated: 3, stopping: 0, ...counts },
    createdAt: '',
    updatedAt: '',
    replicaTasks: [],
    ...over,
  } as unknown as ServiceView;
}

describe('service spec files', () => {
  it('reads YAML and JSON, and takes the name from the file', () => {
    const yaml = readSpecFile(
      'web.yaml',
      fileOf('name: web\nreplicas: 3\ntask:\n  image: busybox\n'),
    );
    assert.deepEqual(yaml, {
      name: 'web',
      spec: { name: 'web', replicas: 3, task: { image: 'busybox' } },
    });
    const json = readSpecFile('web.json', fileOf('{"name": "api", "replicas": 1}'));
    assert.equal(json.name, 'api');
  });

  it('says which line of the file is wrong, and what a spec needs', () => {
    assert.throws(
      () => readSpecFile('bad.yaml', fileOf('name: web\n  replicas: [3\n')),
      (e: Error) =>
        e instanceof UsageError && /^bad\.yaml:\d+: not valid YAML or JSON/.test(e.message),
    );
    assert.throws(
      () => readSpecFile('list.yaml', fileOf('- a\n- b\n')),
      /list\.yaml: a service spec is a mapping/,
    );
    assert.throws(
      () => readSpecFile('anon.yaml', fileOf('replicas: 2\n')),
      /anon\.yaml: name: required/,
    );
  });
});

describe('rollout verdicts', () => {
  it('a complete rollout is settled only when every replica is updated and healthy', () => {
    assert.equal(verdictOf(view()), 'complete');
    assert.equal(verdictOf(view({}, { healthy: 2 })), undefined);
    assert.equal(verdictOf(view({}, { stopping: 1 })), undefined);
    assert.equal(verdictOf(view({}, { updated: 2 })), undefined);
  });

  it('progressing waits; failed and rolled back end at once', () => {
    const at = (state: string) =>
      view({ rollout: { ...view().rollout, state } as ServiceView['rollout'] });
    assert.equal(verdictOf(at('progressing')), undefined);
    assert.equal(verdictOf(at('rolling-back')), undefined);
    assert.equal(verdictOf(at('failed')), 'failed');
    assert.equal(verdictOf(at('rolled-back')), 'rolled-back');
  });

  it('waiting for a count (a scale), an earlier rollback is history', () => {
    const rolledBack = (counts: Partial<ServiceView['counts']> = {}) =>
      view({ rollout: { ...view().rollout, state: 'rolled-back' } }, counts);
    assert.equal(verdictOf(rolledBack(), 'count'), 'complete');
    assert.equal(verdictOf(rolledBack({ live: 4 }), 'count'), undefined);
    assert.equal(
      verdictOf(view({ rollout: { ...view().rollout, state: 'failed' } }), 'count'),
      'failed',
    );
  });

  it('describes progress in one line', () => {
    assert.equal(
      describeRollout(view({}, { updated: 1, healthy: 2, stopping: 1 })),
      'revision 2: 1/3 updated, 2/3 healthy, 1 stopping (complete)',
    );
  });
});

describe('apply --dry-run output', () => {
  it('shows the changed fields and where each new replica would go', () => {
    const text = formatDryRun('web', {
      dryRun: true,
      change: 'revision',
      revision: 3,
      currentRevision: 2,
      changes: [{ field: 'task.image', from: 'busybox:1', to: 'busybox:2' }],
      policy: 'spread',
      placements: [
        { replica: 1, placed: true, workerName: 'host-1', reason: 'fits 2/2 workers' },
        { replica: 2, placed: false, reason: '0/2 workers fit: 2 insufficient memory' },
      ],
    });
    assert.match(text, /^web: would roll out revision 3 \(now 2\)/);
    assert.match(text, /task\.image\s+busybox:1\s+busybox:2/);
    assert.match(text, /1\s+host-1\s+fits 2\/2 workers/);
    assert.match(text, /2\s+\(none fits\)\s+0\/2 workers fit: 2 insufficient memory/);
  });
});
