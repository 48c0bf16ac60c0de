// Client settings: the API URL and token, from the environment first, then the config file
// that `cube up` writes ($XDG_CONFIG_HOME/cube/config.json, mode 0600: it holds a token).
// `cube up` also writes there the AWS endpoint its control plane uses, so a `cube worker`
// started in another shell, with no AWS environment, reaches the same tables and queues.
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

export interface CubeConfig {
  apiUrl: string;
  token: string;
}

/** Where a local cluster's AWS emulator answers; the credentials are the dummy ones it accepts. */
export interface LocalAwsSettings {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

export interface CubeConfigFile extends Partial<CubeConfig> {
  aws?: LocalAwsSettings;
}

/** A setting is missing or the config file is unreadable; the message says what to do. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export function configPath(env: Env = process.env): string {
  // The XDG spec says a relative XDG_CONFIG_HOME is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.config');
  return join(base, 'cube', 'config.json');
}

/** The config file's settings, or {} when there is no file. Throws on a malformed file. */
export function readConfigFile(env: Env = process.env): CubeConfigFile {
  const path = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ConfigError(`cannot read ${path}: ${(error as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new ConfigError(`${path} is not valid JSON; fix it or run 'cube up' to rewrite it`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError(`${path} must hold a JSON object like {"apiUrl": ..., "token": ...}`);
  }
  const record = data as Record<string, unknown>;
  const config: CubeConfigFile = {};
  if (typeof record.apiUrl === 'string' && record.apiUrl) config.apiUrl = record.apiUrl;
  if (typeof record.token === 'string' && record.token) config.token = record.token;
  const aws = localAwsSettings(record.aws);
  if (aws) config.aws = aws;
  return config;
}

function localAwsSettings(value: unknown): LocalAwsSettings | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const keys = ['endpoint', 'region', 'accessKeyId', 'secretAccessKey'] as const;
  if (!keys.every((key) => typeof record[key] === 'string' && record[key])) return undefined;
  return Object.fromEntries(keys.map((key) => [key, record[key]])) as unknown as LocalAwsSettings;
}

/**
 * The AWS environment a worker needs to join the cluster `cube up` wrote to the config file:
 * only when the worker's API URL is that cluster's, and only what the SDK's own environment
 * does not name (an AWS_ENDPOINT_URL of any kind there wins outright: it points at real AWS
 * settings or another emulator). {} when there is nothing to add.
 */
export function localAwsEnv(
  apiUrl: string,
  file: CubeConfigFile,
  env: Env = process.env,
): Record<string, string> {
  const aws = file.aws;
  if (!aws || file.apiUrl !== apiUrl) return {};
  if (Object.keys(env).some((key) => key.startsWith('AWS_ENDPOINT_URL') && env[key])) return {};
  const added: Record<string, string> = { AWS_ENDPOINT_URL: aws.endpoint };
  if (!env.AWS_REGION && !env.AWS_DEFAULT_REGION) added.AWS_REGION = aws.region;
  if (!env.AWS_ACCESS_KEY_ID && !env.AWS_PROFILE) {
    added.AWS_ACCESS_KEY_ID = aws.accessKeyId;
    added.AWS_SECRET_ACCESS_KEY = aws.secretAccessKey;
  }
  return added;
}

/**
 * The settings to use: explicit overrides (command-line flags), then CUBE_API_URL /
 * CUBE_TOKEN, then the config file. Throws ConfigError naming what is missing.
 */
export function readConfig(
  overrides: Partial<CubeConfig> = {},
  env: Env = process.env,
): CubeConfig {
  let file: Partial<CubeConfig> | undefined;
  const fromFile = () => {
    file ??= readConfigFile(env);
    return file;
  };
  const apiUrl = overrides.apiUrl || env.CUBE_API_URL || fromFile().apiUrl;
  const token = overrides.token || env.CUBE_TOKEN || fromFile().token;
  const missing = [!apiUrl && 'API URL', !token && 'token'].filter(Boolean).join(' and ');
  if (!apiUrl || !token) {
    throw new ConfigError(
      `no ${missing} configured: run 'cube up' to start a local control plane, ` +
        `or set CUBE_API_URL and CUBE_TOKEN (config file: ${configPath(env)})`,
    );
  }
  try {
    const url = new URL(apiUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new ConfigError(`the API URL ${JSON.stringify(apiUrl)} is not an http(s) URL`);
  }
  return { apiUrl, token };
}

/**
 * `--token-file PATH` (`-`: standard input): a token kept off the command line, where shell
 * history and `ps` would show it. The first line, trimmed; without the flag, `token` as given.
 */
export function readTokenFile(
  path: string | undefined,
  token: string | undefined,
): string | undefined {
  if (path === undefined) return token;
  if (token !== undefined) throw new ConfigError('give --token or --token-file, not both');
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw new ConfigError(`cannot read --token-file ${path}: ${(error as Error).message}`);
  }
  const secret = text.split('\n')[0]!.trim();
  if (!secret) throw new ConfigError(`--token-file ${path} holds no token`);
  return secret;
}

/**
 * Writes the config file (keeping any other keys in it) with mode 0600, atomically. Without
 * `aws` an AWS block left by an earlier `cube up` is dropped: it belonged to that cluster.
 */
export function writeConfig(
  config: CubeConfig & { aws?: LocalAwsSettings },
  env: Env = process.env,
): string {
  const path = configPath(env);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let existing: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      existing = parsed as Record<string, unknown>;
    }
  } catch {
    // No file or not JSON: start afresh.
  }
  const { aws: _stale, ...kept } = existing;
  const next = { ...kept, apiUrl: config.apiUrl, token: config.token };
  const body = `${JSON.stringify(config.aws ? { ...next, aws: config.aws } : next, null, 2)}\n`;
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, body, { mode: 0o600 });
  chmodSync(temp, 0o600); // the umask may have narrowed it further; make it exact
  renameSync(temp, path);
  chmodSync(path, 0o600);
  return path;
}
