import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ValidationError } from '../../core/errors.js';
import {
  advance,
  type LogPosition,
  parseEngineLine,
  ResumeFilter,
  sinceParameter,
  stripLineEnd,
} from '../../core/logs/engineLines.js';
import { droppedLine, LogBuffer, PUT_LIMITS } from '../../core/logs/logBuffer.js';
import { parseLogStreamName, parseSince } from '../../core/logs/logNames.js';
import { validateTaskSpec } from '../../core/taskSpec.js';

test('an engine line splits into a sortable key, milliseconds and the text as printed', () => {
  const line = parseEngineLine('2026-12-05T23:43:50.123456789Z  two spaces kept ');
  assert.deepEqual(line, {
    key: '001796514230.123456789',
    ms: 1796514230123,
    message: ' two spaces kept ',
  });
  // Fewer digits and other offsets mean the same instant.
  assert.equal(parseEngineLine('2026-12-05T23:43:50.5Z x')?.key, '001796514230.500000000');
  assert.equal(parseEngineLine('2026-12-06T00:43:50.5+01:00 x')?.key, '001796514230.500000000');
  assert.equal(parseEngineLine('no timestamp here'), undefined);
  assert.equal(sinceParameter('001796514230.000000042'), '1796514230.000000042');
  assert.equal(stripLineEnd('a\r\n'), 'a');
  assert.equal(stripLineEnd('a\n'), 'a');
  assert.equal(stripLineEnd('partial'), 'partial');
});

test('a resumed reader skips exactly what it had, lines at the same instant included', () => {
  const keys = ['1', '2', '2', '2', '3', '4'].map((k) => k.padStart(3, '0'));
  let position: LogPosition | undefined;
  for (const key of keys.slice(0, 3)) position = advance(position, key);
  assert.deepEqual(position, { key: '002', seen: 2 });
  // The engine answers `since` inclusively: from the first line at 002.
  const filter = new ResumeFilter(position);
  const fresh = keys.slice(1).filter((key) => filter.accept(key));
  assert.deepEqual(fresh, ['002', '003', '004']);
  assert.equal(filter.gap(), false);
  const rotated = new ResumeFilter(position);
  assert.equal(rotated.accept('003'), true);
  assert.equal(rotated.gap(), true, 'the last line shipped was rotated away');
});

test('the buffer drops what does not fit, counts it and ships a line in its place', () => {
  const buffer = new LogBuffer(3 * (PUT_LIMITS.eventOverhead + 1));
  for (let i = 0; i < 10; i++) buffer.push(i, String(i), { key: String(i), seen: 1 });
  assert.equal(buffer.dropped, 7);
  const batch = buffer.peekBatch();
  assert.deepEqual(
    batch.map((e) => e.message),
    ['0', '1', '2', droppedLine(7)],
  );
  // The drop line stands where the first dropped line was, and resumes after the last.
  assert.equal(batch[3]!.timestamp, 3);
  assert.deepEqual(batch[3]!.position, { key: '9', seen: 1 });
  buffer.commit(batch.length);
  assert.equal(buffer.size, 0);
  assert.equal(buffer.push(10, '', { key: 'a', seen: 1 }), true);
  assert.equal(buffer.peekBatch()[0]!.message, ' ', 'CloudWatch refuses empty messages');
});

test('batches keep to PutLogEvents limits and time order', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(fc.integer({ min: 0, max: 3 * 86_400_000 }), fc.string({ maxLength: 300 })),
        {
          maxLength: 400,
        },
      ),
      fc.integer({ min: 1, max: 60 }),
      (lines, kib) => {
        const limits = { maxEvents: 50, maxBytes: kib * 1024, spanMs: PUT_LIMITS.spanMs };
        const buffer = new LogBuffer(64 * 1024 * 1024, limits);
        for (const [i, [ms, text]] of lines.entries()) {
          buffer.push(ms, text, { key: String(i), seen: 1 });
        }
        let shipped = 0;
        while (buffer.size > 0) {
          const batch = buffer.peekBatch();
          assert.ok(batch.length > 0 && batch.length <= limits.maxEvents);
          const bytes = batch.reduce((sum, e) => sum + e.bytes, 0);
          assert.ok(bytes <= limits.maxBytes);
          assert.ok(batch.at(-1)!.timestamp - batch[0]!.timestamp < PUT_LIMITS.spanMs);
          for (let i = 1; i < batch.length; i++) {
            assert.ok(batch[i]!.timestamp >= batch[i - 1]!.timestamp);
          }
          buffer.commit(batch.length);
          shipped += batch.length;
        }
        assert.equal(shipped, lines.length);
      },
    ),
  );
});

test('a full batch is cut at 10,000 events', () => {
  const buffer = new LogBuffer(64 * 1024 * 1024);
  for (let i = 0; i < 12_000; i++) buffer.push(i, 'x', { key: String(i), seen: 1 });
  assert.equal(buffer.fullBatchReady(), true);
  assert.equal(buffer.peekBatch().length, 10_000);
});

test('since: durations back from now, or a moment', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  assert.equal(parseSince('10m', now), now - 600_000);
  assert.equal(parseSince('1h30m', now), now - 5_400_000);
  assert.equal(parseSince('2026-01-01T11:00:00Z', now), now - 3_600_000);
  assert.equal(parseSince('1767268800000', now), 1767268800000);
  assert.equal(parseSince('yesterday', now), undefined);
  assert.deepEqual(parseLogStreamName('tabc123/2'), { taskId: 'tabc123', attempt: 2 });
  assert.equal(parseLogStreamName('../x'), undefined);
});

test('a task may opt out of shipping with logs: false, and only with a boolean', () => {
  const spec = (logs: unknown) => validateTaskSpec({ image: 'busybox', logs }, () => 'n');
  assert.equal(spec(false).logs, false);
  assert.equal(spec(true).logs, undefined, 'shipping is the default: nothing stored');
  assert.throws(
    () => spec('no'),
    (error: unknown) => error instanceof ValidationError && error.field === 'logs',
  );
});
