// Stands in for src/jobs/createJobRunner.js in the scale benchmark's host (swapped in by the module hook that
// bench/registerInstantJobRunner.ts registers with `node --import`): a job runner that "archives" at once, writing
// the archive, sidecar and result blobs a worker would write (tiny stand-ins), so the benchmark measures the
// orchestrations, not the workers. The app's own modules carry no test seam for it.
import { randomBytes } from "node:crypto";
import type { ArchiveImageResult } from "../src/archive/archiveImage.js";
import type { JobExecution, JobRunner } from "../src/jobs/jobRunner.js";
import { parseImageReference } from "../src/registry/reference.js";
import { getAppDependencies } from "../src/appDependencies.js";
import { writeWorkerResult } from "../src/storage/archiveStore.js";
import { archiveBlobName, sidecarBlobName } from "../src/storage/blobNames.js";

class InstantJobRunner implements JobRunner {
  private count = 0;

  async startExecution(env: Record<string, string>): Promise<JobExecution> {
    const request = JSON.parse(env.ARCHIVE_REQUEST!) as {
      image: string;
      blobContainer: string;
      runId: string;
      attemptId?: string;
      tags?: string[];
    };
    const ref = parseImageReference(request.image);
    const image = { registry: ref.registry, repository: ref.repository, digest: ref.digest! };
    const archiveBlob = archiveBlobName(image);
    const result: ArchiveImageResult = {
      status: "archived",
      image: request.image,
      registry: ref.registry,
      repository: ref.repository,
      digest: ref.digest!,
      tags: request.tags ?? [],
      container: request.blobContainer,
      archiveBlob,
      sidecarBlob: sidecarBlobName(archiveBlob),
      bytes: 1024,
      sha256: ref.digest!.slice(7),
      durationSeconds: 0,
    };
    const container = getAppDependencies().getContainer(request.blobContainer);
    // What a worker leaves besides its result: the archive and its sidecar (tiny stand-ins), so that a re-run of the
    // registry finds the image archived, as it would after a real run.
    await container.getBlockBlobClient(archiveBlob).uploadData(Buffer.alloc(1024));
    await container.getBlockBlobClient(sidecarBlobName(archiveBlob)).uploadData(Buffer.from("{}"));
    await writeWorkerResult(container, request.runId, image, request.attemptId, result);
    return { name: `instant-${++this.count}-${randomBytes(3).toString("hex")}`, status: "Succeeded" };
  }

  async findExecution(): Promise<JobExecution | undefined> {
    return undefined; // every start succeeds at once: nothing is ever lost
  }

  async getExecution(name: string): Promise<JobExecution> {
    return { name, status: "Succeeded" };
  }

  async stopExecution(): Promise<void> {}
}

const runner = new InstantJobRunner();

/** The same signature as src/jobs/createJobRunner.ts: whatever the configuration, the instant runner. */
export function createJobRunner(): JobRunner {
  return runner;
}
