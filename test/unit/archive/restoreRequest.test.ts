// The worker's restore request (src/archive/restoreRequest.ts): its schema names every wrong field, it reads only the
// archive or its own staging copy, its digest is the archive's, and the target is checked against the worker's own
// RESTORE_TARGET_REGISTRIES and ARCHIVE_CONTAINER.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertRestoreRequestInScope, restoreRequestSchema } from "../../../src/archive/restoreRequest.js";
import { formatIssues } from "../../../src/validation.js";

const DIGEST = `sha256:${"b".repeat(64)}`;
const ARCHIVE = `acr.io/team/api@sha256-${"b".repeat(64)}.tar.gz`;
const valid = {
  archiveBlob: ARCHIVE,
  readableBlob: `staging/${ARCHIVE}`,
  blobContainer: "images",
  target: { registry: "restore.azurecr.io", repository: "team/api" },
  expectedDigest: DIGEST,
};

const problems = (input: unknown) => {
  const parsed = restoreRequestSchema.safeParse(input);
  return parsed.success ? [] : formatIssues(parsed.error);
};

test("a valid request parses; the archive itself may be read when it is online", () => {
  assert.deepEqual(problems(valid), []);
  assert.deepEqual(problems({ ...valid, readableBlob: ARCHIVE }), []);
});

test("supplements: only the archive's own referrers supplements, each read from itself or its staging copy", () => {
  const supplement = `acr.io/team/api@sha256-${"b".repeat(64)}.referrers-sha256-${"c".repeat(64)}.tar.gz`;
  assert.deepEqual(
    problems({ ...valid, supplements: [{ archiveBlob: supplement, readableBlob: `staging/${supplement}` }] }),
    [],
  );
  const foreign = `acr.io/team/web@sha256-${"b".repeat(64)}.referrers-sha256-${"c".repeat(64)}.tar.gz`;
  assert.deepEqual(
    problems({
      ...valid,
      supplements: [
        { archiveBlob: foreign, readableBlob: foreign },
        { archiveBlob: supplement, readableBlob: ARCHIVE },
      ],
    }),
    [
      "supplements.0.archiveBlob: must be a referrers supplement of the archive (<archive stem>.referrers-sha256-<hex>.tar.gz)",
      "supplements.1.readableBlob: must be the supplement blob or its staging copy",
    ],
  );
});

test("every wrong field is named", () => {
  assert.deepEqual(problems({ ...valid, readableBlob: "runs/r/summary.json" }), [
    "readableBlob: must be the archive blob or its staging copy (staging/<archiveBlob>)",
  ]);
  assert.deepEqual(problems({ ...valid, expectedDigest: `sha256:${"c".repeat(64)}` }), [
    `expectedDigest: must be the archive's digest ${DIGEST}`,
  ]);
  const many = problems({
    ...valid,
    archiveBlob: `${ARCHIVE}.json`,
    target: { registry: "Not A Host", repository: "UPPER", tags: ["-bad"] },
    color: "red",
  });
  assert.ok(
    many.some((p) => p.startsWith("archiveBlob: must be an archive blob name")),
    many.join("\n"),
  );
  assert.ok(
    many.some((p) => p.startsWith("target.registry:")),
    many.join("\n"),
  );
  assert.ok(
    many.some((p) => p.startsWith("target.repository:")),
    many.join("\n"),
  );
  assert.ok(
    many.some((p) => p.startsWith("target.tags.0:")),
    many.join("\n"),
  );
  assert.ok(many.includes("color: unknown field"), many.join("\n"));
});

test("the target must be in RESTORE_TARGET_REGISTRIES, and the container the worker's", () => {
  const request = restoreRequestSchema.parse(valid);
  const scope = { restoreTargetRegistries: ["restore.azurecr.io"], archiveContainer: "images" };
  assertRestoreRequestInScope(request, scope, { requireTargets: true });
  assert.throws(
    () => assertRestoreRequestInScope(request, { ...scope, restoreTargetRegistries: [] }, { requireTargets: true }),
    /registry: restore.azurecr.io is not in RESTORE_TARGET_REGISTRIES \(none: set RESTORE_TARGET_REGISTRIES\)/,
  );
  assertRestoreRequestInScope(request, { restoreTargetRegistries: [] }, { requireTargets: false }); // the CLI, unset
  assert.throws(
    () => assertRestoreRequestInScope(request, { ...scope, archiveContainer: "other" }, { requireTargets: true }),
    /blobContainer: images is not this worker's container/,
  );
});
