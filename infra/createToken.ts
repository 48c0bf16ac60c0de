// Creates an API token in a deployed stack's tokens table and prints its secret, once.
// There is no token API yet (issue 6), so the first admin token comes from here:
//   npm run token:create -- --name admin --scope admin --outputs-file cdk-outputs.json
// The table comes from --table, else CUBE_TOKENS_TABLE, else the TokensTableName output
// that `cdk deploy --outputs-file` wrote. AWS settings come from the SDK's environment.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { awsClients } from '../aws/clients.js';
import { TokenStore } from '../aws/tokenStore.js';
import type { TokenScope } from '../core/types.js';

const SCOPES: readonly TokenScope[] = ['admin', 'submit', 'read', 'worker'];

function tableFromOutputs(path: string, stack?: string): string {
  const outputs = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Record<string, string>>;
  const names = stack ? [stack] : Object.keys(outputs);
  const found = names.map((name) => outputs[name]?.TokensTableName).filter(Boolean);
  if (found.length !== 1) {
    throw new Error(`${path}: expected one stack with a TokensTableName output; use --stack`);
  }
  return found[0]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      scope: { type: 'string', default: 'admin' },
      table: { type: 'string' },
      'outputs-file': { type: 'string' },
      stack: { type: 'string' },
      'expires-in-days': { type: 'string' },
    },
  });
  const scope = values.scope as TokenScope;
  if (!values.name) throw new Error('--name is required (it says whose token this is)');
  if (!SCOPES.includes(scope)) throw new Error(`--scope must be one of ${SCOPES.join(', ')}`);
  const table =
    values.table ||
    process.env.CUBE_TOKENS_TABLE ||
    (values['outputs-file'] ? tableFromOutputs(values['outputs-file'], values.stack) : undefined);
  if (!table) throw new Error('name the table: --table, CUBE_TOKENS_TABLE or --outputs-file');
  const days = Number(values['expires-in-days']);
  const expiresAt = days > 0 ? new Date(Date.now() + days * 86_400_000) : undefined;

  const secret = await new TokenStore(awsClients().ddb, { tokensTable: table }).create(
    values.name,
    scope,
    expiresAt,
  );
  process.stderr.write(`created ${scope} token "${values.name}" in ${table}; it is shown once:\n`);
  process.stdout.write(`${secret}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`token:create: ${error.message}\n`);
  process.exitCode = 1;
});
