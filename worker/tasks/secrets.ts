// Resolves a task's secrets at container start, with the worker host's own credentials (its
// IAM role may read only a configured prefix): SSM Parameter Store (decrypted) and Secrets
// Manager. The values go into the container's environment and nowhere else: not the record,
// an event, a message or a log line; an error names the secret and its reference only.
import { parseSecretRef } from '../../core/secretRefs.js';
import type { SecretSpec } from '../../core/types.js';

export interface SecretStores {
  /** The values of `secrets` by variable name; throws SecretUnavailableError. */
  resolve(secrets: readonly SecretSpec[]): Promise<Record<string, string>>;
}

export class SecretUnavailableError extends Error {
  override name = 'SecretUnavailableError';
}

const region = () => process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';

/** The AWS stores, their clients made on first use (most workers never need them). */
export class AwsSecretStores implements SecretStores {
  private ssm?: Promise<(name: string) => Promise<string | undefined>>;
  private secretsManager?: Promise<(id: string) => Promise<string | undefined>>;

  async resolve(secrets: readonly SecretSpec[]): Promise<Record<string, string>> {
    const values: Record<string, string> = {};
    for (const secret of secrets) {
      const ref = parseSecretRef(secret.from);
      let value: string | undefined;
      try {
        if (!ref) throw new Error('not a secret reference');
        value =
          ref.store === 'ssm'
            ? await (await this.ssmGetter())(ref.name)
            : await (await this.secretsGetter())(ref.id);
      } catch (error) {
        // The store's error names the code (ParameterNotFound, AccessDenied...), not a value.
        const what = (error as { name?: string }).name ?? 'Error';
        throw new SecretUnavailableError(
          `secret ${secret.name} (${secret.from}) could not be read: ${what}: ${(error as Error).message}`,
        );
      }
      if (value === undefined) {
        throw new SecretUnavailableError(`secret ${secret.name} (${secret.from}) holds no string`);
      }
      values[secret.name] = value;
    }
    return values;
  }

  private ssmGetter() {
    this.ssm ??= import('@aws-sdk/client-ssm').then(({ SSMClient, GetParameterCommand }) => {
      const client = new SSMClient({ region: region() });
      return async (name: string) =>
        (await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter
          ?.Value;
    });
    return this.ssm;
  }

  private secretsGetter() {
    this.secretsManager ??= import('@aws-sdk/client-secrets-manager').then(
      ({ SecretsManagerClient, GetSecretValueCommand }) => {
        const client = new SecretsManagerClient({ region: region() });
        return async (id: string) =>
          (await client.send(new GetSecretValueCommand({ SecretId: id }))).SecretString;
      },
    );
    return this.secretsManager;
  }
}
