// Keeps the README's and docs' commands honest: every `cube ...` line of their shell blocks is
// resolved by the very Cli the binary builds (cli/commandLine.ts) without running it, so an
// unknown command or option, a missing required argument or a refused option value fails
// here with the page and line. Inline mentions (`cube logs -f`) must name a real command and
// only its options. `npm run X` must name a script of package.json, a repository path a
// page names must exist. `cube --help` and a few `--help`s run for real through bin/cube.js;
// the docs' read-only commands run against a real cluster in test/e2e/docReadOnly.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Cli } from 'clipanion';
import { buildCli, COMMANDS, describeSyntaxError, isSyntaxError } from '../../cli/commandLine.js';
import { RunCommand } from '../../cli/commands/run.js';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import { buildTaskRequest } from '../../cli/taskRequest.js';
import { validateTaskSpec } from '../../core/taskSpec.js';
import { type DocCommand, docCommands, npmScript, repoPaths } from '../support/docCommands.js';

const PAGES = ['README.md', ...readdirSync(join(PROJECT_ROOT, 'docs')).map((f) => `docs/${f}`)]
  .filter((file) => file.endsWith('.md'))
  .sort();

const all: DocCommand[] = PAGES.flatMap((file) =>
  docCommands(file, readFileSync(join(PROJECT_ROOT, file), 'utf8')),
);
const cube = all.filter((c) => c.program === 'cube');
const where = (c: DocCommand) => `${c.file}:${c.line}: ${c.written}`;

const cli = buildCli();

/**
 * Why this argv is refused, or undefined when it resolves to a command: clipanion's reason,
 * or for `cube run` what the API's validation would say of the spec it builds.
 */
function refusal(argv: string[]): string | undefined {
  try {
    const command = cli.process(argv, { ...Cli.defaultContext, env: {} });
    if (command instanceof RunCommand) {
      validateTaskSpec(buildTaskRequest(command.flags()), () => 'doc-task');
    }
    return undefined;
  } catch (error) {
    if (isSyntaxError(error)) return describeSyntaxError(error, argv);
    return error instanceof Error ? error.message : String(error);
  }
}

/** Each command path (`node cordon`, `tokens`) with the option names it takes. */
const PATHS: { path: string[]; options: Set<string>; command: (typeof COMMANDS)[number] }[] =
  COMMANDS.flatMap((command) => {
    const definition = cli
      .definitions()
      .find((d) => d.path === `cube ${command.paths[0]!.join(' ')}`);
    assert.ok(definition, `no definition for ${command.name}`);
    const options = new Set(
      definition.options.flatMap((o) => o.definition.split(' ')[0]!.split(',')),
    );
    options.add('--help').add('-h');
    return command.paths.map((path) => ({ path, options, command }));
  });

/** The command an argv starts with (the longest path it matches). */
const commandOf = (argv: readonly string[]) =>
  PATHS.filter(({ path }) => path.every((word, i) => argv[i] === word)).sort(
    (a, b) => b.path.length - a.path.length,
  )[0];

/** The options an argv gives its command (before `--`). */
function optionsOf(argv: readonly string[], pathLength: number): string[] {
  const end = argv.indexOf('--');
  return argv
    .slice(pathLength, end < 0 ? undefined : end)
    .filter((arg) => arg.startsWith('-'))
    .map((arg) => arg.split('=')[0]!);
}

/** For a mention: the command it names and only its options, or why not. */
function mentionRefusal(argv: string[]): string | undefined {
  const match = commandOf(argv);
  if (!match) {
    // `cube token`, `cube node`: a family of commands
    const words = argv.filter((a) => !a.startsWith('-'));
    const family = PATHS.some(({ path }) => words.every((word, i) => path[i] === word));
    return family && words.length === argv.length
      ? undefined
      : `no command 'cube ${words.join(' ')}'`;
  }
  for (const name of optionsOf(argv, match.path.length)) {
    if (!match.options.has(name) && !match.options.has(name.replace(/^--no-/, '--'))) {
      return `'cube ${match.path.join(' ')}' has no option ${name}`;
    }
  }
  return undefined;
}

