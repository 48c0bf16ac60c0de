// The API's cache of verified tokens (functions/shared/tokenCache.ts) over the real token
// table: a hit needs no read, a revocation through this process is honoured at once, an
// expired token is refused even while cached, and a zero TTL reads on every call.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { TokenStore } from '../../aws/tokenStore.js';
import type { Deps } from '../../functions/shared/deps.js';
import { TokenCache } from '../../functions/shared/tokenCache.js';
import { schedulerDeps } from '../scheduler/support.js';

let deps: Deps;
let reads = 0;
const counted = (): Pick<TokenStore, 'verify'> => ({
  verify: (secret, now) => {
    reads++;
    return deps.tokens.verify(secret, now);
  },
});

before(async () => {
  deps = await schedulerDeps('token-cache');
});

test('verified tokens are remembered, revocations and expiry are not missed', async () => {
  const cache = new TokenCache(counted, () => 30_000);
  const { secret, token } = await deps.tokens.issue('cached', 'submit');
  reads = 0;
  assert.equal((await cache.verify(secret))?.name, 'cached');
  assert.equal((await cache.verify(secret))?.name, 'cached');
  assert.equal(reads, 1, 'the second call is served from the cache');

  await deps.tokens.revoke(token.id);
  cache.forget();
  assert.equal(await cache.verify(secret), undefined, 'revoked here: refused at once');

  const unknown = 'cube_not-a-token';
  await cache.verify(unknown);
  await cache.verify(unknown);
  assert.equal(reads, 4, 'unknown tokens are checked every time');

  const soon = new Date(Date.now() + 3_600_000);
  const expiring = (await deps.tokens.issue('expiring', 'read', soon)).secret;
  assert.ok(await cache.verify(expiring));
  const later = soon.getTime() + 1;
  assert.equal(await cache.verify(expiring, later), undefined, 'expired while cached');

  const uncached = new TokenCache(counted, () => 0);
  const other = (await deps.tokens.issue('uncached', 'read')).secret;
  reads = 0;
  await uncached.verify(other);
  await uncached.verify(other);
  assert.equal(reads, 2, 'a zero TTL reads on every call');
});
