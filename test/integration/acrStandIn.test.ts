// The local ACR stand-in (tools/localenv/acrStandIn.ts) in front of the real registry: ACR's /acr/v1 listings and
// changeable attributes, their locks as ACR enforces them (405 REGISTRY_DISALLOWED_OPERATION), untag and manifest and
// repository delete, each checked in the registry behind it; skopeo and the app's own client and listing through it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { isArchiveError } from "../../src/errors.js";
import { RegistryClient } from "../../src/registry/registryClient.js";
import type { RegistryImageItem } from "../../src/runs/imageListing.js";
import type { RunFilters } from "../../src/runs/archiveRun.js";
import { pushImage, skopeo, smallImage } from "../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { ArtifactTypes, artifactOf, cosignSignature, pushReferrer, putTagSchemaIndex } from "../support/referrers.js";
import { listSelectedImages } from "../support/registryListing.js";

interface Answer {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

const MANIFEST_ACCEPT =
  "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

async function call(host: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`http://${host}${path}`, {
    method,
    headers: { accept: MANIFEST_ACCEPT, ...(body !== undefined && { "content-type": "application/json" }), ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: response.status, headers: response.headers, body: parsed } as Answer;
}

/** ACR's refusal: 405 and `{"errors":[{"code":"REGISTRY_DISALLOWED_OPERATION","message":"The operation is disallowed…"}]}`. */
function assertDisallowed(answer: Answer, what: string): void {
  assert.equal(answer.status, 405, `${what}: ${answer.status} ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body?.errors?.[0]?.code, "REGISTRY_DISALLOWED_OPERATION", what);
  assert.match(answer.body.errors[0].message, /^The operation is disallowed on this registry, repository or image/);
}

const image = (name: string) => smallImage(name);

describe("the local ACR stand-in in front of the real registry", () => {
  let registry: TestRegistry;
  let front: string;
  let direct: string;
  before(async () => {
    registry = await startRegistry({ acr: true });
    front = registry.host;
    direct = registry.registryHost;
    assert.notEqual(front, direct);
  });
  after(async () => {
    await registry?.stop();
  });

  test("attributes of a repository, a manifest and a tag: GET and PATCH round-trip, kept apart, lastUpdateTime moves on PATCH (guards issue 23.9)", async () => {
    const { digest } = await pushImage(front, "attr/app:v1", image("attr"));
    const repository = await call(front, "GET", "/acr/v1/attr/app");
    assert.equal(repository.status, 200);
    assert.deepEqual(
      { ...repository.body, createdTime: undefined, lastUpdateTime: undefined },
      {
        registry: front,
        imageName: "attr/app",
        createdTime: undefined,
        lastUpdateTime: undefined,
        manifestCount: 1,
        tagCount: 1,
        changeableAttributes: { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true },
      },
    );
    const manifest = await call(front, "GET", `/acr/v1/attr/app/_manifests/${digest}`);
    assert.equal(manifest.status, 200);
    assert.equal(manifest.body.registry, front);
    assert.equal(manifest.body.imageName, "attr/app");
    const m = manifest.body.manifest;
    assert.equal(m.digest, digest);
    assert.deepEqual(m.tags, ["v1"]);
    assert.equal(m.mediaType, "application/vnd.oci.image.manifest.v1+json");
    assert.equal(m.configMediaType, "application/vnd.oci.image.config.v1+json");
    assert.equal(m.architecture, "amd64");
    assert.equal(m.os, "linux");
    assert.ok(m.imageSize > 0);
    assert.ok(!Number.isNaN(Date.parse(m.createdTime)) && m.lastUpdateTime >= m.createdTime);

    await sleep(20);
    const patched = await call(front, "PATCH", `/acr/v1/attr/app/_manifests/${digest}`, { writeEnabled: false });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body.manifest.changeableAttributes, {
      deleteEnabled: true,
      writeEnabled: false,
      readEnabled: true,
      listEnabled: true,
    });
    assert.ok(patched.body.manifest.lastUpdateTime > m.lastUpdateTime, "a PATCH updates lastUpdateTime");
    assert.equal(patched.body.manifest.createdTime, m.createdTime);
    // Tag and manifest attributes are separate (as ACR keeps them).
    const tag = await call(front, "GET", "/acr/v1/attr/app/_tags/v1");
    assert.equal(tag.status, 200);
    assert.equal(tag.body.tag.name, "v1");
    assert.equal(tag.body.tag.digest, digest);
    assert.equal(tag.body.tag.changeableAttributes.writeEnabled, true);
    const tagPatched = await call(front, "PATCH", "/acr/v1/attr/app/_tags/v1", { deleteEnabled: false });
    assert.equal(tagPatched.body.tag.changeableAttributes.deleteEnabled, false);
    assert.equal(
      (await call(front, "GET", "/acr/v1/attr/app/_tags/v1")).body.tag.changeableAttributes.deleteEnabled,
      false,
    );
    // A PATCH changes only what it names.
    await call(front, "PATCH", "/acr/v1/attr/app", { readEnabled: false, listEnabled: false });
    const repoPatched = await call(front, "PATCH", "/acr/v1/attr/app", { readEnabled: true });
    assert.deepEqual(repoPatched.body.changeableAttributes, {
      deleteEnabled: true,
      writeEnabled: true,
      readEnabled: true,
      listEnabled: false,
    });
    const listed = await call(front, "GET", "/acr/v1/attr/app/_manifests");
    assert.equal(listed.body.manifests[0].changeableAttributes.writeEnabled, false);
    const tags = await call(front, "GET", "/acr/v1/attr/app/_tags");
    assert.equal(tags.body.tags[0].changeableAttributes.deleteEnabled, false);

    assert.equal((await call(front, "PATCH", "/acr/v1/attr/app", { readEnabled: "no" })).status, 400);
    const noTag = await call(front, "GET", "/acr/v1/attr/app/_tags/v9");
    assert.equal(noTag.status, 404);
    assert.equal(noTag.body.errors[0].code, "TAG_UNKNOWN");
    const noRepo = await call(front, "GET", "/acr/v1/no/such");
    assert.equal(noRepo.status, 404);
    assert.equal(noRepo.body.errors[0].code, "NAME_UNKNOWN");
    assert.equal((await call(front, "GET", `/acr/v1/attr/app/_manifests/sha256:${"0".repeat(64)}`)).status, 404);
  });

  test("a read-disabled manifest, tag or repository refuses pulls with ACR's 405 REGISTRY_DISALLOWED_OPERATION; skopeo and the app's client see it (guards issue 23.9)", async () => {
    const { digest } = await pushImage(front, "read/app:v1", image("read"));
    await pushImage(front, "read/app:v2", image("read"));
    await pushImage(front, "read/other:1", image("other"));
    const client = new RegistryClient(front);
    const pull = (reference: string, method = "GET", repository = "read/app") =>
      call(front, method, `/v2/${repository}/manifests/${reference}`);

    await call(front, "PATCH", `/acr/v1/read/app/_manifests/${digest}`, { readEnabled: false });
    for (const reference of ["v1", "v2", digest]) assertDisallowed(await pull(reference), `GET ${reference}`);
    const head = await pull("v1", "HEAD");
    assert.equal(head.status, 405);
    await assert.rejects(client.getManifest("read/app", "v2"), (error: unknown) => {
      assert.ok(isArchiveError(error), String(error));
      assert.equal(error.registryCode, "REGISTRY_DISALLOWED_OPERATION");
      assert.equal(error.statusCode, 405);
      return true;
    });
    await assert.rejects(
      skopeo(["inspect", "--tls-verify=false", `docker://${front}/read/app:v1`]),
      /The operation is disallowed on this registry/,
    );
    // The registry behind still has it: a brown-out, not a delete.
    assert.equal((await call(direct, "GET", `/v2/read/app/manifests/${digest}`)).status, 200);

    // A read-disabled tag refuses pulls by that tag only.
    await call(front, "PATCH", `/acr/v1/read/app/_manifests/${digest}`, { readEnabled: true });
    await call(front, "PATCH", "/acr/v1/read/app/_tags/v1", { readEnabled: false });
    assertDisallowed(await pull("v1"), "GET v1 (tag read-disabled)");
    assert.equal((await pull("v2")).status, 200);
    assert.equal((await pull(digest)).status, 200);
    assert.equal((await client.getManifest("read/app", "v2")).descriptor.digest, digest);

    // A read-disabled repository refuses every pull in it, by tag or digest; other repositories are not touched.
    await call(front, "PATCH", "/acr/v1/read/app/_tags/v1", { readEnabled: true });
    await call(front, "PATCH", "/acr/v1/read/app", { readEnabled: false });
    for (const reference of ["v1", "v2", digest]) assertDisallowed(await pull(reference), `GET ${reference} (repo)`);
    assert.equal((await pull("1", "GET", "read/other")).status, 200);
    await call(front, "PATCH", "/acr/v1/read/app", { readEnabled: true });
    for (const reference of ["v1", "v2", digest]) assert.equal((await pull(reference)).status, 200);
    await skopeo(["inspect", "--tls-verify=false", `docker://${front}/read/app:v1`]);
  });

