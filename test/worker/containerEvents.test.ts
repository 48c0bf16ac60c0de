// The Docker events stream is reopened when it ends (the daemon restarted, say), from the
// last event seen, and the worker is told each time so it can reconcile what it missed.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import type Docker from 'dockerode';
import { type ContainerDied, followContainerEvents } from '../../worker/tasks/containerEvents.js';

describe('worker: docker events stream', () => {
  it('reopens after the stream ends, from the last event, and reports each connection', {
    timeout: 10_000,
  }, async () => {
    const opened: { since?: number }[] = [];
    const streams: PassThrough[] = [];
    const docker = {
      getEvents: async (options: { since?: number }) => {
        opened.push(options);
        const stream = new PassThrough();
        streams.push(stream);
        return stream;
      },
    } as unknown as Docker;
    const controller = new AbortController();
    const died: ContainerDied[] = [];
    let connections = 0;
    const following = followContainerEvents({
      docker,
      workerId: 'w1',
      signal: controller.signal,
      log: () => {},
      onDie: (d) => died.push(d),
      onConnected: () => connections++,
    });
    const until = async (check: () => boolean) => {
      while (!check()) await new Promise((r) => setTimeout(r, 20));
    };
    await until(() => streams.length === 1);
    const event = {
      Type: 'container',
      Action: 'die',
      time: 1_700_000_000,
      Actor: {
        ID: 'c1',
        Attributes: { 'cube.worker': 'w1', 'cube.task-id': 't1', 'cube.attempt': '2' },
      },
    };
    streams[0]!.write(`${JSON.stringify(event)}\n`);
    streams[0]!.end(); // the daemon went away
    await until(() => streams.length === 2);
    assert.equal(connections, 2);
    assert.deepEqual(died, [{ containerId: 'c1', taskId: 't1', attempt: 2 }]);
    assert.equal(opened[1]?.since, 1_700_000_000);
    controller.abort();
    await following;
  });
});
