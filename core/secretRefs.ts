// Where a task's secret comes from: an SSM Parameter Store parameter (`ssm:/prod/db/password`
// or its ARN) or a Secrets Manager secret (`secretsmanager:NAME` or its ARN). The task record
// holds only this reference; the worker resolves the value at container start with its own
// credentials, and the value goes nowhere but the container's environment.

export type SecretRef = { store: 'ssm'; name: string } | { store: 'secretsmanager'; id: string };

const SSM_ARN = /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter(\/.+)$/;
const SECRETS_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/;
const SSM_NAME = /^\/[a-zA-Z0-9_.\-/]{1,1010}$/;
const SECRET_NAME = /^[a-zA-Z0-9/_+=.@-]{1,512}$/;

const inner = (r: RegExp) => r.source.slice(1, -1);
/** The four forms parseSecretRef reads, as one pattern (for schemas and documents). */
export const SECRET_REF = new RegExp(
  `^(?:ssm:${inner(SSM_NAME)}|secretsmanager:${inner(SECRET_NAME)}|${inner(SSM_ARN)}|${inner(SECRETS_ARN)})$`,
);

export const SECRET_REF_RULE =
  'must be ssm:/path, secretsmanager:NAME, or an SSM parameter or Secrets Manager secret ARN';

/** The reference `from` names, or undefined when it is none of the four forms. */
export function parseSecretRef(from: string): SecretRef | undefined {
  if (from.startsWith('ssm:')) {
    const name = from.slice(4);
    return SSM_NAME.test(name) ? { store: 'ssm', name } : undefined;
  }
  if (from.startsWith('secretsmanager:')) {
    const id = from.slice('secretsmanager:'.length);
    return SECRET_NAME.test(id) ? { store: 'secretsmanager', id } : undefined;
  }
  const ssm = SSM_ARN.exec(from);
  if (ssm) return { store: 'ssm', name: from };
  if (SECRETS_ARN.test(from)) return { store: 'secretsmanager', id: from };
  return undefined;
}