  test("a delete- or write-disabled manifest, tag or repository refuses deletion with ACR's error body, and the registry keeps the image (guards issue 23.9)", async () => {
    const a = await pushImage(front, "del/app:v1", image("del-a"));
    const b = await pushImage(front, "del/app:keep", image("del-b"));
    const deleteManifest = (digest: string) => call(front, "DELETE", `/v2/del/app/manifests/${digest}`);
    const untag = (tag: string) => call(front, "DELETE", `/acr/v1/del/app/_tags/${tag}`);
    const stillThere = async () => {
      assert.equal((await call(direct, "GET", `/v2/del/app/manifests/${a.digest}`)).status, 200);
      assert.equal((await call(direct, "GET", `/v2/del/app/manifests/v1`)).status, 200);
    };

    await call(front, "PATCH", `/acr/v1/del/app/_manifests/${a.digest}`, { deleteEnabled: false });
    assertDisallowed(await deleteManifest(a.digest), "manifest delete-disabled");
    await call(front, "PATCH", `/acr/v1/del/app/_manifests/${a.digest}`, { deleteEnabled: true, writeEnabled: false });
    assertDisallowed(await deleteManifest(a.digest), "manifest write-disabled");
    await call(front, "PATCH", `/acr/v1/del/app/_manifests/${a.digest}`, { writeEnabled: true });
    await stillThere();

    // Deleting a manifest deletes its tags: a locked tag on it protects it too; and it refuses untag.
    await call(front, "PATCH", "/acr/v1/del/app/_tags/v1", { deleteEnabled: false });
    assertDisallowed(await deleteManifest(a.digest), "a tag on it delete-disabled");
    assertDisallowed(await untag("v1"), "untag of a delete-disabled tag");
    await call(front, "PATCH", "/acr/v1/del/app/_tags/v1", { deleteEnabled: true, writeEnabled: false });
    assertDisallowed(await deleteManifest(a.digest), "a tag on it write-disabled");
    assertDisallowed(await untag("v1"), "untag of a write-disabled tag");
    await call(front, "PATCH", "/acr/v1/del/app/_tags/v1", { writeEnabled: true });
    await stillThere();

    // A write-disabled repository locks everything in it.
    await call(front, "PATCH", "/acr/v1/del/app", { writeEnabled: false });
    assertDisallowed(await deleteManifest(a.digest), "repository write-disabled: manifest delete");
    assertDisallowed(await untag("v1"), "repository write-disabled: untag");
    assertDisallowed(await call(front, "DELETE", "/acr/v1/del/app"), "repository write-disabled: repository delete");
    await stillThere();

    // A delete-disabled repository cannot be deleted; what is in it still can ("individual images can still be
    // updated or deleted").
    await call(front, "PATCH", "/acr/v1/del/app", { writeEnabled: true, deleteEnabled: false });
    assertDisallowed(await call(front, "DELETE", "/acr/v1/del/app"), "repository delete-disabled");
    assert.equal((await untag("v1")).status, 202);
    // A repository with a locked manifest in it cannot be deleted either.
    await call(front, "PATCH", "/acr/v1/del/app", { deleteEnabled: true });
    await call(front, "PATCH", `/acr/v1/del/app/_manifests/${b.digest}`, { deleteEnabled: false });
    assertDisallowed(await call(front, "DELETE", "/acr/v1/del/app"), "a locked manifest in the repository");
    assert.equal((await call(direct, "GET", `/v2/del/app/manifests/keep`)).status, 200);
    assert.equal((await call(direct, "GET", `/v2/del/app/manifests/${a.digest}`)).status, 200);
  });

