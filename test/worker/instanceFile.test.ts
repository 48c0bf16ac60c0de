// A daemon restarted on the same host after its predecessor died carries the predecessor's
// instance nonce on (so it registers at once, before the reconciler finds the worker lost);
// a second daemon while the first lives, another host, or a second successor does not.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { claimInstanceNonce, type InstanceFileOptions } from '../../worker/control/instanceFile.js';

const BOOT = 'b0a1d2c3-0000-4000-8000-000000000001';

/** A host whose live processes are `living`. */
function host(living: Set<number>, bootId: string | undefined = BOOT) {
  const dir = mkdtempSync(join(tmpdir(), 'cube-instance-'));
  return (pid: number, more: Partial<InstanceFileOptions> = {}) => {
    living.add(pid);
    return claimInstanceNonce({
      dir,
      apiUrl: 'http://127.0.0.1:4000',
      name: 'w1',
      pid,
      bootId,
      alive: (p) => living.has(p),
      ...more,
    });
  };
}

test('a successor of a daemon that died on this boot carries its nonce on', () => {
  const living = new Set<number>();
  const start = host(living);
  const first = start(100);
  assert.equal(first.inheritedFrom, undefined);
  living.delete(100); // kill -9
  const second = start(200);
  assert.equal(second.nonce, first.nonce);
  assert.equal(second.inheritedFrom, 100);
  // And the successor's own successor, in turn.
  living.delete(200);
  assert.equal(start(300).nonce, first.nonce);
});

test('a second daemon while the first lives gets its own nonce, and leaves the file alone', () => {
  const living = new Set<number>();
  const start = host(living);
  const first = start(100);
  const twin = start(200);
  assert.notEqual(twin.nonce, first.nonce);
  assert.equal(twin.inheritedFrom, undefined);
  // The twin was refused and exited; then the first died: its successor is the first's.
  living.delete(200);
  living.delete(100);
  assert.equal(start(300).nonce, first.nonce);
});

test('another boot (a cloned image, a rebooted host) or no boot id: a nonce of its own', () => {
  const living = new Set<number>();
  const dir = mkdtempSync(join(tmpdir(), 'cube-instance-'));
  const options = { dir, apiUrl: 'http://x', name: 'w1', alive: (p: number) => living.has(p) };
  const first = claimInstanceNonce({ ...options, pid: 100, bootId: BOOT });
  assert.notEqual(
    claimInstanceNonce({ ...options, pid: 200, bootId: 'another-boot' }).nonce,
    first.nonce,
  );
  const again = claimInstanceNonce({ ...options, pid: 300, bootId: undefined });
  assert.equal(again.inheritedFrom, undefined);
  assert.notEqual(claimInstanceNonce({ ...options, pid: 400, bootId: BOOT }).nonce, first.nonce);
});

test('of two successors, only one carries the nonce on', () => {
  const living = new Set<number>();
  const start = host(living);
  const first = start(100);
  living.delete(100);
  const one = start(200);
  const other = start(300);
  assert.equal(one.nonce, first.nonce);
  assert.notEqual(other.nonce, first.nonce);
  assert.equal(other.inheritedFrom, undefined);
});

test('a takeover under way (its marker there) is not taken twice', () => {
  const living = new Set<number>();
  const dir = mkdtempSync(join(tmpdir(), 'cube-instance-'));
  const claim = (pid: number) =>
    claimInstanceNonce({
      dir,
      apiUrl: 'http://x',
      name: 'w1',
      pid,
      bootId: BOOT,
      alive: (p) => living.has(p),
    });
  const first = claim(100);
  const [file] = readdirSync(dir);
  writeFileSync(join(dir, file!.replace(/\.json$/, '.100.taken')), '200');
  const late = claim(300);
  assert.notEqual(late.nonce, first.nonce);
});

test('one file per control plane and name', () => {
  const living = new Set<number>();
  const start = host(living);
  const first = start(100);
  living.delete(100);
  assert.notEqual(start(200, { name: 'w2' }).nonce, first.nonce);
  assert.notEqual(start(300, { apiUrl: 'http://elsewhere' }).nonce, first.nonce);
  assert.equal(start(400).nonce, first.nonce);
});
