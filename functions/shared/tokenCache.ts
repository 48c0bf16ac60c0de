// Verified tokens, remembered for a short while per process (a warm Lambda), so that a busy
// client does not pay a token read on every call (bench:cost: 2 of 22 requests per task).
// API Gateway's own authorizer cache makes the same trade (default TTL 5 minutes). The price:
// a token revoked through another instance is honoured there for at most `ttlMs` more; a
// revocation through this instance forgets everything at once. Expiry is checked on every use.
import type { TokenRecord, TokenStore } from '../../aws/tokenStore.js';

const MAX_ENTRIES = 1_000;

export class TokenCache {
  private readonly verified = new Map<string, { record: TokenRecord; until: number }>();

  constructor(
    private readonly store: () => Pick<TokenStore, 'verify'>,
    private readonly ttlMs: () => number,
  ) {}

  async verify(secret: string, now = Date.now()): Promise<TokenRecord | undefined> {
    const hit = this.verified.get(secret);
    if (hit && hit.until > now && !expired(hit.record, now)) return hit.record;
    this.verified.delete(secret);
    const record = await this.store().verify(secret, new Date(now));
    const ttl = this.ttlMs();
    // Only valid tokens are kept: an unknown or revoked one is checked again every time.
    if (record && ttl > 0) {
      if (this.verified.size >= MAX_ENTRIES) this.verified.clear();
      this.verified.set(secret, { record, until: now + ttl });
    }
    return record;
  }

  /** A token was revoked here: trust nothing remembered. */
  forget(): void {
    this.verified.clear();
  }
}

const expired = (record: TokenRecord, now: number) =>
  record.expiresAt !== undefined && Date.parse(record.expiresAt) <= now;