  test("untag removes the tag from the real registry and keeps the manifest and its other tags (guards issue 23.9)", async () => {
    const { digest } = await pushImage(front, "untag/app:v1", image("untag"));
    await pushImage(front, "untag/app:v2", image("untag"));
    const other = await pushImage(front, "untag/app:other", image("untag-other"));
    await call(front, "PATCH", "/acr/v1/untag/app/_tags/v1", { listEnabled: false });

    const answer = await call(front, "DELETE", "/acr/v1/untag/app/_tags/v1");
    assert.equal(answer.status, 202);
    assert.deepEqual((await call(direct, "GET", "/v2/untag/app/tags/list")).body.tags.sort(), ["other", "v2"]);
    assert.equal((await call(direct, "GET", "/v2/untag/app/manifests/v1")).status, 404);
    assert.equal((await call(direct, "GET", `/v2/untag/app/manifests/${digest}`)).status, 200);
    assert.equal((await call(direct, "GET", "/v2/untag/app/manifests/v2")).status, 200);
    const listed = (await call(front, "GET", "/acr/v1/untag/app/_manifests")).body.manifests as {
      digest: string;
      tags?: string[];
    }[];
    assert.deepEqual(listed.find((m) => m.digest === digest)?.tags, ["v2"]);
    assert.deepEqual(listed.find((m) => m.digest === other.digest)?.tags, ["other"]);
    assert.equal((await call(front, "GET", "/acr/v1/untag/app/_tags/v1")).status, 404);
    assert.equal((await call(front, "DELETE", "/acr/v1/untag/app/_tags/v1")).status, 404);

    // Untagged, the manifest stays (listed without tags), as on ACR.
    assert.equal((await call(front, "DELETE", "/acr/v1/untag/app/_tags/v2")).status, 202);
    const untagged = (await call(front, "GET", `/acr/v1/untag/app/_manifests/${digest}`)).body.manifest;
    assert.equal(untagged.tags, undefined);
    assert.equal((await call(direct, "GET", `/v2/untag/app/manifests/${digest}`)).status, 200);

    // The untagged tag's attributes went with it: the tag pushed again starts with ACR's defaults.
    await pushImage(front, "untag/app:v1", image("untag"));
    assert.equal(
      (await call(front, "GET", "/acr/v1/untag/app/_tags/v1")).body.tag.changeableAttributes.listEnabled,
      true,
    );
  });

