// Docker's reference grammar at its edges: what `docker pull` would parse, and what not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { imageReferenceProblem, isImageReference } from '../../core/imageReference.js';
import { validateTaskSpec } from '../../core/taskSpec.js';

const HEX64 = 'a'.repeat(64);

test('references Docker accepts', () => {
  for (const ref of [
    'busybox',
    'busybox:1.36',
    'busybox:latest',
    'library/busybox',
    'docker.io/library/busybox:1.36',
    'localhost/app',
    'localhost:5000/app',
    'localhost:5000', // the repository "localhost" with tag "5000"
    'registry.example.com:443/team/app:v1.2.3-rc.1',
    'REGISTRY.Example.com/team/app', // the domain may be upper case, the path not
    '127.0.0.1:5000/app',
    '[::1]:5000/app',
    '[fe80::1]/app:tag',
    'my-registry.io/a/b/c/d/e',
    'a__b',
    'a---b',
    'a.b_c-d',
    'app:_private',
    'app:TAG_1.0-x',
    `app:${'t'.repeat(128)}`,
    `app@sha256:${HEX64}`,
    `app:1.0@sha256:${HEX64}`,
    `registry:5000/app@sha512:${'0'.repeat(128)}`,
    `${'a'.repeat(255)}:tag`,
  ]) {
    assert.equal(imageReferenceProblem(ref), undefined, ref);
  }
});

test('references Docker refuses', () => {
  for (const ref of [
    '',
    'Busybox', // upper-case path
    'library/Busybox',
    'busybox:',
    ':tag',
    'busybox::tag',
    'busybox:tag:tag',
    'busybox:-tag',
    'busybox:.tag',
    `busybox:${'t'.repeat(129)}`,
    '-busybox',
    'busybox-',
    '.busybox',
    'bus..ybox',
    'a___b',
    'a_-b',
    'foo//bar',
    '/foo',
    'foo/',
    'foo bar',
    'busybox\n',
    ' busybox',
    'föö',
    'http://registry/app',
    'registry:port/app',
    '-registry.io/app',
    'registry-.io/app',
    'a.-b.io/app',
    '[::1/app',
    'app@sha256:abc',
    `app@sha256:${'A'.repeat(64)}`,
    `app@md5:${HEX64}`,
    `app@sha256:${HEX64}:tag`,
    `app@${HEX64}`,
    `${'a'.repeat(256)}`,
    `${'a'.repeat(250)}/${'b'.repeat(10)}:tag`,
  ]) {
    assert.equal(isImageReference(ref), false, JSON.stringify(ref));
  }
});

test('a task spec names the image field and the grammar', () => {
  assert.throws(
    () => validateTaskSpec({ image: 'Busybox' }, () => 'x'),
    /^ValidationError: image: must be a Docker image reference/,
  );
  assert.throws(
    () => validateTaskSpec({ image: `${'a'.repeat(256)}` }, () => 'x'),
    /image: its repository name must be at most 255 characters/,
  );
});

test('pathological input is answered quickly', () => {
  const started = performance.now();
  for (const ref of [
    `${'a-'.repeat(200)}!`,
    `${'a.'.repeat(200)}/`,
    `${'a__'.repeat(150)}_`,
    `${'a'.repeat(400)}:`,
  ]) {
    assert.equal(isImageReference(ref), false);
  }
  assert.ok(performance.now() - started < 100, 'no catastrophic backtracking');
});
