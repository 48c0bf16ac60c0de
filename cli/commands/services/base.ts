// What the service commands share: the services client, and following a rollout with a
// progress line to its verdict (exit 0 only when it completed).
import { CubeCommand } from '../../baseCommand.js';
import { createProgress } from '../../progress.js';
import { ServicesApi } from '../../services/client.js';
import {
  describeRollout,
  type WatchFor,
  type WatchResult,
  watchRollout,
} from '../../services/rolloutWatch.js';
import { parseTimeout } from '../../wait.js';

export abstract class ServiceCommand extends CubeCommand {
  protected services(): ServicesApi {
    return new ServicesApi(this.client());
  }

  /** Follows the rollout; prints its verdict and reason; the exit code says how it ended. */
  protected async follow(
    services: ServicesApi,
    name: string,
    timeout: string | undefined,
    json: boolean,
    waitFor: WatchFor = 'rollout',
  ): Promise<number> {
    const progress = createProgress(this.progressStream, `service ${name}: waiting`);
    let result: WatchResult;
    try {
      result = await watchRollout(services, name, {
        timeoutMs: parseTimeout(timeout, 900),
        waitFor,
        onUpdate: (view) => progress.update(`service ${name}: ${describeRollout(view)}`),
      });
    } finally {
      progress.done();
    }
    if (json) {
      this.printJson({ verdict: result.verdict, service: result.service });
    } else if (result.service) {
      const view = result.service;
      const line =
        result.verdict === 'timed-out'
          ? `service ${name}: still ${describeRollout(view)} after the timeout`
          : `service ${name}: ${describeRollout(view)}`;
      this.print(line);
      if (result.verdict !== 'complete') this.print(`  ${view.rollout.reason}`);
    }
    return result.verdict === 'complete' ? 0 : 1;
  }
}