  test("DELETE /v2/<name>/manifests/<digest> passes through: the registry deletes the manifest and its tags, the stand-in forgets its attributes (guards issue 23.9)", async () => {
    const { digest } = await pushImage(front, "mdel/app:v1", image("mdel"));
    await call(front, "PATCH", `/acr/v1/mdel/app/_manifests/${digest}`, { listEnabled: false });
    const answer = await call(front, "DELETE", `/v2/mdel/app/manifests/${digest}`);
    assert.equal(answer.status, 202);
    assert.equal((await call(direct, "GET", `/v2/mdel/app/manifests/${digest}`)).status, 404);
    assert.equal((await call(direct, "GET", "/v2/mdel/app/manifests/v1")).status, 404);
    assert.equal((await call(front, "GET", "/acr/v1/mdel/app")).status, 404, "no manifest left: no repository");
    assert.ok(!(await call(front, "GET", "/acr/v1/_catalog?n=1000")).body.repositories.includes("mdel/app"));
    await pushImage(front, "mdel/app:v1", image("mdel"));
    const again = (await call(front, "GET", `/acr/v1/mdel/app/_manifests/${digest}`)).body.manifest;
    assert.equal(again.changeableAttributes.listEnabled, true, "the deleted manifest's attributes were forgotten");
  });

