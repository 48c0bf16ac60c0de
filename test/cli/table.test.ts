import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAge, formatCommand } from '../../cli/format.js';
import { formatTable, truncate } from '../../cli/table.js';

describe('formatTable', () => {
  it('aligns columns two spaces apart without trailing spaces', () => {
    const out = formatTable(
      ['ID', 'NAME', 'STATE'],
      [
        ['t1', 'web', 'RUNNING'],
        ['t22', 'a-longer-name', ''],
      ],
    );
    assert.equal(
      out,
      'ID   NAME           STATE\nt1   web            RUNNING\nt22  a-longer-name\n',
    );
  });

  it('prints only the header for no rows', () => {
    assert.equal(formatTable(['ID', 'NAME'], []), 'ID  NAME\n');
  });

  it('truncates to maxWidths and flattens newlines', () => {
    const out = formatTable(['ID', 'REASON'], [['t1', 'line one\nline two is long']], {
      maxWidths: { REASON: 10 },
    });
    assert.equal(out, 'ID  REASON\nt1  line one…\n');
  });

  it('treats missing cells as empty', () => {
    assert.equal(formatTable(['A', 'B', 'C'], [['x']]), 'A  B  C\nx\n');
  });
});

describe('truncate', () => {
  it('keeps short text and cuts long text with an ellipsis', () => {
    assert.equal(truncate('abc', 3), 'abc');
    assert.equal(truncate('abcd', 3), 'ab…');
    assert.equal(truncate('abcd', 1), '…');
    assert.equal(truncate('abcd', 0), '');
  });
});

describe('formatAge', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  it('uses the largest sensible unit', () => {
    assert.equal(formatAge('2026-01-01T11:59:55Z', now), '5s');
    assert.equal(formatAge('2026-01-01T11:55:00Z', now), '5m');
    assert.equal(formatAge('2026-01-01T07:00:00Z', now), '5h');
    assert.equal(formatAge('2025-12-27T12:00:00Z', now), '5d');
  });
  it('never goes negative and copes with nonsense', () => {
    assert.equal(formatAge('2026-01-01T12:00:09Z', now), '0s');
    assert.equal(formatAge(undefined, now), '-');
    assert.equal(formatAge('yesterday', now), '-');
  });
});

describe('formatCommand', () => {
  it('quotes arguments a shell would split', () => {
    assert.equal(formatCommand(['sh', '-c', "echo 'hi' there"]), `sh -c 'echo '\\''hi'\\'' there'`);
    assert.equal(formatCommand([]), '(image default)');
  });
});
