#!/usr/bin/env node
// Launcher for the `cube` CLI: registers tsx so the TypeScript sources run as they are,
// then loads cli/main.ts relative to this file's real location (works from any cwd and
// through an npm bin symlink, since import.meta.url is the resolved path).
import { realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

register();
const here = dirname(realpathSync(fileURLToPath(import.meta.url)));
await import(pathToFileURL(join(here, '..', 'cli', 'main.ts')).href);
