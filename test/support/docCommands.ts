// The `cube ...` and `npm ...` command lines a Markdown page shows, as argv, for the test that
// checks them against the real CLI (test/cli/docCommands.test.ts). Shell blocks give whole
// command lines: `#` comments dropped, `\` continuations joined, `a && b`, `a; b`, pipes and
// `$(...)` split into their commands, `VAR=value` prefixes, `sudo` and `node bin/cube.js`
// recognised. Inline code spans (in prose or a block's comment) give mentions (`cube run`, `cube logs -f`), which need not be
// complete. Placeholders become sample values: `<id>`, ID/NAME/FILE/N..., `...`, optional
// `[--json]` parts are kept (their option must exist), `cordon|uncordon` gives one line each.

export interface DocCommand {
  file: string;
  /** 1-based line of the page where the command starts. */
  line: number;
  /** As written (continuations joined). */
  written: string;
  /**
   * A shell block's line (a whole command), an inline span with placeholders (a synopsis:
   * `cube scale NAME N [--wait]`, also whole) or an inline mention (`cube logs -f`, `cube up
   * ...`), which may leave out what the command needs.
   */
  kind: 'block' | 'synopsis' | 'mention';
  program: 'cube' | 'npm';
  /** The arguments after `cube` (or `npm`), placeholders filled. */
  argv: string[];
}

interface Word {
  text: string;
  quoted: boolean;
}

/** Words and the operators between commands; `#` at a word's start ends the line. */
function shellWords(line: string): (Word | 'sep')[] {
  const out: (Word | 'sep')[] = [];
  let text = '';
  let quoted = false;
  let inWord = false;
  const end = () => {
    if (inWord) out.push({ text, quoted });
    text = '';
    quoted = false;
    inWord = false;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (/\s/.test(c)) {
      end();
    } else if (c === '#' && !inWord) {
      break;
    } else if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      const stop = close < 0 ? line.length : close;
      text += line.slice(i + 1, stop);
      quoted = true;
      inWord = true;
      i = stop;
    } else if (c === '$' && line[i + 1] === '(') {
      let depth = 0;
      let j = i + 1;
      for (; j < line.length; j++) {
        if (line[j] === '(') depth++;
        else if (line[j] === ')' && --depth === 0) break;
      }
      text += line.slice(i, j + 1);
      inWord = true;
      i = j;
    } else if (c === ';' || ((c === '&' || c === '|') && !inWord)) {
      // `a && b`, `a || b`, `a | b`, `a &`, `a; b` (a `|` inside a word lists alternatives)
      end();
      if ((c === '&' || c === '|') && line[i + 1] === c) i++;
      out.push('sep');
    } else {
      text += c;
      inWord = true;
    }
  }
  end();
  return out;
}

const SAMPLES: Record<string, string> = {
  N: '3',
  S: '60',
  D: '10m',
  FILE: 'task.json',
  ID: 't0123456789ab',
  TASK: 't0123456789ab',
  NAME: 'web',
  SERVICE: 'web',
  TARGET: 'web',
  IMAGE: 'cube-test/busybox',
  CMD: 'sh',
  ARGS: 'x',
  PLACEHOLDER: 'x',
};

/** A text with a placeholder: `<id>`, `[--json]`, a capital sample name (`NAME`, `TASK|SERVICE`). */
const PLACEHOLDER = new RegExp(
  `<[^>]*>|\\[|(^|[\\s|])(${Object.keys(SAMPLES).join('|')})([\\s|.]|$)`,
);

/** One word's possible values: a placeholder's sample, each of `a|b|c`, `[--opt]` unwrapped. */
function expand(word: Word): string[] {
  if (word.quoted) return [word.text];
  const text = word.text.replace(/^\[/, '').replace(/\]$/, '');
  if (text === '...') return [SAMPLES.PLACEHOLDER!];
  const bare = text.replace(/\.\.\.$/, '');
  const choices = bare.includes('|') && !bare.startsWith('-') ? bare.split('|') : [bare];
  return choices.map((choice) => SAMPLES[choice] ?? choice);
}

/** Every combination of the words' values (alternatives multiply). */
function combinations(words: Word[]): string[][] {
  let lines: string[][] = [[]];
  for (const word of words) {
    const values = expand(word);
    lines = lines.flatMap((line) => values.map((value) => [...line, value]));
  }
  return lines;
}

const isNode = (w: string) => w === 'node' || /command -v node\)$/.test(w);