  test("a write-disabled tag or repository refuses a push onto it; lastUpdateTime moves on push (guards issue 23.9)", async () => {
    const first = await pushImage(front, "push/app:v1", image("push-1"));
    const before = (await call(front, "GET", "/acr/v1/push/app/_tags/v1")).body.tag;
    await call(front, "PATCH", "/acr/v1/push/app/_tags/v1", { writeEnabled: false });
    await assert.rejects(pushImage(front, "push/app:v1", image("push-2")), /operation is disallowed/);
    assert.equal(
      (await call(direct, "HEAD", "/v2/push/app/manifests/v1")).headers.get("docker-content-digest"),
      first.digest,
    );
    const second = await pushImage(front, "push/app:v2", image("push-2"));

    await call(front, "PATCH", "/acr/v1/push/app/_tags/v1", { writeEnabled: true });
    await sleep(20);
    await pushImage(front, "push/app:v1", image("push-2"));
    const after = (await call(front, "GET", "/acr/v1/push/app/_tags/v1")).body.tag;
    assert.equal(after.digest, second.digest);
    assert.ok(after.lastUpdateTime > before.lastUpdateTime, `${after.lastUpdateTime} > ${before.lastUpdateTime}`);
    assert.equal(after.createdTime, before.createdTime);

    await call(front, "PATCH", "/acr/v1/push/app", { writeEnabled: false });
    await assert.rejects(pushImage(front, "push/app:v3", image("push-3")), /operation is disallowed/);
    assert.equal((await call(direct, "GET", "/v2/push/app/manifests/v3")).status, 404);
    await call(front, "PATCH", "/acr/v1/push/app", { writeEnabled: true });
    await pushImage(front, "push/app:v3", image("push-3"));
  });

