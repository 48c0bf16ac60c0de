// `cube token create|list|revoke`: API tokens (needs an admin token).
import { Command, Option, UsageError } from 'clipanion';
import type { TokenScope } from '../../core/types.js';
import type { TokenInfo } from '../apiClient.js';
import { CubeCommand } from '../baseCommand.js';
import { formatAge } from '../format.js';
import { formatTable } from '../table.js';

const SCOPES: readonly TokenScope[] = ['admin', 'submit', 'read', 'worker'];
const UNIT_HOURS: Record<string, number> = { m: 1 / 60, h: 1, d: 24, w: 24 * 7 };

/** `90m`, `24h`, `7d`, `2w` -> hours; undefined when it is not such a duration. */
export function parseDurationHours(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([mhdw])$/.exec(text.trim());
  if (!match) return undefined;
  const hours = Number(match[1]) * UNIT_HOURS[match[2]!]!;
  return hours > 0 ? hours : undefined;
}

function tokenStatus(token: TokenInfo): string {
  if (token.revoked) return 'revoked';
  if (token.expired) return 'expired';
  return 'active';
}

export class TokenCreateCommand extends CubeCommand {
  static override paths = [['token', 'create']];
  static override usage = Command.Usage({
    description: 'Create an API token',
    details: `
      Prints the token's secret on stdout: it is shown this once and cannot be read back.
      Scopes: admin (everything), submit (run, stop and read tasks), read (read tasks and
      workers), worker (register a worker, nothing else). Needs an admin token.
    `,
    examples: [
      ['A token for CI that submits tasks', 'cube token create --name ci --scope submit'],
      [
        'A worker join token valid for a day',
        'cube token create --name join-host-2 --scope worker --worker host-2 --expires 24h',
      ],
    ],
  });

  name = Option.String('--name', { required: true, description: 'A name to know it by' });
  scope = Option.String('--scope', {
    required: true,
    description: 'admin, submit, read or worker',
  });
  expires = Option.String('--expires', {
    description: 'Lifetime, e.g. 90m, 24h, 7d, 2w (default: never expires)',
  });
  worker = Option.String('--worker', {
    description: 'With --scope worker: the only worker name the token may register',
  });
  json = Option.Boolean('--json', false, { description: 'Print the token and secret as JSON' });

  protected async run(): Promise<number> {
    if (!SCOPES.includes(this.scope as TokenScope)) {
      throw new UsageError(`--scope must be one of ${SCOPES.join(', ')}`);
    }
    let expiresInHours: number | undefined;
    if (this.expires !== undefined) {
      expiresInHours = parseDurationHours(this.expires);
      if (expiresInHours === undefined) {
        throw new UsageError('--expires must be a duration like 90m, 24h, 7d or 2w');
      }
    }
    const { token, secret } = await this.client().createToken({
      name: this.name,
      scope: this.scope as TokenScope,
      ...(expiresInHours !== undefined ? { expiresInHours } : {}),
      ...(this.worker !== undefined ? { worker: this.worker } : {}),
    });
    if (this.json) {
      this.printJson({ ...token, secret });
      return 0;
    }
    this.print(secret);
    this.warn(
      `token ${token.id} (${token.name}, scope ${token.scope}` +
        `${token.expiresAt ? `, expires ${token.expiresAt}` : ''}) created; ` +
        'the secret above is shown only this once',
    );
    return 0;
  }
}

export class TokenListCommand extends CubeCommand {
  static override paths = [['token', 'list'], ['tokens']];
  static override usage = Command.Usage({
    description: 'List API tokens (never their secrets)',
    examples: [
      ['List tokens', 'cube token list'],
      ['As JSON', 'cube token list --json'],
    ],
  });

  json = Option.Boolean('--json', false, { description: 'Print the tokens as a JSON array' });

  protected async run(): Promise<number> {
    const tokens = await this.client().listTokens();
    if (this.json) {
      this.printJson(tokens);
      return 0;
    }
    const now = new Date();
    const rows = tokens.map((t) => [
      t.id,
      t.name,
      t.scope,
      tokenStatus(t),
      formatAge(t.createdAt, now),
      t.expiresAt ?? '-',
    ]);
    this.context.stdout.write(
      formatTable(['ID', 'NAME', 'SCOPE', 'STATUS', 'AGE', 'EXPIRES'], rows, {
        maxWidths: { NAME: 32 },
      }),
    );
    return 0;
  }
}

export class TokenRevokeCommand extends CubeCommand {
  static override paths = [['token', 'revoke']];
  static override usage = Command.Usage({
    description: 'Revoke an API token by its id',
    details: 'The id is the one `cube token list` shows. Requests with the token fail from now on.',
    examples: [['Revoke a token', 'cube token revoke tk0123456789ab']],
  });

  id = Option.String({ name: 'id' });
  json = Option.Boolean('--json', false, { description: 'Print the revoked token as JSON' });

  protected async run(): Promise<number> {
    const token = await this.client().revokeToken(this.id);
    if (this.json) {
      this.printJson(token);
      return 0;
    }
    this.print(`token ${token.id} (${token.name}) revoked`);
    return 0;
  }
}
