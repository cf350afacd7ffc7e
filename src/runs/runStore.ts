// The blobs a run keeps in the archive container (names from storage/blobNames.ts): the listing, the batches
// the orchestrations work through, their outcomes, the workers' results and the summary. Orchestrations pass
// run ids and batch numbers; the data lives here.
import type { ContainerClient } from "@azure/storage-blob";
import type { ArchiveImageResult } from "../archive/archiveImage.js";
import { ArchiveError } from "../errors.js";
import {
  archiveBlobName,
  batchBlobName,
  batchOutcomesBlobName,
  listingBlobName,
  parseArchiveBlobName,
  repositoryArchivesPrefix,
  resultBlobName,
  sidecarBlobName,
  summaryBlobName,
  type ImageIdentity,
} from "../storage/blobNames.js";
import { ensureContainer, storageErrorCode } from "../storage/blobServiceClient.js";
import type { ImageOutcome, ImageWorkItem, ListedImage, RunSummary } from "./archiveRun.js";

export interface ArchivedImageInfo {
  archived: boolean;
  bytes?: number;
  sha256?: string;
}

async function readJson<T>(container: ContainerClient, name: string): Promise<T | undefined> {
  try {
    const buffer = await container.getBlockBlobClient(name).downloadToBuffer();
    return JSON.parse(buffer.toString("utf8")) as T;
  } catch (error) {
    if (storageErrorCode(error).statusCode === 404) return undefined;
    throw new ArchiveError("STORAGE_ERROR", `cannot read ${name}: ${storageErrorCode(error).code ?? (error as Error).message}`, { cause: error });
  }
}

async function writeJson(container: ContainerClient, name: string, value: unknown): Promise<void> {
  const body = Buffer.from(JSON.stringify(value));
  await container.getBlockBlobClient(name).uploadData(body, { blobHTTPHeaders: { blobContentType: "application/json" } });
}

/** Digests of one repository that have an archive, from one prefix listing (with metadata: no reads). */
export async function listArchivedDigests(container: ContainerClient, registry: string, repository: string): Promise<Map<string, ArchivedImageInfo>> {
  const found = new Map<string, { archive?: { bytes: number; sha256?: string }; sidecar: boolean }>();
  try {
    for await (const blob of container.listBlobsFlat({ prefix: repositoryArchivesPrefix(registry, repository), includeMetadata: true })) {
      const parsed = parseArchiveBlobName(blob.name);
      if (!parsed) continue;
      const entry = found.get(parsed.digest) ?? { sidecar: false };
      if (parsed.kind === "sidecar") entry.sidecar = true;
      else entry.archive = { bytes: blob.properties.contentLength ?? 0, ...(blob.metadata?.archivesha256 && { sha256: blob.metadata.archivesha256 }) };
      found.set(parsed.digest, entry);
    }
  } catch (error) {
    if (storageErrorCode(error).statusCode !== 404) throw error; // no container yet: nothing archived
  }
  const result = new Map<string, ArchivedImageInfo>();
  for (const [digest, entry] of found) {
    // Archived means the sidecar exists: an archive without one is finished by the worker (no blob re-read).
    result.set(digest, { archived: entry.sidecar && entry.archive !== undefined, ...(entry.archive && { bytes: entry.archive.bytes }), ...(entry.archive?.sha256 && { sha256: entry.archive.sha256 }) });
  }
  return result;
}

/** Already archived? (the sidecar exists for this digest) — the check an archiveImage orchestration starts with. */
export async function getArchivedImageInfo(container: ContainerClient, image: ImageIdentity): Promise<ArchivedImageInfo> {
  const archive = archiveBlobName(image);
  const sidecarExists = await container.getBlockBlobClient(sidecarBlobName(archive)).exists();
  if (!sidecarExists) return { archived: false };
  const props = await container.getBlockBlobClient(archive).getProperties().catch(() => undefined);
  if (!props) return { archived: false };
  return { archived: true, bytes: props.contentLength ?? 0, ...(props.metadata?.archivesha256 && { sha256: props.metadata.archivesha256 }) };
}

/** Writes the listing and, when batchSize > 0, the batches of images still to archive. Returns the batch count. */
export async function writeListing(container: ContainerClient, runId: string, images: ListedImage[], batchSize: number): Promise<number> {
  await ensureContainer(container);
  await writeJson(container, listingBlobName(runId), images);
  if (batchSize <= 0) return 0;
  const todo: ImageWorkItem[] = images.filter((i) => !i.archived).map(({ repository, digest, tags }) => ({ repository, digest, tags }));
  let batchCount = 0;
  for (let start = 0; start < todo.length; start += batchSize) {
    await writeJson(container, batchBlobName(runId, batchCount++), todo.slice(start, start + batchSize));
  }
  return batchCount;
}

export async function readListing(container: ContainerClient, runId: string): Promise<ListedImage[]> {
  return (await readJson<ListedImage[]>(container, listingBlobName(runId))) ?? [];
}

export async function readBatch(container: ContainerClient, runId: string, batchIndex: number): Promise<ImageWorkItem[]> {
  const batch = await readJson<ImageWorkItem[]>(container, batchBlobName(runId, batchIndex));
  if (!batch) throw new ArchiveError("STORAGE_ERROR", `batch ${batchIndex} of run ${runId} is missing`);
  return batch;
}

export async function writeBatchOutcomes(container: ContainerClient, runId: string, batchIndex: number, outcomes: ImageOutcome[]): Promise<void> {
  await writeJson(container, batchOutcomesBlobName(runId, batchIndex), outcomes);
}

export async function readBatchOutcomes(container: ContainerClient, runId: string, batchIndex: number): Promise<ImageOutcome[]> {
  return (await readJson<ImageOutcome[]>(container, batchOutcomesBlobName(runId, batchIndex))) ?? [];
}

export async function readWorkerResult(container: ContainerClient, runId: string, image: ImageIdentity, attemptId?: string): Promise<ArchiveImageResult | undefined> {
  return readJson<ArchiveImageResult>(container, resultBlobName(runId, image, attemptId));
}

export async function writeSummary(container: ContainerClient, summary: RunSummary): Promise<string> {
  const name = summaryBlobName(summary.runId);
  await container.getBlockBlobClient(name).uploadData(Buffer.from(`${JSON.stringify(summary, null, 2)}\n`), { blobHTTPHeaders: { blobContentType: "application/json" } });
  return name;
}
