// restoreFromBlob (src/archive/runRestoreRequest.ts) against real Azurite, before any registry is contacted: a sidecar
// that does not record what the restore checks the archive against is a damaged archive (ARCHIVE_INVALID), while a
// request naming a supplement the sidecar does not record is bad input (INVALID_ARGUMENT).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { restoreFromBlob } from "../../../src/archive/runRestoreRequest.js";
import type { RestoreRequest } from "../../../src/archive/restoreRequest.js";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import { archiveBlobName, referrersSupplementBlobName, sidecarBlobName } from "../../../src/storage/blobNames.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";

let azurite: AzuriteInstance;
let service: BlobServiceClient;
let container: ContainerClient;

before(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  container = service.getContainerClient("images");
  await container.create();
});
after(async () => {
  await azurite?.stop();
});

const image = { registry: "registry.example", repository: "team/app", digest: `sha256:${"a".repeat(64)}` };
const archiveBlob = archiveBlobName(image);
const supplementBlob = referrersSupplementBlobName(image, `sha256:${"b".repeat(64)}`);

async function writeSidecar(sidecar: object): Promise<void> {
  const body = JSON.stringify(sidecar);
  await container.getBlockBlobClient(sidecarBlobName(archiveBlob)).upload(body, Buffer.byteLength(body));
}

function restore(supplements: RestoreRequest["supplements"] = []) {
  const request: RestoreRequest = {
    archiveBlob,
    fromStaging: false,
    blobContainer: "images",
    target: { registry: "127.0.0.1:9", repository: "team/app" },
    supplements,
  };
  // Never contacted: each case fails on the sidecar (port 9 is discard, nothing listens).
  return restoreFromBlob(request, { blobService: service, getRegistryClient: (r) => new RegistryClient(r) });
}

const code = (expected: string, message: RegExp) => (error: Error & { code?: string }) =>
  error.code === expected && message.test(error.message);

test("a sidecar without the archive's sha256, or a supplement's, is ARCHIVE_INVALID; an unrecorded supplement INVALID_ARGUMENT (guards issue 22.5)", async () => {
  const source = { digest: image.digest };
  await writeSidecar({ source, archive: { size: 10 } });
  await assert.rejects(restore(), code("ARCHIVE_INVALID", /does not record the archive's sha256/));

  await writeSidecar({
    source,
    archive: { size: 10, sha256: "c".repeat(64) },
    supplements: [{ archiveBlob: supplementBlob, archive: { size: 5 } }],
  });
  const supplement = { archiveBlob: supplementBlob, fromStaging: false };
  await assert.rejects(restore([supplement]), code("ARCHIVE_INVALID", /does not record the sha256 of its supplement/));

  await writeSidecar({ source, archive: { size: 10, sha256: "c".repeat(64) } });
  await assert.rejects(
    restore([supplement]),
    code("INVALID_ARGUMENT", /is not a referrers supplement that the sidecar/),
  );
});
