// What a worker host with write access to the task table and the queues can no longer do: make
// a worker run a record the control plane did not sign, altered, or addressed elsewhere; and
// what a worker refuses whatever the control plane allowed (its host policy). Real emulator,
// real Docker, a worker agent in-process (test/worker/support.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord, TaskSpec } from '../../core/types.js';
import { docker, TEST_IMAGE } from '../support/docker.js';
import { signedFor } from '../support/placement.js';
import { startHarness, type WorkerHarness, waitFor } from '../worker/support.js';

const spec = (id: string, extra: Partial<TaskSpec> = {}): TaskSpec => ({
  name: id,
  image: TEST_IMAGE,
  command: ['sleep', '300'],
  env: {},
  resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2, diskBytes: 0 },
  ports: [],
  restart: { mode: 'always' },
  stopSignal: 'SIGTERM',
  stopTimeoutSeconds: 1,
  labels: {},
  network: 'none',
  ...extra,
});

describe('signed placements and the host policy', { timeout: 180_000 }, () => {
  let h: WorkerHarness;
  let counter = 0;

  before(async () => {
    // A host that allows neither privileged containers nor host mounts nor host networking.
    h = await startHarness('trust', {
      hostPolicy: { allowPrivileged: false, allowHostMounts: false, allowHostNetwork: false },
    });
  });
  after(async () => {
    await h?.close();
  });

  const putRaw = (record: TaskRecord) =>
    h.clients.ddb.send(new PutCommand({ TableName: h.config.tasksTable, Item: record }));

  const failedWith = async (id: string, reason: RegExp) => {
    const task = await waitFor(
      () => h.tasks.require(id),
      (t) => t.state === 'FAILED',
      `${id} FAILED`,
    );
    assert.match(task.reason ?? '', reason);
    assert.equal(task.restart, undefined, 'a refused placement is not restarted');
    assert.equal((await h.containersOf(id)).length, 0, 'no container was made');
    return task;
  };

  const forged = (extra: Partial<TaskSpec> = {}, patch: Partial<TaskRecord> = {}): TaskRecord => {
    const id = `forged-${counter++}-${Date.now().toString(36)}`;
    const { task } = newTask(id, spec(id, extra), 'test');
    const now = new Date().toISOString();
    return { ...task, state: 'SCHEDULED', workerId: h.workerId, scheduledAt: now, ...patch };
  };

  it('a forged record and a hand-sent run message start no container', async () => {
    const record = forged({
      privileged: true,
      mounts: [{ type: 'bind', source: '/', target: '/host', readOnly: false }],
    });
    await putRaw(record);
    await h.send({ kind: 'run', taskId: record.id, attempt: 1 });
    await failedWith(record.id, /^placement signature: missing/);
  });

  it("a signature copied from another placement does not cover another task's record", async () => {
    const genuine = await h.scheduleTask();
    const record = forged({}, { signature: genuine.signature! });
    await putRaw(record);
    await h.send({ kind: 'run', taskId: record.id, attempt: 1 });
    await failedWith(record.id, /^placement signature: does not match/);
  });

  it("flipping privileged in a placed record's spec starts no container", async () => {
    const placed = await h.scheduleTask();
    assert.ok(placed.signature, 'the placement is signed');
    await putRaw({ ...placed, spec: { ...placed.spec, privileged: true } });
    await h.send({ kind: 'run', taskId: placed.id, attempt: 1 });
    await failedWith(placed.id, /^placement signature: does not match/);
  });

  it("a placement addressed to worker A sent to B's queue starts nothing on B", async () => {
    const id = `for-a-${Date.now().toString(36)}`;
    const a = `${h.workerId}-a`;
    await h.workers.register({
      id: a,
      name: a,
      labels: {},
      capacity: { cpuMillis: 1000, memoryBytes: 1024 ** 3, diskBytes: 0 },
      queueUrl: await h.queues.ensureWorkerQueue(a),
    });
    const { task, event } = newTask(id, spec(id), 'test');
    await h.tasks.create(task, event);
    const forA = await h.tasks.transition(task, {
      to: 'SCHEDULED',
      by: 'scheduler',
      patch: signedFor(task, a),
    });
    // As sent (to the wrong queue), and as a host could rewrite it to name B.
    await h.queues.sendTaskToWorker(h.queueUrl, 'run', forA);
    // Nothing to wait for when nothing happens: give the worker a few receives' time.
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal((await h.tasks.require(id)).state, 'SCHEDULED', 'left to its worker');
    assert.equal((await h.containersOf(id)).length, 0);

    await putRaw({ ...forA, workerId: h.workerId });
    await h.send({ kind: 'run', taskId: id, attempt: 1 });
    await failedWith(id, /^placement signature: does not match/);
  });

  it('an altered record carried by a message is set aside for the table and never written back', async () => {
    const placed = await h.scheduleTask({ command: ['sleep', '301'] });
    const altered = { ...placed, spec: { ...placed.spec, command: ['sh', '-c', 'echo pwned'] } };
    await h.queues.sendTaskToWorker(h.queueUrl, 'run', altered);
    const running = await waitFor(
      () => h.tasks.require(placed.id),
      (t) => t.state === 'RUNNING',
      'RUNNING on the signed spec',
    );
    assert.deepEqual(running.spec.command, ['sleep', '301'], 'the table keeps the signed spec');
    const [container] = await h.containersOf(placed.id);
    const info = await docker.getContainer(container!.Id).inspect();
    assert.deepEqual(info.Config.Cmd, ['sleep', '301']);
    await h.tasks.transition(running, { to: 'STOPPING', by: 'test' });
    await h.send({ kind: 'stop', taskId: placed.id, attempt: 1 });
  });

  it('a worker with privileged off refuses a privileged task the control plane signed', async () => {
    const placed = await h.scheduleTask({ privileged: true });
    await h.send({ kind: 'run', taskId: placed.id, attempt: 1 });
    await failedWith(
      placed.id,
      /^host policy: privileged containers are not allowed on this worker \(CUBE_ALLOW_PRIVILEGED\)$/,
    );
    const hostNet = await h.scheduleTask({ network: 'host' });
    await h.send({ kind: 'run', taskId: hostNet.id, attempt: 1 });
    await failedWith(
      hostNet.id,
      /^host policy: host networking is not allowed.*CUBE_ALLOW_HOST_NETWORK/,
    );
    const bind = await h.scheduleTask({
      mounts: [{ type: 'bind', source: '/etc', target: '/e', readOnly: true }],
    });
    await h.send({ kind: 'run', taskId: bind.id, attempt: 1 });
    await failedWith(bind.id, /^host policy: bind \(host\) mounts.*CUBE_ALLOW_HOST_MOUNTS/);
  });

  it('every container gets a pids limit, no-new-privileges and no NET_RAW by default', async () => {
    const plain = await h.scheduleTask();
    const own = await h.scheduleTask({ pidsLimit: 64, capAdd: ['NET_RAW'] });
    for (const t of [plain, own]) await h.send({ kind: 'run', taskId: t.id, attempt: 1 });
    const inspect = async (t: TaskRecord) => {
      const running = await waitFor(
        () => h.tasks.require(t.id),
        (r) => r.state === 'RUNNING',
        `${t.id} RUNNING`,
      );
      return docker.getContainer(running.containerId!).inspect();
    };
    const a = await inspect(plain);
    assert.equal(a.HostConfig.PidsLimit, 1024);
    assert.deepEqual(a.HostConfig.SecurityOpt, ['no-new-privileges']);
    assert.deepEqual(a.HostConfig.CapDrop, ['NET_RAW']);
    const b = await inspect(own);
    assert.equal(b.HostConfig.PidsLimit, 64);
    assert.deepEqual(b.HostConfig.SecurityOpt, ['no-new-privileges']);
    assert.ok(!(b.HostConfig.CapDrop ?? []).includes('NET_RAW'));
    assert.deepEqual(b.HostConfig.CapAdd, ['NET_RAW']);
  });
});
