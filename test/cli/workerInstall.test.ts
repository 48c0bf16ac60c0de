import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { UNIT_NAME, unitWord } from '../../cli/install/systemdUnit.js';
import { PROJECT_ROOT } from '../../cli/local/emulator.js';
import { placementKeyFingerprint } from '../../core/placementSignature.js';
import { runCube } from '../support/cli.js';
import { TEST_CONTROL_PLANE_KEY } from '../support/placement.js';

const root = mkdtempSync(join(tmpdir(), 'cube-install-'));
after(() => rmSync(root, { recursive: true, force: true }));

const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const noConfig = { XDG_CONFIG_HOME: join(root, 'no-config'), CUBE_API_URL: '', CUBE_TOKEN: '' };

async function install(dir: string, extra: string[] = []) {
  return runCube(
    [
      'worker',
      'install',
      '--unit-dir',
      join(dir, 'systemd'),
      '--environment-file',
      join(dir, 'etc', 'worker.env'),
      ...extra,
    ],
    noConfig,
  );
}

const flags = [
  '--api-url',
  'https://abc.execute-api.eu-west-1.amazonaws.com',
  '--token',
  'cube_secret-token',
  '--region',
  'eu-west-1',
  '--name',
  'host-1',
  '--label',
  'zone=a',
  '--label',
  'disk=ssd',
  '--cpu',
  '2',
  '--start-concurrency',
  '2',
  '--advertise-addr',
  '10.0.0.5',
  '--bridge-network',
  'cube-net',
  // Given, so nothing asks the (unreachable) API for it; test/security/placementKeyPinning
  // installs against a live one.
  '--control-plane-key',
  TEST_CONTROL_PLANE_KEY,
];

