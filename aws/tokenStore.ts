// API tokens: random 256-bit secrets, stored only as SHA-256 hashes with a name and scope.
// Each token also has a short public id (random, unrelated to the secret) by which people
// list and revoke it: the hash is never shown, the secret only once.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { NotFoundError } from '../core/errors.js';
import {
  DEFAULT_RETAIN_FINISHED_MS,
  isPurged,
  TTL_ATTRIBUTE,
  toEpochSeconds,
} from '../core/history/retention.js';
import type { TokenScope } from '../core/types.js';
import type { ControlPlaneConfig } from './config.js';

export interface TokenRecord {
  hash: string;
  /** Public id, `tk` + 12 hex digits. Records written before ids existed lack it. */
  id?: string;
  name: string;
  scope: TokenScope;
  /** For a worker token: the only worker name it may register (absent: any). */
  worker?: string;
  createdAt: string;
  expiresAt?: string;
  revoked?: boolean;
  revokedAt?: string;
  /** Epoch seconds: an expired or revoked token is deleted the retention after it died. */
  purgeAt?: number;
}

/** What may be shown about a token: never its hash or secret. */
export interface TokenSummary {
  id: string;
  name: string;
  scope: TokenScope;
  worker?: string;
  createdAt: string;
  expiresAt?: string;
  revoked: boolean;
  revokedAt?: string;
  expired: boolean;
}

export const TOKEN_ID_PATTERN = /^tk[0-9a-f]{12}$/;

const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const newTokenId = () => `tk${randomBytes(6).toString('hex')}`;
/** A record without an id (older than ids) is known by the start of its hash. */
const publicId = (record: TokenRecord) => record.id ?? `tk${record.hash.slice(0, 12)}`;

export function summarizeToken(record: TokenRecord, now = new Date()): TokenSummary {
  return {
    id: publicId(record),
    name: record.name,
    scope: record.scope,
    ...(record.worker ? { worker: record.worker } : {}),
    createdAt: record.createdAt,
    ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}),
    revoked: record.revoked === true,
    ...(record.revokedAt ? { revokedAt: record.revokedAt } : {}),
    expired: record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now.getTime(),
  };
}

export class TokenStore {
  constructor(
    private readonly ddb: DynamoDBDocumentClient,
    private readonly config: Pick<ControlPlaneConfig, 'tokensTable'> & {
      retainFinishedMs?: number;
    },
  ) {}

  private get retention(): number {
    return this.config.retainFinishedMs ?? DEFAULT_RETAIN_FINISHED_MS;
  }

  /** Creates a token and returns its secret: the only time the secret is ever seen. */
  async create(name: string, scope: TokenScope, expiresAt?: Date): Promise<string> {
    return (await this.issue(name, scope, expiresAt)).secret;
  }

  /** Creates a token: its secret (shown this once) and what may be shown about it later. */
  async issue(
    name: string,
    scope: TokenScope,
    expiresAt?: Date,
    worker?: string,
  ): Promise<{ secret: string; token: TokenSummary }> {
    const secret = `cube_${randomBytes(32).toString('base64url')}`;
    const record: TokenRecord = {
      hash: hashToken(secret),
      id: newTokenId(),
      name,
      scope,
      ...(worker ? { worker } : {}),
      createdAt: new Date().toISOString(),
      ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}),
      // Known now: shown as expired for the retention, then gone.
      ...(expiresAt ? { purgeAt: toEpochSeconds(expiresAt.getTime() + this.retention) } : {}),
    };
    await this.ddb.send(
      new PutCommand({
        TableName: this.config.tokensTable,
        Item: record,
        // 256 random bits never collide; this only makes sure no record is overwritten.
        ConditionExpression: 'attribute_not_exists(#hash)',
        ExpressionAttributeNames: { '#hash': 'hash' },
      }),
    );
    return { secret, token: summarizeToken(record) };
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

  /** Every token, oldest first (the table holds a handful: a scan is the honest query). */
  async list(now = new Date()): Promise<TokenSummary[]> {
    const records = (await this.scan()).filter((r) => !isPurged(r, now));
    return records
      .map((r) => summarizeToken(r, now))
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Revokes a token by public id; revoking one already revoked changes nothing. */
  async revoke(id: string, now = new Date()): Promise<TokenSummary> {
    const record = (await this.scan()).find((r) => publicId(r) === id);
    if (!record) throw new NotFoundError('token', id);
    if (record.revoked) return summarizeToken(record, now);
    const out = await this.ddb.send(
      new UpdateCommand({
        TableName: this.config.tokensTable,
        Key: { hash: record.hash },
        UpdateExpression: 'SET revoked = :true, revokedAt = :at, #purgeAt = :purgeAt',
        ConditionExpression: 'attribute_exists(#hash)',
        ExpressionAttributeNames: { '#hash': 'hash', '#purgeAt': TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':true': true,
          ':at': now.toISOString(),
          ':purgeAt': toEpochSeconds(now.getTime() + this.retention),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    return summarizeToken(out.Attributes as TokenRecord, now);
  }

  private async scan(): Promise<TokenRecord[]> {
    const records: TokenRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await this.ddb.send(
        new ScanCommand({
          TableName: this.config.tokensTable,
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      records.push(...((out.Items ?? []) as TokenRecord[]));
      start = out.LastEvaluatedKey;
    } while (start);
    return records;
  }
}
