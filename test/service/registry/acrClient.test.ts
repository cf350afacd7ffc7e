// The registry client's ACR calls (src/registry/client/acr.ts) against the local ACR stand-in in front of the real
// registry: changeable attributes of a repository, a manifest and a tag read and patched, a digest's tags, untag and
// manifest delete checked in the registry behind, a lock's refusal as REGISTRY_LOCKED, ACR's token scopes on a registry
// with bearer auth, and a plain registry (no /acr/v1) answered as "none".
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { isArchiveError } from "../../../src/errors.js";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import { pushImage, smallImage } from "../../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../../tools/localenv/registry.js";
import { expectCode } from "../../support/loopback.js";

const ENABLED = { deleteEnabled: true, writeEnabled: true, readEnabled: true, listEnabled: true };

/** HEAD of a manifest in the registry behind the stand-in (no ACR rules): 200 or 404. */
async function behind(registry: TestRegistry, repository: string, reference: string): Promise<number> {
  const response = await fetch(`http://${registry.registryHost}/v2/${repository}/manifests/${reference}`, {
    method: "HEAD",
    headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json" },
  });
  return response.status;
}

describe("the client's ACR calls through the stand-in", () => {
  let registry: TestRegistry;
  let client: RegistryClient;
  before(async () => {
    registry = await startRegistry({ acr: true });
    client = new RegistryClient(registry.host);
  });
  after(async () => {
    await registry?.stop();
  });

  test("attributes of a repository, a manifest and a tag: read, patched (only what is named), kept apart (guards issue 23.4)", async () => {
    const { digest } = await pushImage(registry.host, "attr/app:v1", smallImage("attr"));
    await pushImage(registry.host, "attr/app:v2", smallImage("attr"));

    const repository = await client.findRepositoryAttributes("attr/app");
    assert.equal(repository?.imageName, "attr/app");
    assert.deepEqual(repository?.changeableAttributes, ENABLED);
    const manifest = await client.findManifestAttributes("attr/app", digest);
    assert.equal(manifest?.digest, digest);
    assert.deepEqual(manifest?.tags, ["v1", "v2"]);
    assert.deepEqual(manifest?.changeableAttributes, ENABLED);
    assert.ok(manifest?.lastUpdateTime && !Number.isNaN(Date.parse(manifest.lastUpdateTime)));
    const tag = await client.findTagAttributes("attr/app", "v1");
    assert.equal(tag?.digest, digest);

    const patched = await client.patchManifestAttributes("attr/app", digest, { readEnabled: false });
    assert.deepEqual(patched.changeableAttributes, { ...ENABLED, readEnabled: false });
    const tagPatched = await client.patchTagAttributes("attr/app", "v2", { deleteEnabled: false, writeEnabled: false });
    assert.deepEqual(tagPatched.changeableAttributes, { ...ENABLED, deleteEnabled: false, writeEnabled: false });
    const repositoryPatched = await client.patchRepositoryAttributes("attr/app", { listEnabled: false });
    assert.deepEqual(repositoryPatched.changeableAttributes, { ...ENABLED, listEnabled: false });
    // Kept apart: the manifest's readEnabled is not its tags', the tag's locks are not the other tag's.
    assert.deepEqual((await client.findTagAttributes("attr/app", "v1"))?.changeableAttributes, ENABLED);
    assert.equal((await client.findManifestAttributes("attr/app", digest))?.changeableAttributes.deleteEnabled, true);

    // The digest's tags with their attributes, in one listing.
    const tags = await client.listTagAttributes("attr/app", digest);
    assert.deepEqual(
      tags?.map((t) => [t.name, t.changeableAttributes.deleteEnabled]),
      [
        ["v1", true],
        ["v2", false],
      ],
    );

    // What is not there answers undefined; a PATCH of what is not there is REGISTRY_NOT_FOUND.
    assert.equal(await client.findRepositoryAttributes("attr/none"), undefined);
    assert.equal(await client.findTagAttributes("attr/app", "v9"), undefined);
    assert.equal(await client.findManifestAttributes("attr/app", `sha256:${"0".repeat(64)}`), undefined);
    await expectCode(client.patchTagAttributes("attr/app", "v9", { readEnabled: false }), "REGISTRY_NOT_FOUND");
    // Nothing but the four booleans goes out, and something must.
    await expectCode(client.patchTagAttributes("attr/app", "v1", {}), "INVALID_ARGUMENT");
    await expectCode(client.findManifestAttributes("attr/app", "latest"), "INVALID_ARGUMENT");
  });

  test("a lock's refusal is REGISTRY_LOCKED (ACR's 405 REGISTRY_DISALLOWED_OPERATION kept as registryCode), and the registry keeps the image (guards issue 23.4)", async () => {
    const { digest } = await pushImage(registry.host, "lock/app:v1", smallImage("lock"));
    await client.patchManifestAttributes("lock/app", digest, { deleteEnabled: false });
    await assert.rejects(client.deleteManifest("lock/app", digest), (error: unknown) => {
      assert.ok(isArchiveError(error), String(error));
      assert.equal(error.code, "REGISTRY_LOCKED");
      assert.equal(error.registryCode, "REGISTRY_DISALLOWED_OPERATION");
      assert.equal(error.statusCode, 405);
      assert.equal(error.retryable, false);
      return true;
    });
    await client.patchManifestAttributes("lock/app", digest, { deleteEnabled: true });
    await client.patchTagAttributes("lock/app", "v1", { writeEnabled: false });
    await expectCode(client.untag("lock/app", "v1"), "REGISTRY_LOCKED");
    await expectCode(client.deleteManifest("lock/app", digest), "REGISTRY_LOCKED");
    // A read-disabled manifest refuses pulls the same way.
    await client.patchManifestAttributes("lock/app", digest, { readEnabled: false });
    await expectCode(client.getManifest("lock/app", digest), "REGISTRY_LOCKED");
    assert.equal(await behind(registry, "lock/app", digest), 200);
    assert.equal(await behind(registry, "lock/app", "v1"), 200);
  });

  test("untag removes the tag only; a manifest delete by digest removes it and its tags; a second try answers false (guards issue 23.5)", async () => {
    const { digest } = await pushImage(registry.host, "del/app:v1", smallImage("del"));
    await pushImage(registry.host, "del/app:v2", smallImage("del"));
    assert.equal(await client.untag("del/app", "v1"), true);
    assert.equal(await behind(registry, "del/app", "v1"), 404);
    assert.equal(await behind(registry, "del/app", digest), 200);
    assert.equal(await client.untag("del/app", "v1"), false);

    assert.equal(await client.deleteManifest("del/app", digest), true);
    assert.equal(await behind(registry, "del/app", digest), 404);
    assert.equal(await behind(registry, "del/app", "v2"), 404);
    assert.equal(await client.findManifestAttributes("del/app", digest), undefined);
    assert.equal(await client.deleteManifest("del/app", digest), false);
    await expectCode(client.deleteManifest("del/app", "v2"), "INVALID_ARGUMENT");
  });
});