describe('cube worker install', () => {
  const dir = join(root, 'one');
  const unitPath = join(dir, 'systemd', UNIT_NAME);
  const envPath = join(dir, 'etc', 'worker.env');

  it('writes a unit that runs this installation and a 0600 environment file', async () => {
    const result = await install(dir, flags);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /systemctl daemon-reload && systemctl enable --now cube-worker/);

    const unit = readFileSync(unitPath, 'utf8');
    const cube = realpathSync(join(PROJECT_ROOT, 'bin', 'cube.js'));
    assert.ok(
      unit.includes(
        `ExecStart=${process.execPath} ${cube} worker --name \${CUBE_WORKER_NAME} $CUBE_WORKER_ARGS`,
      ),
    );
    assert.match(unit, /^Restart=always$/m);
    assert.match(unit, new RegExp(`^EnvironmentFile=${envPath}$`, 'm'));
    assert.match(unit, /^NoNewPrivileges=yes$/m);
    assert.doesNotMatch(unit, /^MemoryDenyWriteExecute=/m);

    assert.equal(statSync(envPath).mode & 0o777, 0o600);
    const env = readFileSync(envPath, 'utf8');
    assert.match(env, /^CUBE_API_URL="https:\/\/abc\.execute-api\.eu-west-1\.amazonaws\.com"$/m);
    assert.match(env, /^CUBE_TOKEN="cube_secret-token"$/m);
    assert.match(env, /^CUBE_WORKER_NAME="host-1"$/m);
    assert.match(
      env,
      /^CUBE_WORKER_ARGS="--label zone=a --label disk=ssd --cpu 2 --start-concurrency 2 --advertise-addr 10.0.0.5 --bridge-network cube-net"$/m,
    );
    assert.match(env, /^AWS_REGION="eu-west-1"$/m);
    assert.doesNotMatch(env, /^(AWS_PROFILE|AWS_ENDPOINT_URL)=/m);
  });

  it('passes systemd-analyze verify without a warning', { skip: !hasSystemdAnalyze }, () => {
    // verify exits 0 on settings it ignores, so any output counts as a failure too.
    const out = spawnSync('systemd-analyze', ['verify', unitPath], { encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    assert.equal(`${out.stdout}${out.stderr}`.trim(), '');
  });

  it('writes a profile, credentials file and endpoint when given', async () => {
    const other = join(root, 'profile');
    const result = await install(other, [
      ...flags,
      '--aws-profile',
      'cube-worker',
      '--aws-credentials-file',
      '/etc/cube/aws-credentials',
      '--aws-endpoint-url',
      'http://localhost:4566',
      '--user',
      'cube',
    ]);
    assert.equal(result.code, 0, result.stderr);
    const env = readFileSync(join(other, 'etc', 'worker.env'), 'utf8');
    assert.match(env, /^AWS_PROFILE="cube-worker"$/m);
    assert.match(env, /^AWS_SHARED_CREDENTIALS_FILE="\/etc\/cube\/aws-credentials"$/m);
    assert.match(env, /^AWS_ENDPOINT_URL="http:\/\/localhost:4566"$/m);
    const unit = readFileSync(join(other, 'systemd', UNIT_NAME), 'utf8');
    assert.match(unit, /^User=cube\nSupplementaryGroups=docker$/m);
  });

  it("pins the control plane's key and this host's allowances in the environment file", async () => {
    const key = TEST_CONTROL_PLANE_KEY;
    const pinned = join(root, 'pinned');
    const result = await install(pinned, [...flags, '--allow', 'host-network,privileged']);
    assert.equal(result.code, 0, result.stderr);
    assert.ok(result.stdout.includes(`pinned placement key ${placementKeyFingerprint(key)}`));
    const env = readFileSync(join(pinned, 'etc', 'worker.env'), 'utf8');
    assert.ok(env.includes(`CUBE_CONTROL_PLANE_KEY="${key}"`));
    assert.match(env, /^CUBE_ALLOW_HOST_NETWORK="1"$/m);
    assert.match(env, /^CUBE_ALLOW_PRIVILEGED="1"$/m);
    assert.doesNotMatch(env, /CUBE_ALLOW_HOST_MOUNTS/);
    const withoutKey = flags.slice(0, -2);
    const bad = await install(join(root, 'badkey'), [...withoutKey, '--control-plane-key', 'abc']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /--control-plane-key: not a control plane key/);
    const badAllow = await install(join(root, 'badallow'), [...flags, '--allow', 'root']);
    assert.match(
      badAllow.stderr,
      /--allow takes host-network, privileged, host-mounts; not 'root'/,
    );
  });

  it('without --control-plane-key asks the API, and writes nothing when it cannot', async () => {
    const dir = join(root, 'unreachable');
    const result = await install(dir, [
      ...flags
        .slice(0, -2)
        .map((arg) => (arg.startsWith('https://abc') ? 'http://127.0.0.1:2' : arg)),
    ]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      /cannot get the control plane's placement key to pin: .*connection refused/,
    );
    assert.match(result.stderr, /--control-plane-key ed25519:/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(existsSync(dir), false);
  });

  it('refuses relative paths, a missing region or token, and labels with spaces', async () => {
    const bad = join(root, 'bad');
    const relative = await runCube(['worker', 'install', '--unit-dir', 'rel', ...flags], noConfig);
    assert.equal(relative.code, 2);
    assert.match(relative.stderr, /--unit-dir must be an absolute path/);

    const noRegion = await runCube(
      [
        'worker',
        'install',
        '--unit-dir',
        bad,
        '--environment-file',
        join(bad, 'env'),
        '--api-url',
        'http://x',
        '--token',
        't',
      ],
      { ...noConfig, AWS_REGION: '', AWS_DEFAULT_REGION: '' },
    );
    assert.equal(noRegion.code, 2);
    assert.match(noRegion.stderr, /--region is required/);

    const noToken = await install(bad, ['--api-url', 'http://x', '--region', 'eu-west-1']);
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /no token configured/);

    const concurrency = await install(bad, [...flags, '--start-concurrency', '0']);
    assert.equal(concurrency.code, 2);
    assert.match(concurrency.stderr, /--start-concurrency must be a whole number of at least 1/);

    const address = await install(bad, [...flags, '--advertise-addr', '10.0.0.5:80']);
    assert.equal(address.code, 2);
    assert.match(address.stderr, /--advertise-addr must be an IPv4 or IPv6 address or a host name/);

    const spaced = await install(bad, [...flags, '--label', 'team=a b']);
    assert.equal(spaced.code, 2);
    assert.match(spaced.stderr, /must not contain whitespace/);
    assert.equal(existsSync(bad), false);
  });
});

describe('cube worker uninstall', () => {
  it('removes the unit and environment file, and says so when there is nothing left', async () => {
    const dir = join(root, 'two');
    assert.equal((await install(dir, flags)).code, 0);
    const args = [
      'worker',
      'uninstall',
      '--unit-dir',
      join(dir, 'systemd'),
      '--environment-file',
      join(dir, 'etc', 'worker.env'),
    ];
    const first = await runCube(args, noConfig);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /removed .*cube-worker\.service/);
    assert.match(first.stdout, /removed .*worker\.env/);
    assert.equal(existsSync(join(dir, 'systemd', UNIT_NAME)), false);
    assert.equal(existsSync(join(dir, 'etc', 'worker.env')), false);

    const second = await runCube(args, noConfig);
    assert.equal(second.code, 0);
    assert.match(second.stdout, /nothing to remove/);
  });
});