  test("paging: _catalog, _tags and _manifests by n and last with Link headers, orderby time, the digest filter, a page after a deleted item (guards issue 23.9)", async () => {
    const pushed: string[] = [];
    for (const name of ["one", "two", "three"]) {
      pushed.push((await pushImage(front, `page/app:${name}`, image(`page-${name}`))).digest);
      await sleep(20);
    }
    await pushImage(front, "page/app:also-two", image("page-two"));
    await pushImage(front, "page/zz:1", image("page-zz"));

    /** Every page of a listing, following Link headers. */
    const follow = async (path: string, field: string) => {
      const pages: unknown[][] = [];
      for (let next: string | undefined = path; next;) {
        const answer = await call(front, "GET", next);
        assert.equal(answer.status, 200, JSON.stringify(answer.body));
        pages.push(answer.body[field]);
        next = /^<([^>]+)>;\s*rel="next"$/.exec(answer.headers.get("link") ?? "")?.[1];
        assert.ok(pages.length < 50);
      }
      return pages;
    };
    const catalog = await follow("/acr/v1/_catalog?n=2", "repositories");
    assert.ok(catalog.every((p) => p.length <= 2));
    const names = catalog.flat() as string[];
    assert.deepEqual(names, [...names].sort());
    assert.ok(names.includes("page/app") && names.includes("page/zz"));
    assert.equal(new Set(names).size, names.length);

    const tagPages = await follow("/acr/v1/page/app/_tags?n=2", "tags");
    assert.deepEqual(
      tagPages.map((p) => (p as { name: string }[]).map((t) => t.name)),
      [
        ["also-two", "one"],
        ["three", "two"],
      ],
    );
    const newest = (await follow("/acr/v1/page/app/_tags?n=1&orderby=timedesc", "tags")).flat() as { name: string }[];
    assert.deepEqual(
      newest.map((t) => t.name),
      ["also-two", "three", "two", "one"],
    );
    const byDigest = await call(front, "GET", `/acr/v1/page/app/_tags?digest=${pushed[1]}`);
    assert.deepEqual(
      (byDigest.body.tags as { name: string }[]).map((t) => t.name),
      ["also-two", "two"],
    );

    const oldestFirst = (await follow("/acr/v1/page/app/_manifests?n=1&orderby=timeasc", "manifests")).flat() as {
      digest: string;
    }[];
    assert.deepEqual(
      oldestFirst.map((m) => m.digest),
      [pushed[0], pushed[2], pushed[1]],
      "two was pushed again (also-two) after three: it is updated last",
    );
    const byName = (await follow("/acr/v1/page/app/_manifests?n=2", "manifests")).flat() as { digest: string }[];
    assert.deepEqual(
      byName.map((m) => m.digest),
      [...pushed].sort(),
    );

    // The item a Link names is deleted before the next page is read: the next page starts where it was.
    const first = await call(front, "GET", "/acr/v1/page/app/_manifests?n=1&orderby=timedesc");
    assert.equal(first.body.manifests[0].digest, pushed[1]);
    assert.equal((await call(front, "DELETE", `/v2/page/app/manifests/${pushed[1]}`)).status, 202);
    const next = /^<([^>]+)>/.exec(first.headers.get("link") ?? "")![1]!;
    const rest = await call(front, "GET", next);
    assert.deepEqual(
      (rest.body.manifests as { digest: string }[]).map((m) => m.digest),
      [pushed[2]],
    );
    assert.match(rest.headers.get("link") ?? "", /last=sha256%3A/);

    assert.equal((await call(front, "GET", "/acr/v1/page/app/_tags?n=0")).status, 400);
    assert.equal((await call(front, "GET", "/acr/v1/page/app/_tags?orderby=sideways")).status, 400);
  });

  test("the app's listing through the stand-in (ACR's /acr/v1/<repo>/_manifests) gives the same images as through /v2 (guards issue 23.9)", async () => {
    await pushImage(front, "list/single:1.0", image("single"));
    await pushImage(front, "list/single:latest", image("single"));
    await pushImage(front, "list/single:moved", image("single-old"));
    const untagged = (await new RegistryClient(front).getManifest("list/single", "moved")).descriptor.digest;
    await pushImage(front, "list/single:moved", image("single-new")); // the old one is now untagged
    await pushImage(front, "list/multi:2024", [
      { ...image("amd64"), platform: { os: "linux", architecture: "amd64" } },
      { ...image("arm64"), platform: { os: "linux", architecture: "arm64" } },
    ]);
    await pushImage(front, "list/docker:v1", { ...image("docker"), format: "docker" });
    const client = new RegistryClient(front);
    const signed = (await client.getManifest("list/single", "1.0")).descriptor;
    await pushReferrer(client, "list/single", cosignSignature(signed.digest));
    const sbom = await pushReferrer(client, "list/single", artifactOf(signed, ArtifactTypes.sbom, "{}"));
    await putTagSchemaIndex(client, "list/single", signed.digest, [sbom.descriptor]);

    const list = (host: string, filters: Partial<RunFilters>) =>
      listSelectedImages(
        new RegistryClient(host),
        { includeUntagged: false, repositories: ["list/**"], ...filters },
        new Date(),
      );
    const shape = (items: RegistryImageItem[]) =>
      items.map((i) => `${i.repository}@${i.digest} ${i.tags.join(",")}`).sort();
    const throughAcr = await list(front, {});
    const throughV2 = await list(direct, {});
    assert.equal(throughV2.length, 4, shape(throughV2).join("\n"));
    assert.deepEqual(shape(throughAcr), shape(throughV2));
    // The ACR path was taken: only ACR's listing gives lastUpdateTime.
    assert.ok(throughAcr.every((i) => i.lastUpdatedOn) && throughV2.every((i) => !i.lastUpdatedOn));

    // Untagged images exist only on ACR's listing: the stand-in gives the image that lost its tag, and neither the
    // index's platform manifests nor the SBOM (a referrer).
    const withUntagged = await list(front, { includeUntagged: true });
    assert.deepEqual(shape(withUntagged), [...shape(throughV2), `list/single@${untagged} `].sort());
  });

