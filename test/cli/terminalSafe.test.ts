// Text from containers and users reaches the terminal with its control characters shown,
// never obeyed: escape sequences, carriage returns, C1 controls, bidirectional overrides.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { renderTask } from '../../cli/commands/inspect.js';
import { reportError } from '../../cli/errors.js';
import { describeTask, oneLine, safeJson, terminalSafe } from '../../cli/format.js';
import { createProgress } from '../../cli/progress.js';
import { formatTable } from '../../cli/table.js';
import { newTask } from '../../core/taskStateMachine.js';
import type { TaskRecord } from '../../core/types.js';

// Anything a terminal would act on: C0 (but \n and \t in multi-line text), DEL, C1, bidi.
const OBEYED =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const OBEYED_IN_A_LINE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

const TITLE = '\u001b]0;pwned\u0007'; // sets the terminal window's title
const CLEAR = '\u001b[2J\u001b[H'; // clears the screen
const CSI8 = '\u009b31m'; // 8-bit CSI: red on terminals that take C1 controls
const RTL = 'exe.\u202etxt'; // reads as "exe.txt" reversed

describe('terminalSafe / oneLine', () => {
  it('shows controls as escapes', () => {
    assert.equal(oneLine(`a${TITLE}b`), 'a\\e]0;pwned\\x07b');
    assert.equal(oneLine(`x${CLEAR}`), 'x\\e[2J\\e[H');
    assert.equal(oneLine(CSI8), '\\x9b31m');
    assert.equal(oneLine(RTL), 'exe.\\u202etxt');
    assert.equal(oneLine('fake\rreal\nline\tcell'), 'fake\\rreal\\nline\\tcell');
    assert.equal(terminalSafe('line one\nline\ttwo\r\u0008'), 'line one\nline\ttwo\\r\\x08');
  });

  it('leaves ordinary text, including non-Latin and emoji, as it is', () => {
    for (const text of ['web-1', 'zone=b', 'Grüße, 世界 🚀', 'exit code 137: OOM killed']) {
      assert.equal(oneLine(text), text);
      assert.equal(terminalSafe(text), text);
    }
  });

  it('leaves no control character in any string, and only adds to one that had some', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (text) => {
        assert.doesNotMatch(oneLine(text), OBEYED_IN_A_LINE);
        assert.doesNotMatch(terminalSafe(text), OBEYED);
        if (!OBEYED_IN_A_LINE.test(text)) assert.equal(oneLine(text), text);
      }),
    );
  });

  it('keeps JSON valid and equal to what it encodes', () => {
    const value = { name: `n${CSI8}`, reason: `r${TITLE}`, label: RTL, nested: ['\u0085'] };
    const json = safeJson(value);
    assert.doesNotMatch(json, OBEYED);
    assert.deepEqual(JSON.parse(json), value);
  });
});

const task = (overrides: Partial<TaskRecord>, name = 'web'): TaskRecord => ({
  ...newTask(
    't0123456789ab',
    {
      name,
      image: 'busybox',
      command: ['sh'],
      env: {},
      resources: { cpuMillis: 100, memoryBytes: 64 * 1024 ** 2, diskBytes: 0 },
      ports: [],
      restart: { mode: 'never' },
      labels: { team: `ops${CLEAR}` },
      network: 'none',
      stopSignal: 'SIGTERM',
      stopTimeoutSeconds: 10,
    },
    'api',
  ).task,
  ...overrides,
});

describe("the CLI's outputs", () => {
  it('tables (ps, nodes, token list) escape every cell', () => {
    const out = formatTable(['NAME', 'REASON'], [[`evil${TITLE}`, `exit 1${CSI8}\nforged row`]]);
    assert.doesNotMatch(out.replace(/\n/g, ''), OBEYED_IN_A_LINE);
    assert.equal(out.trimEnd().split('\n').length, 2, 'no forged row');
    assert.match(out, /evil\\e\]0;pwned\\x07/);
  });

  it('inspect escapes names, labels, reasons and health output, one line each', () => {
    const shown = renderTask(
      task(
        {
          state: 'FAILED',
          exitCode: 1,
          reason: `exited${TITLE}\nReason:  all fine`,
          health: { status: 'unhealthy', failingStreak: 3, output: `probe ${CLEAR}` },
        },
        `web${RTL}`,
      ),
      [],
      new Map(),
    );
    assert.doesNotMatch(shown, OBEYED);
    assert.equal(shown.match(/^Reason:/gm)?.length, 1, 'no forged field');
    assert.match(shown, /Labels: +team=ops\\e\[2J\\e\[H/);
    assert.match(shown, /Name: +webexe\.\\u202etxt/);
  });

  it('run --wait progress and its result line escape the task', () => {
    let written = '';
    const progress = createProgress({
      write: (chunk: string) => {
        written += chunk;
      },
    });
    progress.done(describeTask(task({ state: 'FAILED', reason: `boom${CSI8}` }, 'web')));
    assert.doesNotMatch(written, OBEYED);
    assert.match(written, /boom\\x9b31m/);
  });

  it('errors escape what the API quoted back', () => {
    let written = '';
    reportError(new Error(`name: must match [a-z]+ (got '${TITLE}')`), {
      write: (chunk: string) => {
        written += chunk;
      },
    });
    assert.doesNotMatch(written, OBEYED);
  });
});
