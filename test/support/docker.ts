// Asks Docker itself what runs, so tests count containers independently of Cube's records.
import Docker from 'dockerode';

export const docker = new Docker();
export const TEST_IMAGE = process.env.CUBE_TEST_IMAGE ?? 'cube-test/busybox:latest';

export async function containersOfTask(taskId: string, all = true) {
  return docker.listContainers({ all, filters: { label: [`cube.task-id=${taskId}`] } });
}

export async function removeContainersOfWorkers(workerIds: string[]): Promise<void> {
  for (const id of workerIds) {
    const found = await docker.listContainers({
      all: true,
      filters: { label: [`cube.worker=${id}`] },
    });
    await Promise.all(
      found.map((c) =>
        docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => {}),
      ),
    );
  }
}
