import assert from 'node:assert/strict';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ConfigError,
  configPath,
  localAwsEnv,
  readConfig,
  readConfigFile,
  writeConfig,
} from '../../cli/config.js';

const root = mkdtempSync(join(tmpdir(), 'cube-config-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshEnv = () => ({ XDG_CONFIG_HOME: join(root, `xdg${n++}`), HOME: join(root, 'home') });
const mode = (path: string) => statSync(path).mode & 0o777;

describe('configPath', () => {
  it('uses XDG_CONFIG_HOME, else ~/.config', () => {
    assert.equal(configPath({ XDG_CONFIG_HOME: '/x' }), '/x/cube/config.json');
    assert.equal(configPath({ HOME: '/home/u' }), '/home/u/.config/cube/config.json');
    assert.equal(
      configPath({ XDG_CONFIG_HOME: 'relative', HOME: '/h' }),
      '/h/.config/cube/config.json',
    );
  });
});

describe('writeConfig / readConfig', () => {
  it('writes a 0600 file in a new directory and reads it back', () => {
    const env = freshEnv();
    const path = writeConfig({ apiUrl: 'http://127.0.0.1:8080', token: 'secret' }, env);
    assert.equal(path, configPath(env));
    assert.equal(mode(path), 0o600);
    assert.deepEqual(readConfig({}, env), { apiUrl: 'http://127.0.0.1:8080', token: 'secret' });
  });

  it('narrows an existing file to 0600 and keeps unknown keys', () => {
    const env = freshEnv();
    const path = configPath(env);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify({ apiUrl: 'http://old', token: 'old', extra: 1 }));
    chmodSync(path, 0o644);
    writeConfig({ apiUrl: 'http://new', token: 'new' }, env);
    assert.equal(mode(path), 0o600);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), {
      apiUrl: 'http://new',
      token: 'new',
      extra: 1,
    });
  });

  it('lets flags beat the environment and the environment beat the file', () => {
    const env = freshEnv();
    writeConfig({ apiUrl: 'http://file', token: 'file-token' }, env);
    assert.deepEqual(readConfig({}, { ...env, CUBE_TOKEN: 'env-token' }), {
      apiUrl: 'http://file',
      token: 'env-token',
    });
    assert.deepEqual(
      readConfig({ apiUrl: 'http://flag' }, { ...env, CUBE_API_URL: 'http://env' }),
      { apiUrl: 'http://flag', token: 'file-token' },
    );
  });

  it('works from the environment alone', () => {
    const env = { ...freshEnv(), CUBE_API_URL: 'https://api.example', CUBE_TOKEN: 't' };
    assert.deepEqual(readConfig({}, env), { apiUrl: 'https://api.example', token: 't' });
  });

  it('explains what to do when settings are missing', () => {
    const env = freshEnv();
    assert.throws(
      () => readConfig({}, env),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /cube up/);
        assert.match(error.message, /CUBE_API_URL/);
        return true;
      },
    );
    assert.throws(() => readConfig({}, { ...env, CUBE_API_URL: 'http://x' }), /no token/);
  });

  it('reports a malformed file and a non-http URL', () => {
    const env = freshEnv();
    const path = configPath(env);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '{not json');
    assert.throws(() => readConfig({}, env), /not valid JSON/);
    assert.throws(
      () => readConfig({}, { ...freshEnv(), CUBE_API_URL: 'ftp://x', CUBE_TOKEN: 't' }),
      /not an http/,
    );
  });
});

describe("the local cluster's AWS settings (localAwsEnv)", () => {
  const aws = {
    endpoint: 'http://127.0.0.1:4566',
    region: 'us-east-1',
    accessKeyId: 'test',
    secretAccessKey: 'test',
  };
  const file = { apiUrl: 'http://127.0.0.1:8470', token: 't', aws };

  it('round-trips through the file, and a write without them drops them', () => {
    const env = freshEnv();
    writeConfig({ apiUrl: file.apiUrl, token: 't', aws }, env);
    assert.deepEqual(readConfigFile(env), file);
    writeConfig({ apiUrl: 'http://other', token: 't' }, env);
    assert.equal(readConfigFile(env).aws, undefined);
  });

  it('gives a worker of that cluster, with no AWS environment, all it needs', () => {
    assert.deepEqual(localAwsEnv(file.apiUrl, file, {}), {
      AWS_ENDPOINT_URL: aws.endpoint,
      AWS_REGION: aws.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });

  it('never overrides what the environment names', () => {
    assert.deepEqual(localAwsEnv(file.apiUrl, file, { AWS_ENDPOINT_URL: 'http://ls:4566' }), {});
    assert.deepEqual(
      localAwsEnv(file.apiUrl, file, { AWS_ENDPOINT_URL_DYNAMODB: 'http://ddb:8000' }),
      {},
    );
    assert.deepEqual(
      localAwsEnv(file.apiUrl, file, { AWS_DEFAULT_REGION: 'eu-west-1', AWS_PROFILE: 'me' }),
      { AWS_ENDPOINT_URL: aws.endpoint },
    );
    assert.deepEqual(
      localAwsEnv(file.apiUrl, file, { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKIA' }),
      { AWS_ENDPOINT_URL: aws.endpoint },
    );
  });

  it('gives nothing to a worker of another control plane, or without the settings', () => {
    assert.deepEqual(localAwsEnv('https://api.example', file, {}), {});
    assert.deepEqual(localAwsEnv(file.apiUrl, { apiUrl: file.apiUrl, token: 't' }, {}), {});
  });

  it('ignores an incomplete AWS block', () => {
    const env = freshEnv();
    const path = configPath(env);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, JSON.stringify({ apiUrl: 'http://x', token: 't', aws: { region: 'r' } }));
    assert.equal(readConfigFile(env).aws, undefined);
  });
});
