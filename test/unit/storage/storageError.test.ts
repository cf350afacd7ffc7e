// The one storage-error mapper (src/storage/storageError.ts), pure: what a storage failure becomes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { ArchiveError } from "../../../src/errors.js";
import { storageError, storageErrorCode } from "../../../src/storage/storageError.js";

test("the status and service code come from `code` or `details.errorCode`", () => {
  assert.deepEqual(storageErrorCode({ statusCode: 409, code: "BlobAlreadyExists" }), {
    statusCode: 409,
    code: "BlobAlreadyExists",
  });
  assert.deepEqual(storageErrorCode({ statusCode: 412, details: { errorCode: "ConditionNotMet" } }), {
    statusCode: 412,
    code: "ConditionNotMet",
  });
  assert.deepEqual(storageErrorCode(undefined), { statusCode: undefined, code: undefined });
});

test("a storage failure becomes a retryable STORAGE_ERROR that names the operation, the code and the status", () => {
  const cause = Object.assign(new Error("The server is busy."), { statusCode: 503, code: "ServerBusy" });
  const mapped = storageError("cannot read x.json", cause);
  assert.equal(mapped.code, "STORAGE_ERROR");
  assert.equal(mapped.message, "cannot read x.json: ServerBusy (HTTP 503)");
  assert.equal(mapped.statusCode, 503);
  assert.equal(mapped.retryable, true);
  assert.equal(mapped.cause, cause);
  assert.equal(
    storageError("cannot write y", new Error("socket hang up\n  at …")).message,
    "cannot write y: socket hang up",
  );
  const ours = new ArchiveError("ABORTED", "stopped");
  assert.equal(storageError("cannot commit z", ours), ours, "an ArchiveError passes through");
});
