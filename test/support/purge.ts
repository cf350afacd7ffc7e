// What the purge's tests share: an image archived for real (the worker's archiveImage into real Azurite, which writes
// its archive, sidecar and tag markers), the verification record's answer as a set the test fills (issue 23.1 builds
// the real one), and the primitives' dependencies with the app's settings as a test sets them.
import { referenceArchiveRequestSchema } from "../../src/archive/archiveRequest.js";
import type { BlobServiceClient, ContainerClient } from "@azure/storage-blob";
import { archiveImage, type ArchiveImageResult } from "../../src/archive/archiveImage.js";
import type { PurgeConfig } from "../../src/purge/purgeConfig.js";
import type { PurgeImageDeps } from "../../src/purge/purgeImage.js";
import type { ArchiveVerificationLookup } from "../../src/purge/purgePreconditions.js";
import { RegistryClient } from "../../src/registry/registryClient.js";

export const TUNING = {
  gzipLevel: 1,
  blockSizeBytes: 4 * 1024 * 1024,
  uploadConcurrency: 2,
  registryConcurrency: 2,
  prefetchBytes: 16 * 1024 * 1024,
};

/** Archives `registry/reference` (a tag or @digest) into the container, as the worker job does. */
export async function archiveForPurge(
  service: BlobServiceClient,
  containerName: string,
  registry: string,
  reference: string,
): Promise<ArchiveImageResult> {
  const result = await archiveImage(
    referenceArchiveRequestSchema.parse({ image: `${registry}/${reference}`, blobContainer: containerName }),
    { blobService: service, getRegistryClient: (r) => new RegistryClient(r) },
    { tuning: TUNING },
  );
  if (result.status === "failed") throw new Error(`archive of ${reference} failed: ${JSON.stringify(result.error)}`);
  return result;
}

/** The verification record's answer, as a set of verified archive blobs the test fills. */
export class VerifiedSet implements ArchiveVerificationLookup {
  readonly verified = new Set<string>();
  add(...blobs: (string | undefined)[]): this {
    for (const blob of blobs) if (blob) this.verified.add(blob);
    return this;
  }
  isVerified(archiveBlob: string): Promise<boolean> {
    return Promise.resolve(this.verified.has(archiveBlob));
  }
}

export const PURGE_ON: PurgeConfig = { enabled: true, graceSeconds: 20, maxImages: 100 };

export function purgeDeps(
  client: RegistryClient,
  container: ContainerClient,
  verification: ArchiveVerificationLookup,
  overrides: Partial<PurgeImageDeps> = {},
): PurgeImageDeps {
  return {
    client,
    container,
    config: PURGE_ON,
    allowedRegistries: [client.registry],
    verification,
    ...overrides,
  };
}