describe("on a registry with bearer auth (ACR's token scopes)", () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startRegistry({ auth: "bearer", acr: true });
  });
  after(async () => {
    await registry?.stop();
  });

  test("each call asks for its own scope (metadata_read, metadata_write, delete); a token for another scope is refused (guards issue 23.4)", async () => {
    const credentials = { username: registry.username!, password: registry.password! };
    const { digest } = await pushImage(registry.host, "auth/app:v1", smallImage("auth"), credentials);
    await pushImage(registry.host, "auth/app:v2", smallImage("auth"), credentials);
    const client = new RegistryClient(registry.host, {
      credential: { kind: "refreshToken", refreshToken: registry.refreshToken! },
    });
    assert.deepEqual((await client.findManifestAttributes("auth/app", digest))?.tags, ["v1", "v2"]);
    const patched = await client.patchTagAttributes("auth/app", "v1", { readEnabled: false });
    assert.equal(patched.changeableAttributes.readEnabled, false);
    await client.patchTagAttributes("auth/app", "v1", { readEnabled: true });
    assert.equal(await client.untag("auth/app", "v2"), true);
    // The registry behind checks the delete scope of its own token (distribution's DELETE needs `delete`).
    assert.equal(await client.deleteManifest("auth/app", digest), true);

    // A token for metadata_read does not PATCH: the stand-in refuses it as ACR does.
    const { digest: other } = await pushImage(registry.host, "auth/app:v3", smallImage("auth-3"), credentials);
    const token = await tokenFor(registry, "repository:auth/app:metadata_read");
    const answer = await fetch(`http://${registry.host}/acr/v1/auth/app/_manifests/${other}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ readEnabled: false }),
    });
    assert.equal(answer.status, 401);
    assert.match(answer.headers.get("www-authenticate") ?? "", /scope="repository:auth\/app:metadata_write"/);
    assert.equal((await client.findManifestAttributes("auth/app", other))?.changeableAttributes.readEnabled, true);
  });
});

/** A token from the test registry's token server for one scope (OAuth2 refresh-token grant). */
async function tokenFor(registry: TestRegistry, scope: string): Promise<string> {
  const challenge = (await fetch(`http://${registry.registryHost}/v2/`)).headers.get("www-authenticate") ?? "";
  const realm = /realm="([^"]+)"/.exec(challenge)?.[1];
  assert.ok(realm, challenge);
  const response = await fetch(realm, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "refresh_token",
      refresh_token: registry.refreshToken!,
      service: "test-registry",
      scope,
    }).toString(),
  });
  return ((await response.json()) as { token: string }).token;
}

test("a registry without /acr/v1 (distribution alone) answers none: no attributes, no tags listing (guards issue 23.4)", async () => {
  const plain = await startRegistry();
  try {
    const { digest } = await pushImage(plain.host, "plain/app:v1", smallImage("plain"));
    const client = new RegistryClient(plain.host);
    assert.equal(await client.findRepositoryAttributes("plain/app"), undefined);
    assert.equal(await client.findManifestAttributes("plain/app", digest), undefined);
    assert.equal(await client.findTagAttributes("plain/app", "v1"), undefined);
    assert.equal(await client.listTagAttributes("plain/app", digest), undefined);
    // Distribution deletes a manifest by digest too (storage.delete.enabled), as ACR does.
    assert.equal(await client.deleteManifest("plain/app", digest), true);
    assert.equal(await client.findManifest("plain/app", digest), undefined);
  } finally {
    await plain.stop();
  }
});
