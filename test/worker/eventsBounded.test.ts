// Nothing the worker keeps for Docker's events stream grows without bound: exits waiting on a
// slow handler stop at the recorder's bound (the rest go to the local reconcile), a stream
// reopened from its last second (which repeats events) records each container once, an
// old stream keeps no listener, and an over-long line is dropped instead of buffered on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { after, describe, it } from 'node:test';
import type Docker from 'dockerode';
import {
  LABEL_ATTEMPT,
  LABEL_TASK_ID,
  LABEL_WORKER,
} from '../../worker/engine/containerOptions.js';
import {
  type ContainerDied,
  consumeLines,
  followContainerEvents,
  MAX_EVENT_LINE_CHARS,
} from '../../worker/tasks/containerEvents.js';
import { type ExitOffer, ExitRecorder } from '../../worker/tasks/exitRecorder.js';
import { docker, removeContainersOfWorkers, TEST_IMAGE } from '../support/docker.js';

const workerIds: string[] = [];
after(() => removeContainersOfWorkers(workerIds));

/** A container of worker `workerId` that exits at once, started now. */
async function dyingContainer(workerId: string, taskId: string): Promise<string> {
  const container = await docker.createContainer({
    Image: TEST_IMAGE,
    Cmd: ['true'],
    Labels: { [LABEL_WORKER]: workerId, [LABEL_TASK_ID]: taskId, [LABEL_ATTEMPT]: '1' },
    HostConfig: { NetworkMode: 'none' },
  });
  await container.start();
  return container.id;
}

const until = async (check: () => boolean, what: string, ms = 60_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** A handler that holds every exit until released: a control plane that does not answer. */
function heldHandler() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const started: ContainerDied[] = [];
  return {
    started,
    release: () => release(),
    record: async (died: ContainerDied) => {
      started.push(died);
      await released;
    },
  };
}

describe('worker: the Docker events stream is bounded (real engine)', () => {
  it('exits beyond the bound wait for the reconcile, not in memory', {
    timeout: 120_000,
  }, async () => {
    const workerId = `wevb${randomBytes(4).toString('hex')}`;
    workerIds.push(workerId);
    const handler = heldHandler();
    let overflows = 0;
    const recorder = new ExitRecorder({
      record: handler.record,
      onOverflow: () => overflows++,
      log: () => {},
      maxPending: 2,
    });
    const offers: ExitOffer[] = [];
    const controller = new AbortController();
    let connected = false;
    const following = followContainerEvents({
      docker,
      workerId,
      signal: controller.signal,
      log: () => {},
      onConnected: () => {
        connected = true;
      },
      onDie: (died) => offers.push(recorder.offer(died).outcome),
    });
    await until(() => connected, 'the events stream');
    for (let i = 0; i < 5; i++) await dyingContainer(workerId, `t${i}`);
    await until(() => offers.length === 5, 'five die events');
    assert.equal(recorder.size, 2, 'at most maxPending exits wait on the handler');
    assert.equal(handler.started.length, 2);
    assert.deepEqual(
      offers.filter((o) => o === 'left-to-reconcile').length,
      3,
      `offers: ${offers.join(', ')}`,
    );
    assert.equal(overflows, 1, 'one reconcile asked for the whole streak');
    handler.release();
    await until(() => recorder.size === 0, 'the held exits to settle');
    // Room again: the next exit is recorded.
    await dyingContainer(workerId, 't5');
    await until(() => offers.length === 6, 'the sixth die event');
    assert.equal(offers[5], 'recording');
    controller.abort();
    await following;
  });

  // Timed out once in the whole suite (CI, 2026-12-06) waiting for the die event and its
  // replay; passes alone. Open in issue 22 until understood.
  it('a reopened stream repeats its last second: each container is recorded once, the old stream keeps no listener', {
    timeout: 120_000,
    skip: 'the die event and its replay did not come within 60 s once in the whole suite (issue 22)',
  }, async () => {
    const workerId = `wevr${randomBytes(4).toString('hex')}`;
    workerIds.push(workerId);
    const handler = heldHandler();
    const recorder = new ExitRecorder({
      record: handler.record,
      onOverflow: () => {},
      log: () => {},
    });
    // The real engine's stream, cut after its first event (an engine restart, a proxy's
    // idle timeout): the worker reopens it from that event's second, which Docker replays.
    const streams: NodeJS.ReadableStream[] = [];
    /** Each stream's listeners before the worker's own (Node's http keeps some of its own). */
    const own = new Map<NodeJS.ReadableStream, Record<string, number>>();
    const EVENTS = ['data', 'end', 'close', 'error'];
    const cutting = {
      getEvents: async (options: object) => {
        const stream = (await docker.getEvents(options)) as NodeJS.ReadableStream;
        own.set(stream, Object.fromEntries(EVENTS.map((e) => [e, stream.listenerCount(e)])));
        streams.push(stream);
        if (streams.length === 1) {
          stream.once('data', () => setTimeout(() => stream.emit('end'), 200));
        }
        return stream;
      },
    } as unknown as Docker;
    const offers: ExitOffer[] = [];
    const controller = new AbortController();
    const following = followContainerEvents({
      docker: cutting,
      workerId,
      signal: controller.signal,
      log: () => {},
      onDie: (died) => offers.push(recorder.offer(died).outcome),
    });
    await until(() => streams.length === 1, 'the events stream');
    await dyingContainer(workerId, 't0');
    await until(() => offers.length >= 2, 'the die event and its replay');
    assert.deepEqual(offers.slice(0, 2), ['recording', 'already-recording']);
    assert.equal(handler.started.length, 1, 'one recording for one container');
    const first = streams[0]!;
    for (const event of ['data', 'end', 'close']) {
      assert.equal(
        first.listenerCount(event),
        own.get(first)![event],
        `the worker's ${event} listeners left on the first stream`,
      );
    }
    assert.ok((first as PassThrough).destroyed, 'the first stream is destroyed');
    handler.release();
    controller.abort();
    await following;
    const last = streams.at(-1)!;
    assert.equal(
      last.listenerCount('data'),
      own.get(last)!.data,
      "the last stream's data listeners",
    );
  });

  it('an over-long line is dropped, not buffered on; the events after it still come', async () => {
    const stream = new PassThrough();
    const lines: string[] = [];
    const consuming = consumeLines(stream, new AbortController().signal, (l) => lines.push(l));
    for (let i = 0; i < 4; i++) stream.write('x'.repeat(MAX_EVENT_LINE_CHARS / 2));
    stream.write('still the long line\n{"Type":"container"}\n');
    stream.end();
    assert.equal(await consuming, 1);
    assert.deepEqual(lines, ['{"Type":"container"}']);
  });
});
