// The registry client against the real registry (a docker-registry process): paging of repositories and tags, bearer
// with a refresh token, and the ACR Entra ID exchange through an ACR-like front door. (Misbehaving registries, on
// loopback stand-ins: test/unit/registry/registryClient.test.ts.)
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { after, before, describe, test } from "node:test";
import { RegistryClient } from "../../src/registry/registryClient.js";
import { pushImage, smallImage } from "../../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../../tools/localenv/registry.js";
import { fakeTokenCredential } from "../support/credentials.js";
import { close, expectCode, FAST_RETRY, listen } from "../support/loopback.js";

describe("against the real registry", () => {
  let registry: TestRegistry;
  let bearer: TestRegistry;
  before(async () => {
    [registry, bearer] = await Promise.all([startRegistry(), startRegistry({ auth: "bearer" })]);
    for (const name of ["a/one", "a/two", "a__b", "b", "c/d/e"])
      await pushImage(registry.host, `${name}:1`, smallImage(name));
    for (const tag of ["t1", "t2", "t3", "t4", "t5"])
      await pushImage(registry.host, `tags/app:${tag}`, smallImage("tags"));
    await pushImage(bearer.host, "private/app:1", smallImage("private"), {
      username: bearer.username!,
      password: bearer.password!,
    });
  });
  after(async () => {
    await Promise.all([registry?.stop(), bearer?.stop()]);
  });

  test("listRepositoryNames and listTags follow Link pages", async () => {
    const client = new RegistryClient(registry.host);
    const names: string[] = [];
    for await (const name of client.listRepositoryNames({ pageSize: 2 })) names.push(name);
    assert.deepEqual(names.sort(), ["a/one", "a/two", "a__b", "b", "c/d/e", "tags/app"]);
    const pages: string[][] = [];
    for await (const page of client.listRepositoryNames().byPage({ maxPageSize: 2 })) pages.push([...page]);
    assert.ok(pages.length >= 3 && pages.every((p) => p.length <= 2), JSON.stringify(pages));
    const tags: string[] = [];
    for await (const page of client.listTags("tags/app").byPage({ maxPageSize: 2 })) tags.push(...page);
    assert.deepEqual(tags.sort(), ["t1", "t2", "t3", "t4", "t5"]);
    await expectCode(
      (async () => {
        for await (const t of client.listTags("no/such")) void t;
      })(),
      "REGISTRY_NOT_FOUND",
    );
  });

  test("a refresh token answers the bearer challenge (OAuth2 form flow)", async () => {
    const client = new RegistryClient(bearer.host, {
      credential: { kind: "refreshToken", refreshToken: bearer.refreshToken! },
    });
    const { descriptor } = await client.getManifest("private/app", "1");
    assert.match(descriptor.digest, /^sha256:/);
    assert.ok(bearer.tokenRequests.includes("POST refresh_token ok=true"));
    const wrong = new RegistryClient(bearer.host, {
      credential: { kind: "refreshToken", refreshToken: "nope" },
      retry: FAST_RETRY,
    });
    await expectCode(wrong.getManifest("private/app", "1"), "REGISTRY_AUTH_FAILED");
  });

  test("Entra ID: an AAD token is exchanged at /oauth2/exchange for a refresh token (ACR flow)", async () => {
    // An ACR-like login server: /oauth2/exchange is ACR's; everything else goes to the real registry.
    const credential = fakeTokenCredential("aad-token-for-test");
    const exchanges: string[] = [];
    const front = await listen((req, res) => {
      if (req.url === "/oauth2/exchange" && req.method === "POST") {
        let body = "";
        req.on("data", (c: Buffer) => (body += c));
        req.on("end", () => {
          const form = new URLSearchParams(body);
          exchanges.push(`${form.get("grant_type")}:${form.get("access_token")}`);
          const ok = form.get("grant_type") === "access_token" && form.get("access_token") === "aad-token-for-test";
          res
            .writeHead(ok ? 200 : 401, { "content-type": "application/json" })
            .end(JSON.stringify(ok ? { refresh_token: bearer.refreshToken } : {}));
        });
        return;
      }
      const [host, port] = bearer.host.split(":");
      const upstream = httpRequest(
        { host, port: Number(port), path: req.url, method: req.method, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    try {
      const client = new RegistryClient(front.host, { credential: { kind: "entra", tokenCredential: credential } });
      const { descriptor } = await client.getManifest("private/app", "1");
      assert.match(descriptor.digest, /^sha256:/);
      assert.deepEqual(exchanges, ["access_token:aad-token-for-test"]);
      assert.deepEqual(credential.scopes, ["https://containerregistry.azure.net/.default"]);
    } finally {
      await close(front.server);
    }
  });
});
