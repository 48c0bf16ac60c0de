// Client settings: the API URL and token, from the environment first, then the config file
// that `cube up` writes ($XDG_CONFIG_HOME/cube/config.json, mode 0600: it holds a token).
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

export interface CubeConfig {
  apiUrl: string;
  token: string;
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
export function readConfigFile(env: Env = process.env): Partial<CubeConfig> {
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
  const config: Partial<CubeConfig> = {};
  if (typeof record.apiUrl === 'string' && record.apiUrl) config.apiUrl = record.apiUrl;
  if (typeof record.token === 'string' && record.token) config.token = record.token;
  return config;
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

/** Writes the config file (keeping any other keys in it) with mode 0600, atomically. */
export function writeConfig(config: CubeConfig, env: Env = process.env): string {
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
  const body = `${JSON.stringify({ ...existing, apiUrl: config.apiUrl, token: config.token }, null, 2)}\n`;
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, body, { mode: 0o600 });
  chmodSync(temp, 0o600); // the umask may have narrowed it further; make it exact
  renameSync(temp, path);
  chmodSync(path, 0o600);
  return path;
}