  test("DELETE /acr/v1/<name> removes every manifest and tag from the registry, says what it deleted, and leaves nested repositories (guards issue 23.9)", async () => {
    const one = await pushImage(front, "rdel/app:v1", image("rdel-1"));
    const two = await pushImage(front, "rdel/app:v2", image("rdel-2"));
    await pushImage(front, "rdel/app/nested:1", image("rdel-nested"));
    const answer = await call(front, "DELETE", "/acr/v1/rdel/app");
    assert.equal(answer.status, 202);
    assert.deepEqual(answer.body, {
      manifestsDeleted: [one.digest, two.digest].sort(),
      tagsDeleted: ["v1", "v2"],
    });
    assert.equal((await call(direct, "GET", "/v2/rdel/app/tags/list")).status, 404);
    assert.equal((await call(direct, "GET", `/v2/rdel/app/manifests/${one.digest}`)).status, 404);
    const catalog = (await call(direct, "GET", "/v2/_catalog?n=1000")).body.repositories as string[];
    assert.ok(!catalog.includes("rdel/app") && catalog.includes("rdel/app/nested"), catalog.join(" "));
    assert.equal((await call(front, "GET", "/v2/rdel/app/nested/manifests/1")).status, 200);
    assert.equal((await call(front, "GET", "/acr/v1/rdel/app")).status, 404);
  });
});

describe("the ACR stand-in in front of a registry with bearer auth", () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ auth: "bearer", acr: true });
    await pushImage(registry.host, "private/app:1", image("private"), {
      username: registry.username!,
      password: registry.password!,
    });
  });
  after(async () => {
    await registry?.stop();
  });

  test("challenges pass through, /acr/v1 asks for credentials with the registry's realm, and the app's client lists through it (guards issue 23.9)", async () => {
    const anonymous = await call(registry.host, "GET", "/acr/v1/private/app/_manifests");
    assert.equal(anonymous.status, 401);
    const challenge = anonymous.headers.get("www-authenticate") ?? "";
    assert.match(challenge, /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token"/);
    assert.match(challenge, /scope="repository:private\/app:metadata_read"/);
    const forged = await call(registry.host, "GET", "/acr/v1/private/app/_manifests", undefined, {
      authorization: "Bearer forged",
    });
    assert.equal(forged.status, 401);
    // Distribution's own challenge on /v2 comes through untouched.
    const v2 = await call(registry.host, "GET", "/v2/private/app/manifests/1");
    assert.equal(v2.status, 401);
    assert.match(v2.headers.get("www-authenticate") ?? "", /scope="repository:private\/app:pull"/);

    const client = new RegistryClient(registry.host, {
      credential: { kind: "refreshToken", refreshToken: registry.refreshToken! },
    });
    const manifests = await client.listManifestProperties("private/app");
    assert.equal(manifests?.length, 1);
    assert.deepEqual(manifests[0]!.tags, ["1"]);
    assert.equal((await client.getManifest("private/app", "1")).descriptor.digest, manifests[0]!.digest);
  });
});
