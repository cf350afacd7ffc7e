// The worker's archive request (src/archive/archiveRequest.ts): the image as values, parsed once; the legacy reference
// form (the old queue message, the CLI's argument) parsed at the edge into the same request; attempts named by the
// structured fields; the scope checked on values, with no reference parsed back. (Guards issue 22.4.)
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  archiveJobRequest,
  archiveRequestSchema,
  archiveRequestSchemaFor,
  assertRequestInScope,
  referenceArchiveRequestSchema,
} from "../../../src/archive/archiveRequest.js";
import { isSameAttempt } from "../../../src/jobs/jobAttempt.js";
import { formatIssues } from "../../../src/validation.js";

const DIGEST = `sha256:${"a".repeat(64)}`;
const structured = {
  registry: "myacr.azurecr.io",
  repository: "team/app",
  digest: DIGEST,
  tags: ["1.0", "latest"],
  blobContainer: "images",
};

const problems = (value: unknown) => {
  const parsed = archiveRequestSchemaFor(value).safeParse(value);
  return parsed.success ? [] : formatIssues(parsed.error);
};

test("the structured request parses as it is: registry, repository, digest and tags as values (guards issue 22.4)", () => {
  assert.deepEqual(archiveRequestSchema.parse(structured), structured);
  assert.deepEqual(archiveRequestSchemaFor(structured).parse(structured), structured);
  // Each tag once, the first kept first (it is the one the image was asked for).
  assert.deepEqual(archiveRequestSchema.parse({ ...structured, tags: ["1.0", "x", "1.0"] }).tags, ["1.0", "x"]);
  // A request by tag alone resolves its first tag; with neither, it names nothing.
  const byTag = { ...structured, digest: undefined };
  assert.deepEqual(problems(byTag), []);
  assert.deepEqual(problems({ ...byTag, tags: [] }), ["digest: is required when no tag is named"]);
});

test("every wrong field of a structured request is named (guards issue 22.4)", () => {
  assert.deepEqual(
    problems({
      ...structured,
      registry: "not a host",
      repository: "UPPER",
      digest: "sha256:short",
      tags: ["-bad"],
      color: "red",
    }),
    [
      "registry: must be a registry login server such as myacr.azurecr.io or 127.0.0.1:5000",
      "repository: must be a repository name",
      "digest: must be sha256:<64 hex>",
      "tags.0: must be a tag",
      "color: unknown field",
    ],
  );
  // A joined reference is not a registry: the image is never one string in the structured form.
  assert.deepEqual(problems({ ...structured, registry: `myacr.azurecr.io/team/app:1.0@${DIGEST}` }), [
    "registry: must be a registry login server such as myacr.azurecr.io or 127.0.0.1:5000",
  ]);
});

test("the legacy reference form is parsed once, at the edge, into the same request (guards issue 22.4)", () => {
  // The old queue message.
  assert.deepEqual(
    referenceArchiveRequestSchema.parse({
      image: "myacr.azurecr.io/team/app:1.0",
      blobContainer: "images",
      blobBaseName: "team-app--1.0.tar.gz",
    }),
    {
      registry: "myacr.azurecr.io",
      repository: "team/app",
      tags: ["1.0"],
      blobContainer: "images",
      blobBaseName: "team-app--1.0.tar.gz",
    },
  );
  // A tag and a digest, and more tags: the tag named first, once.
  assert.deepEqual(
    archiveRequestSchemaFor({ image: "x" }).parse({
      image: `myacr.azurecr.io/team/app:1.0@${DIGEST}`,
      tags: ["latest", "1.0"],
    }),
    structured,
  );
  // No tag and no digest: latest, as before; a digest alone: no tag.
  assert.deepEqual(referenceArchiveRequestSchema.parse({ image: "localhost:5000/app" }).tags, ["latest"]);
  const byDigest = referenceArchiveRequestSchema.parse({ image: `Reg.Example.io/app@${DIGEST}` });
  assert.deepEqual(byDigest, {
    registry: "Reg.Example.io",
    repository: "app",
    digest: DIGEST,
    tags: [],
    blobContainer: "images",
  });
  // Its problems are named per field, the reference's with why.
  assert.deepEqual(problems({ image: "x", blobContainer: "Bad_Name" }).length, 2);
  assert.match(problems({ image: "x" })[0]!, /^image: invalid image reference "x": /);
});

test("an attempt is named by its run, its image's values and its attempt id (guards issue 22.4)", () => {
  const request = { ...archiveRequestSchema.parse(structured), runId: "run-1", attemptId: "1" };
  const json = JSON.stringify(request);
  assert.ok(isSameAttempt(archiveJobRequest, json, request));
  assert.ok(isSameAttempt(archiveJobRequest, json, { ...request, tags: ["other"] }), "tags do not name an attempt");
  for (const other of [
    { repository: "team/web" },
    { digest: `sha256:${"b".repeat(64)}` },
    { registry: "other.azurecr.io" },
    { attemptId: "2" },
  ])
    assert.ok(!isSameAttempt(archiveJobRequest, json, { ...request, ...other }), JSON.stringify(other));
});

test("the scope is checked on the request's registry value", () => {
  const request = archiveRequestSchema.parse(structured);
  assertRequestInScope(request, { allowedRegistries: ["*.azurecr.io"], archiveContainer: "images" });
  assert.throws(
    () => assertRequestInScope(request, { allowedRegistries: ["other.io"] }),
    /registry: myacr.azurecr.io is not in ALLOWED_REGISTRIES/,
  );
});