/** The commands of one shell command line (already joined): [program, words after it]. */
function commandsOf(line: string): { program: 'cube' | 'npm'; words: Word[] }[] {
  const found: { program: 'cube' | 'npm'; words: Word[] }[] = [];
  // `<id or name>` is one placeholder, spaces and all.
  const words = shellWords(line.replace(/<[^<>]*>/g, 'PLACEHOLDER'));
  const segments: Word[][] = [[]];
  for (const word of words) {
    if (word === 'sep') segments.push([]);
    else segments.at(-1)!.push(word);
  }
  for (const words of segments) {
    // `> file`, `2>&1`: not arguments
    const segment = words.filter(
      (w, i) =>
        w.quoted ||
        (!/^\d?>/.test(w.text) &&
          !(i > 0 && /^\d?>>?$/.test(words[i - 1]!.text) && !words[i - 1]!.quoted)),
    );
    for (const word of segment) {
      const inner = /^[\w]*=?\$\((.*)\)$/.exec(word.text)?.[1];
      if (inner) found.push(...commandsOf(inner));
    }
    let i = 0;
    while (i < segment.length && /^[A-Za-z_]\w*=/.test(segment[i]!.text)) i++;
    if (segment[i]?.text === 'sudo') i++;
    if (segment[i]?.text === 'exec') i++;
    const first = segment[i]?.text;
    if (first === 'cube') found.push({ program: 'cube', words: segment.slice(i + 1) });
    else if (first && isNode(first) && /(^|\/)bin\/cube\.js$/.test(segment[i + 1]?.text ?? '')) {
      found.push({ program: 'cube', words: segment.slice(i + 2) });
    } else if (first === 'npm') found.push({ program: 'npm', words: segment.slice(i + 1) });
  }
  return found;
}

function toDocCommands(
  file: string,
  line: number,
  written: string,
  kind: DocCommand['kind'],
): DocCommand[] {
  return commandsOf(written).flatMap(({ program, words }) =>
    combinations(words).map((argv) => ({ file, line, written, kind, program, argv })),
  );
}

/** Every command a Markdown page shows, in shell blocks and inline code spans. */
export function docCommands(file: string, markdown: string): DocCommand[] {
  const found: DocCommand[] = [];
  const lines = markdown.split('\n');
  let fence: 'shell' | 'other' | undefined;
  let pending: { start: number; text: string } | undefined;
  lines.forEach((line, index) => {
    if (/^\s*```/.test(line)) {
      fence = fence
        ? undefined
        : /^\s*```(sh|bash|shell|console)\s*$/.test(line)
          ? 'shell'
          : 'other';
      return;
    }
    if (fence === 'shell') {
      const start = pending?.start ?? index + 1;
      const text = `${pending ? `${pending.text} ` : ''}${line.trim()}`;
      if (text.endsWith('\\')) {
        pending = { start, text: text.slice(0, -1).trimEnd() };
        return;
      }
      pending = undefined;
      found.push(...toDocCommands(file, start, text, 'block'));
      // a comment's `cube ...` (backticks are not command substitution in these pages)
      found.push(...inlineCommands(file, index + 1, line));
      return;
    }
    if (!fence) found.push(...inlineCommands(file, index + 1, line));
  });
  return found;
}

/** The commands of a line's inline code spans. */
function inlineCommands(file: string, line: number, text: string): DocCommand[] {
  return [...text.matchAll(/`([^`]+)`/g)]
    .map((span) => span[1]!)
    .filter((span) =>
      /^(sudo |[A-Z_]+=\S* )*(cube|npm|node bin\/cube\.js|"\$\(command -v node\)") /.test(span),
    )
    .flatMap((span) => {
      const synopsis = PLACEHOLDER.test(span) && !/(^|\s)\.\.\.(\s|$)/.test(span);
      return toDocCommands(file, line, span, synopsis ? 'synopsis' : 'mention');
    });
}

/**
 * The npm script a command runs (`npm test`, `npm run --silent token:create -- ...`), or
 * undefined for npm's own commands (`npm ci`, `npm install ...`).
 */
export function npmScript(argv: readonly string[]): string | undefined {
  const [verb, ...rest] = argv;
  if (verb === 'test' || verb === 'start') return verb;
  if (verb !== 'run' && verb !== 'run-script') return undefined;
  return rest.find((arg) => !arg.startsWith('-'));
}

/** AWS managed KMS key aliases (`aws/secretsmanager`) read like paths under aws/. */
const KMS_ALIAS = /^aws\/(secretsmanager|ssm|logs|sqs|dynamodb|lambda|s3|kms)$/;

/** The repository paths a page names (`scripts/moto_server.py`, `worker/tasks/`), by line. */
export function repoPaths(markdown: string): [string, number][] {
  const found: [string, number][] = [];
  markdown.split('\n').forEach((line, index) => {
    const paths = line
      .replaceAll('$PWD/', ' ')
      .matchAll(
        /(?<![\w./$-])((?:aws|bin|cli|core|docs|examples|functions|infra|scripts|test|worker|\.ci)\/[\w.*/-]*)/g,
      );
    for (const match of paths) {
      const path = match[1]!.replace(/[.,:;]+$/, '');
      if (!path.includes('*') && !KMS_ALIAS.test(path)) found.push([path, index + 1]);
    }
  });
  return found;
}
