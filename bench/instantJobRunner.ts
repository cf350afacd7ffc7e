// Stands in for src/jobs/createJobRunner.js in the scale benchmark's host (swapped in by the module hook that
// bench/registerInstantJobRunner.ts registers with `node --import`): a job runner whose executions end at once, so
// the benchmark measures the orchestrations, not the workers. In archive mode (ARCHIVE_REQUEST) it writes the
// archive (Archive tier, as archiveStore commits it), sidecar (Cool) and result blobs a worker would write (tiny
// stand-ins); in restore mode (RESTORE_REQUEST) it "pushes" the image into the target (one PUT of the manifest's
// digest per tag to the bench's synthetic registry, which then answers it) and writes the restore result. The app's
// own modules carry no test seam for it.
import { randomBytes } from "node:crypto";
import type { ArchiveImageResult } from "../src/archive/archiveImage.js";
import type { RestoreImageResult } from "../src/archive/runRestoreRequest.js";
import { readRestoreRequest } from "../src/archive/runRestoreRequest.js";
import type { JobExecution, JobRunner } from "../src/jobs/jobRunner.js";
import { archiveRequestSchema } from "../src/archive/archiveRequest.js";
import { formatImageReference } from "../src/registry/reference.js";
import { getAppDependencies } from "../src/appDependencies.js";
import { writeWorkerResult } from "../src/storage/archiveStore.js";
import { archiveBlobIdentity, archiveBlobName, sidecarBlobName } from "../src/storage/blobNames.js";

class InstantJobRunner implements JobRunner {
  private count = 0;

  async startExecution(env: Record<string, string>): Promise<JobExecution> {
    if (env.RESTORE_REQUEST !== undefined) await this.restore(env.RESTORE_REQUEST);
    else await this.archive(env.ARCHIVE_REQUEST!);
    return { name: `instant-${++this.count}-${randomBytes(3).toString("hex")}`, status: "Succeeded" };
  }

  private async archive(json: string): Promise<void> {
    // The app's request: the image as values, by digest, within a run.
    const request = archiveRequestSchema.parse(JSON.parse(json));
    const image = { registry: request.registry, repository: request.repository, digest: request.digest! };
    const archiveBlob = archiveBlobName(image);
    const result: ArchiveImageResult = {
      status: "archived",
      image: formatImageReference({ ...image, ...(request.tags[0] !== undefined && { tag: request.tags[0] }) }),
      ...image,
      tags: request.tags,
      container: request.blobContainer,
      archiveBlob,
      sidecarBlob: sidecarBlobName(archiveBlob),
      bytes: 1024,
      sha256: image.digest.slice(7),
      durationSeconds: 0,
    };
    const container = getAppDependencies().getContainer(request.blobContainer);
    // What a worker leaves besides its result: the archive and its sidecar (tiny stand-ins, in the tiers a worker
    // writes them in), so that a re-run finds the image archived and a restore rehydrates it by copy, as after a real run.
    await container.getBlockBlobClient(archiveBlob).uploadData(Buffer.alloc(1024), { tier: "Archive" });
    await container.getBlockBlobClient(sidecarBlobName(archiveBlob)).uploadData(Buffer.from("{}"), { tier: "Cool" });
    await writeWorkerResult(container, request.runId!, image, request.attemptId, result);
  }

  private async restore(json: string): Promise<void> {
    // The host's startJobExecution activity has checked the request against RESTORE_TARGET_REGISTRIES already.
    const request = readRestoreRequest(json);
    const image = archiveBlobIdentity(request.archiveBlob)!;
    const { target } = request;
    const tags = target.tags ?? [];
    for (const reference of tags.length ? tags : [image.digest]) {
      const url = `http://${target.registry}/v2/${target.repository}/manifests/${reference}`;
      // The synthetic registry's one token (a real worker gets it through the challenge); its 429s are waited out.
      const headers = { authorization: "Bearer synthetic", "docker-content-digest": image.digest };
      let status = 0;
      for (let attempt = 0; attempt < 10 && status !== 201; attempt++) {
        const response = await fetch(url, { method: "PUT", headers });
        await response.body?.cancel();
        status = response.status;
        if (status === 429)
          await new Promise((r) => setTimeout(r, 1000 * Number(response.headers.get("retry-after") ?? 1)));
      }
      if (status !== 201) throw new Error(`the synthetic target answered the push of ${url} with ${status}`);
    }
    const result: RestoreImageResult = {
      status: "restored",
      archiveBlob: request.archiveBlob,
      target: `${target.registry}/${target.repository}`,
      digest: image.digest,
      tags,
      bytes: 1024,
      durationSeconds: 0,
    };
    const container = getAppDependencies().getContainer(request.blobContainer);
    await writeWorkerResult(container, request.runId!, image, request.attemptId, result);
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
