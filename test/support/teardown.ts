// The end of every cluster test: stop the cluster, remove its workers' containers, stop the
// emulator this test process started (if any).
import { stopEmulator } from './aws.js';
import type { TestCluster } from './cli.js';
import { removeContainersOfWorkers } from './docker.js';

export async function tearDownCluster(cluster: TestCluster | undefined, workerIds: string[]) {
  await cluster?.stop();
  await removeContainersOfWorkers(workerIds);
  await stopEmulator();
}
