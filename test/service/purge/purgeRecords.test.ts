// A purge's records (src/purge/purgeRecords.ts) in real Azurite: written once each, read back through their schemas; a
// blob at a record's name that is not a record this tool wrote for that digest is refused, never taken for "none".
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { BlobServiceClient } from "@azure/storage-blob";
import {
  readPurgeRecord,
  readPurgeRecords,
  writePurgeRecord,
  type CancelledRecord,
} from "../../../src/purge/purgeRecords.js";
import { ensureArchiveContainer } from "../../../src/storage/archiveStore.js";
import { purgeRecordBlobName } from "../../../src/storage/blobNames.js";
import { writeJsonBlob } from "../../../src/storage/jsonBlob.js";
import { startAzurite, type AzuriteInstance } from "../../../tools/localenv/azurite.js";
import { expectCode } from "../../support/loopback.js";

let azurite: AzuriteInstance;
let service: BlobServiceClient;

before(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await azurite?.stop();
});

const image = { registry: "myacr.azurecr.io", repository: "team/app", digest: `sha256:${"c".repeat(64)}` };
const cancelled: CancelledRecord = {
  schemaVersion: 1,
  step: "cancelled",
  ...image,
  runId: "run-1",
  at: "2026-01-02T03:04:05.000Z",
  reason: "requested",
  detail: "asked",
};

test("each step's record is written once and read back as written; none is none (guards issue 23.6)", async () => {
  const container = service.getContainerClient("records-once");
  await ensureArchiveContainer(container);
  assert.deepEqual(await readPurgeRecords(container, image), {});
  assert.equal(await writePurgeRecord(container, cancelled), true);
  assert.equal(await writePurgeRecord(container, { ...cancelled, runId: "run-2", detail: "again" }), false);
  assert.deepEqual(await readPurgeRecord(container, image, "cancelled"), cancelled);
  assert.deepEqual(await readPurgeRecords(container, image), { cancelled });
});

test("a record that does not fit its schema is never written; a blob at a record's name that is not one, or another digest's, is refused (guards issue 23.6)", async () => {
  const container = service.getContainerClient("records-forged");
  await ensureArchiveContainer(container);
  await expectCode(
    writePurgeRecord(container, { ...cancelled, at: "yesterday" }),
    "INTERNAL",
    /does not fit its schema/,
  );
  assert.deepEqual(await readPurgeRecords(container, image), {});

  const name = purgeRecordBlobName(image, "cancelled");
  await writeJsonBlob(container, name, { step: "cancelled", note: "not a record" });
  await expectCode(readPurgeRecord(container, image, "cancelled"), "STORAGE_ERROR", /is not a cancelled record/);
  const other = { ...image, digest: `sha256:${"d".repeat(64)}` };
  await writeJsonBlob(container, purgeRecordBlobName(other, "cancelled"), cancelled);
  await expectCode(readPurgeRecords(container, other), "STORAGE_ERROR", new RegExp(`for ${other.digest}`));
});