describe('unitWord', () => {
  it('quotes spaces and escapes systemd specifiers and variables', () => {
    assert.equal(unitWord('/usr/bin/node'), '/usr/bin/node');
    assert.equal(unitWord('/opt/my cube/bin/cube.js'), '"/opt/my cube/bin/cube.js"');
    assert.equal(unitWord('/opt/100%/$HOME'), '"/opt/100%%/$$HOME"');
  });
});

describe('cube worker install --token-file: the token never on the command line', () => {
  const withoutToken = flags.filter((_, i) => flags[i] !== '--token' && flags[i - 1] !== '--token');
  const tokenIn = (dir: string) => readFileSync(join(dir, 'etc', 'worker.env'), 'utf8');

  it('reads it from a file', async () => {
    const dir = join(root, 'token-file');
    const file = join(root, 'worker-token');
    writeFileSync(file, 'cube_from-a-file\n', { mode: 0o600 });
    const result = await install(dir, [...withoutToken, '--token-file', file]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(tokenIn(dir), /^CUBE_TOKEN="cube_from-a-file"$/m);
  });

  it('reads it from standard input with -', () => {
    const dir = join(root, 'token-stdin');
    const result = spawnSync(
      process.execPath,
      [
        join(PROJECT_ROOT, 'bin', 'cube.js'),
        'worker',
        'install',
        '--unit-dir',
        join(dir, 'systemd'),
        '--environment-file',
        join(dir, 'etc', 'worker.env'),
        ...withoutToken,
        '--token-file',
        '-',
      ],
      { input: 'cube_from-stdin\n', env: { ...process.env, ...noConfig }, encoding: 'utf8' },
    );
    assert.equal(result.status, 0, result.stderr);
    assert.match(tokenIn(dir), /^CUBE_TOKEN="cube_from-stdin"$/m);
  });

  it('refuses both flags, and an empty or missing file', async () => {
    const dir = join(root, 'token-bad');
    const empty = join(root, 'empty-token');
    writeFileSync(empty, '\n');
    const both = await install(dir, [...flags, '--token-file', empty]);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--token or --token-file, not both/);
    const none = await install(dir, [...withoutToken, '--token-file', empty]);
    assert.match(none.stderr, /holds no token/);
    const missing = await install(dir, [...withoutToken, '--token-file', join(root, 'nope')]);
    assert.match(missing.stderr, /cannot read --token-file/);
    assert.equal(existsSync(join(dir, 'etc', 'worker.env')), false);
  });
});
