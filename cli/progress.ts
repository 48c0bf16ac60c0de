// A one-line spinner on a terminal's stderr. On anything else it stays silent and only the
// lines meant to stay (notes, the last) are written, so logs and pipes get no control
// characters. The text shown is made terminal-safe here: it names tasks and their reasons.
import { oneLine, terminalSafe } from './format.js';

export interface Progress {
  update(text: string): void;
  /** A line that stays (on a terminal, above the spinner), e.g. a planned restart's. */
  note(line: string): void;
  /** Clears the spinner and writes `line` (if any) on its own line. */
  done(line?: string): void;
}

interface Stream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function createProgress(stream: Stream, initial = ''): Progress {
  if (!stream.isTTY) {
    return {
      update() {},
      note(line) {
        stream.write(`${terminalSafe(line)}\n`);
      },
      done(line) {
        if (line) stream.write(`${terminalSafe(line)}\n`);
      },
    };
  }
  let text = oneLine(initial);
  let frame = 0;
  const render = () => {
    const max = Math.max(10, (stream.columns || 80) - 3);
    const shown = text.length > max ? `${text.slice(0, max - 1)}…` : text;
    stream.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${shown}`);
  };
  const timer = setInterval(render, 80);
  timer.unref();
  render();
  return {
    update(next) {
      text = oneLine(next);
    },
    note(line) {
      stream.write(`\r\x1b[2K${terminalSafe(line)}\n`);
      render();
    },
    done(line) {
      clearInterval(timer);
      stream.write('\r\x1b[2K');
      if (line) stream.write(`${terminalSafe(line)}\n`);
    },
  };
}
