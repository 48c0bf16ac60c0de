// API tokens: random 256-bit secrets, stored only as SHA-256 hashes with a name and scope.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TokenScope } from '../core/types.js';
import type { ControlPlaneConfig } from './config.js';

export interface TokenRecord {
  hash: string;
  name: string;
  scope: TokenScope;
  createdAt: string;
  expiresAt?: string;
  revoked?: boolean;
}

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');

export class TokenStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly config: Pick<ControlPlaneConfig, 'tokensTable'>,
  ) {}

  /** Creates a token and returns its secret: the only time the secret is ever seen. */
  async create(name: string, scope: TokenScope, expiresAt?: Date): Promise<string> {
    const secret = `cube_${randomBytes(32).toString('base64url')}`;
    const record: TokenRecord = {
      hash: hashToken(secret),
      name,
      scope,
      createdAt: new Date().toISOString(),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
    };
    await this.ddb.send(new PutCommand({ TableName: this.config.tokensTable, Item: record }));
    return secret;
  }

  /** The token's record when it is valid now; undefined when unknown, revoked or expired. */
  async verify(secret: string, now = new Date()): Promise<TokenRecord | undefined> {
    const hash = hashToken(secret);
    const out = await this.ddb.send(
      new GetCommand({ TableName: this.config.tokensTable, Key: { hash } }),
    );
    const record = out.Item as TokenRecord | undefined;
    if (!record) return undefined;
    if (!timingSafeEqual(Buffer.from(record.hash), Buffer.from(hash))) return undefined;
    if (record.revoked) return undefined;
    if (record.expiresAt && Date.parse(record.expiresAt) <= now.getTime()) return undefined;
    return record;
  }
}