describe('the commands the README and docs show', () => {
  it('finds them, shell blocks and inline mentions of every page', () => {
    assert.ok(cube.filter((c) => c.kind === 'block').length >= 40, `${cube.length} found`);
    assert.ok(cube.filter((c) => c.kind === 'synopsis').length >= 10, `${cube.length} found`);
    assert.ok(cube.some((c) => c.file === 'README.md' && c.argv[0] === 'worker'));
    assert.ok(all.some((c) => c.program === 'npm' && c.file === 'docs/DEPLOY.md'));
  });

  it('every `cube ...` line of a shell block or synopsis resolves to a command, with all it needs', () => {
    const wrong = cube
      .filter((c) => c.kind !== 'mention')
      .map((c) => [c, refusal(c.argv)] as const)
      .filter(([, why]) => why !== undefined)
      .map(([c, why]) => `${where(c)}\n    cube ${c.argv.join(' ')}: ${why}`);
    assert.deepEqual(wrong, []);
  });

  it('every inline `cube ...` mention names a real command and only its options', () => {
    const wrong = cube
      .filter((c) => c.kind === 'mention')
      .map((c) => [c, mentionRefusal(c.argv)] as const)
      .filter(([, why]) => why !== undefined)
      .map(([c, why]) => `${where(c)}\n    ${why}`);
    assert.deepEqual(wrong, []);
  });

  it('every `npm run X` names a script of package.json', () => {
    const { scripts } = JSON.parse(readFileSync(join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    const runs = all.filter((c) => c.program === 'npm' && npmScript(c.argv) !== undefined);
    assert.ok(runs.length >= 5, `${runs.length} npm runs found`);
    const wrong = runs
      .filter((c) => !(npmScript(c.argv)! in scripts))
      .map((c) => `${where(c)}: no script '${npmScript(c.argv)}'`);
    assert.deepEqual(wrong, []);
  });

  it('every file or folder of the repository a page names exists', () => {
    const named = PAGES.flatMap((file) =>
      repoPaths(readFileSync(join(PROJECT_ROOT, file), 'utf8')).map(
        ([path, line]) => [file, line, path] as const,
      ),
    );
    assert.ok(named.some(([, , path]) => path === 'examples/services/web.yaml'));
    assert.ok(named.some(([, , path]) => path === 'examples/plugins/cheapest.ts'));
    const missing = named
      .filter(([, , path]) => !existsSync(join(PROJECT_ROOT, path)))
      .map(([file, line, path]) => `${file}:${line}: ${path}`);
    assert.deepEqual(missing, []);
  });

  it("every command's own --help examples resolve too", () => {
    const wrong = cli
      .definitions()
      .flatMap((d) => (d.examples ?? []).map(([, example]) => example))
      .flatMap((example) => docCommands('--help', `\`\`\`sh\n${example}\n\`\`\``))
      .map((c) => [c, refusal(c.argv)] as const)
      .filter(([, why]) => why !== undefined)
      .map(([c, why]) => `${c.written}: ${why}`);
    assert.deepEqual(wrong, []);
  });
});

describe("each command's help shows what the docs use", () => {
  it("cube <command> --help shows every option the docs' whole lines give it", () => {
    const byCommand = new Map<(typeof PATHS)[number], Set<string>>();
    for (const c of cube.filter((c) => c.kind !== 'mention')) {
      const match = commandOf(c.argv);
      if (!match) continue;
      const options = byCommand.get(match) ?? new Set<string>();
      for (const name of optionsOf(c.argv, match.path.length)) {
        if (name.startsWith('--')) options.add(name.replace(/^--no-/, '--'));
      }
      byCommand.set(match, options);
    }
    assert.ok(byCommand.size >= 15, `${byCommand.size} commands`);
    for (const [{ path, command }, options] of byCommand) {
      // What `cube <path> --help` prints (clipanion's HelpCommand calls just this).
      const help = cli.usage(command, { detailed: true, colored: false });
      assert.match(help, new RegExp(`\\$ cube ${path.join(' ')}\\b`));
      for (const option of options) {
        assert.ok(help.includes(option), `cube ${path.join(' ')} --help does not show ${option}`);
      }
    }
  });
});

describe('the read-only ones, run for real', () => {
  const run = promisify(execFile);
  const cubeBin = (args: string[]) =>
    run(process.execPath, [join(PROJECT_ROOT, 'bin', 'cube.js'), ...args], {
      env: { ...process.env, NO_COLOR: '1', CUBE_API_URL: '', CUBE_TOKEN: '' },
    });

  it('cube --help lists every command the docs use', async () => {
    const { stdout } = await cubeBin(['--help']);
    const used = PATHS.filter(({ path }) => path[0] !== 'tokens' && path.join(' ') !== 'service ls')
      .filter((p) => cube.some((c) => commandOf(c.argv) === p))
      .map(({ path }) => path.join(' '));
    assert.ok(used.length >= 15, used.join(', '));
    const missing = used.filter((path) => !new RegExp(`cube ${path}( |\\n)`).test(stdout));
    assert.deepEqual(missing, [], stdout);
  });

  it('cube ps --help and cube run --help answer without a cluster', async () => {
    const ps = await cubeBin(['ps', '--help']);
    assert.match(ps.stdout, /\$ cube ps/);
    assert.match(ps.stdout, /--all/);
    const run = await cubeBin(['run', '--help']);
    assert.match(run.stdout, /\$ cube run/);
    assert.match(run.stdout, /--restart/);
    const version = await cubeBin(['--version']);
    assert.match(version.stdout, /^\d+\.\d+\.\d+/);
  });
});

describe('reading commands out of Markdown', () => {
  const page = [
    'Run `cube logs -f --tail 100 TASK|SERVICE` or `npm run bench:e2e` (`cube up ...`).',
    '```sh',
    'cube inspect <id or name>          # a comment with --bogus',
    'sudo "$(command -v node)" bin/cube.js worker install \\',
    '  --api-url "$CUBE_API_URL" --region eu-west-1',
    'export X=1 && CUBE_TOKEN="$(cat t)" node bin/cube.js run busybox -- sleep 30 &',
    'cube node cordon|uncordon <id>   # admin; `cube node rm` later',
    'cube token list [--json]; id=$(cube run busybox -- true)',
    'npm run --silent token:create -- --name admin > admin-token',
    '```',
    '```json',
    '{ "cube": "not a command" }',
    '```',
  ].join('\n');
  const found = docCommands('page.md', page).map((c) => [c.line, c.kind, c.program, c.argv]);

  it('takes whole lines from shell blocks and mentions from inline spans', () => {
    assert.deepEqual(found, [
      [1, 'synopsis', 'cube', ['logs', '-f', '--tail', '100', 't0123456789ab']],
      [1, 'synopsis', 'cube', ['logs', '-f', '--tail', '100', 'web']],
      [1, 'mention', 'npm', ['run', 'bench:e2e']],
      [1, 'mention', 'cube', ['up', 'x']],
      [3, 'block', 'cube', ['inspect', 'x']],
      [
        4,
        'block',
        'cube',
        ['worker', 'install', '--api-url', '$CUBE_API_URL', '--region', 'eu-west-1'],
      ],
      [6, 'block', 'cube', ['run', 'busybox', '--', 'sleep', '30']],
      [7, 'block', 'cube', ['node', 'cordon', 'x']],
      [7, 'block', 'cube', ['node', 'uncordon', 'x']],
      [7, 'mention', 'cube', ['node', 'rm']],
      [8, 'block', 'cube', ['token', 'list', '--json']],
      [8, 'block', 'cube', ['run', 'busybox', '--', 'true']],
      [9, 'block', 'npm', ['run', '--silent', 'token:create', '--', '--name', 'admin']],
    ]);
  });

  it('finds the repository paths a line names', () => {
    assert.deepEqual(
      repoPaths(
        'see `worker/tasks/`, scripts/demo.sh. Not x/cli/y, $PWD/bin/cube.js, aws/secretsmanager, test/**/*.ts',
      ),
      [
        ['worker/tasks/', 1],
        ['scripts/demo.sh', 1],
        ['bin/cube.js', 1],
      ],
    );
  });

  it('names the npm script a line runs', () => {
    assert.equal(npmScript(['run', '--silent', 'token:create', '--', '--x']), 'token:create');
    assert.equal(npmScript(['test']), 'test');
    assert.equal(npmScript(['ci']), undefined);
  });

  it('fails a wrong line, with the reason clipanion gives', () => {
    assert.match(refusal(['ps', '--bogus']) ?? '', /unsupported option name \("--bogus"\)/i);
    assert.match(refusal(['frobnicate']) ?? '', /unknown command 'frobnicate'/);
    assert.ok(refusal(['inspect']), 'a missing id is refused');
    assert.ok(refusal(['token', 'create', '--name', 'x']), 'a missing required --scope is refused');
    assert.equal(refusal(['inspect', 't0123456789ab']), undefined);
    assert.match(refusal(['run', '--memory', '64q', 'busybox']) ?? '', /memory/);
    assert.match(refusal(['run', '--network', 'hosts', 'busybox']) ?? '', /network/);
    assert.equal(refusal(['run', '--restart', 'on-failure:3', 'busybox', '--', 'true']), undefined);
    assert.match(mentionRefusal(['logs', '--bogus']) ?? '', /has no option --bogus/);
    assert.equal(mentionRefusal(['run', '--no-logs']), undefined);
    assert.equal(mentionRefusal(['token', 'create']), undefined);
  });
});
