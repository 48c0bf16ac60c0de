// Nothing the worker keeps for Docker's events stream grows without bound: exits waiting on a
// slow handler stop at the recorder's bound (the rest go to the local reconcile), a stream
// reopened from its last second (which repeats events) records each container once, an
// old stream keeps no listener, and an over-long line is dropped instead of buffered on.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
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

/** Whether the engine still repeats the container's die event from `since` (seconds). */
async function engineRepeats(workerId: string, containerId: string, since: number) {
  const stream = (await docker.getEvents({
    since,
    until: Math.floor(Date.now() / 1000),
    filters: { type: ['container'], event: ['die'], label: [`${LABEL_WORKER}=${workerId}`] },
  })) as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk;
  return text.includes(containerId);
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

  it('a reopened stream repeats its last second: each container is recorded once, the old stream keeps no listener', {
    timeout: 240_000,
  }, async () => {
    const workerId = `wevr${randomBytes(4).toString('hex')}`;
    workerIds.push(workerId);
    const handler = heldHandler();
    const recorder = new ExitRecorder({
      record: handler.record,
      onOverflow: () => {},
      log: () => {},
    });
    // The real engine's stream, its connection cut after an event (an engine restart, a
    // proxy's idle timeout): the worker reopens it from that event's second, which Docker
    // replays. (Cut, not a made-up 'end': an 'end' emitted by hand hands the still-streaming
    // socket back to the keep-alive pool, and the reopened request waits behind it.)
    const streams: NodeJS.ReadableStream[] = [];
    /** Each stream's listeners before the worker's own (Node's http keeps some of its own). */
    const own = new Map<NodeJS.ReadableStream, Record<string, number>>();
    const EVENTS = ['data', 'end', 'close', 'error'];
    const cutting = {
      getEvents: async (options: object) => {
        const stream = (await docker.getEvents(options)) as NodeJS.ReadableStream;
        own.set(stream, Object.fromEntries(EVENTS.map((e) => [e, stream.listenerCount(e)])));
        streams.push(stream);
        return stream;
      },
    } as unknown as Docker;
    const offers: { containerId: string; outcome: ExitOffer }[] = [];
    const controller = new AbortController();
    const following = followContainerEvents({
      docker: cutting,
      workerId,
      signal: controller.signal,
      log: () => {},
      onDie: (died) =>
        offers.push({ containerId: died.containerId, outcome: recorder.offer(died).outcome }),
    });
    await until(() => streams.length === 1, 'the events stream');
    // Docker replays from the last 256 events it keeps: on a busy engine (the whole suite
    // churns containers) they can be gone by the time the stream is reopened. Then the engine
    // itself has nothing to repeat, which is checked, and the case is tried again.
    let cut: NodeJS.ReadableStream | undefined;
    let replayed: string | undefined;
    for (let round = 1; round <= 3 && !replayed; round++) {
      cut = streams.at(-1)!;
      const cutStream = cut;
      cutStream.once('data', () =>
        setTimeout(() => (cutStream as unknown as { socket: Socket }).socket.destroy(), 200),
      );
      const opened = streams.length;
      const diedAt = Math.floor(Date.now() / 1000) - 1;
      const id = await dyingContainer(workerId, `t${round}`);
      const of = () => offers.filter((o) => o.containerId === id).map((o) => o.outcome);
      await until(() => of().length >= 1 && streams.length > opened, 'the die event, a new stream');
      const deadline = Date.now() + 15_000;
      while (of().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (of().length >= 2) {
        assert.deepEqual(of().slice(0, 2), ['recording', 'already-recording']);
        replayed = id;
      } else {
        assert.ok(
          !(await engineRepeats(workerId, id, diedAt)),
          'the engine repeated it, the worker did not see it',
        );
      }
    }
    assert.ok(replayed, 'the engine repeated no die event in three tries');
    assert.equal(
      handler.started.filter((d) => d.containerId === replayed).length,
      1,
      'one recording for one container',
    );
    const first = cut!;
    for (const event of ['data', 'end', 'close']) {
      assert.equal(
        first.listenerCount(event),
        own.get(first)![event],
        `the worker's ${event} listeners left on the cut stream`,
      );
    }
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
