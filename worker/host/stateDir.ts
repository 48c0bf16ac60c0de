// Where the worker keeps what must outlive its process (log positions, its instance): the
// XDG state folder, `$XDG_STATE_HOME/cube`, else `~/.local/state/cube`.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cubeStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_STATE_HOME || join(homedir(), '.local', 'state'), 'cube');
}
