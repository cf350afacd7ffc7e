// The registry client against the real registry (paging, bearer with a refresh token, the ACR Entra ID exchange
// through an ACR-like front door) and against small loopback servers for what a healthy registry never does:
// redirects to another host, 503s with Retry-After, bodies cut short, bodies too long.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, before, describe, test } from "node:test";
import type { AccessToken, TokenCredential } from "@azure/identity";
import { RegistryClient } from "../src/registry/registryClient.js";
import { parseChallenge } from "../src/registry/auth.js";
import { registryCredentialFor } from "../src/registry/createRegistryClient.js";
import { isArchiveError } from "../src/errors.js";
import { pushImage, smallImage } from "../tools/localenv/fixtures.js";
import { startRegistry, type TestRegistry } from "../tools/localenv/registry.js";

const FAST_RETRY = { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50 };

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void, host = "127.0.0.1"): Promise<{ server: Server; host: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, host, () => resolve()));
  return { server, host: `${host}:${(server.address() as { port: number }).port}` };
}
const close = (server?: Server) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (error: unknown) => isArchiveError(error) && error.code === code);
}

describe("against the real registry", () => {
  let registry: TestRegistry;
  let bearer: TestRegistry;
  before(async () => {
    [registry, bearer] = await Promise.all([startRegistry(), startRegistry({ auth: "bearer" })]);
    for (const name of ["a/one", "a/two", "a__b", "b", "c/d/e"]) await pushImage(registry.host, `${name}:1`, smallImage(name));
    for (const tag of ["t1", "t2", "t3", "t4", "t5"]) await pushImage(registry.host, `tags/app:${tag}`, smallImage("tags"));
    await pushImage(bearer.host, "private/app:1", smallImage("private"), { username: bearer.username!, password: bearer.password! });
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
    await expectCode((async () => { for await (const t of client.listTags("no/such")) void t; })(), "REGISTRY_NOT_FOUND");
  });

  test("a refresh token answers the bearer challenge (OAuth2 form flow)", async () => {
    const client = new RegistryClient(bearer.host, { credential: { kind: "refreshToken", refreshToken: bearer.refreshToken! } });
    const { descriptor } = await client.getManifest("private/app", "1");
    assert.match(descriptor.digest, /^sha256:/);
    assert.ok(bearer.tokenRequests.includes("POST refresh_token ok=true"));
    const wrong = new RegistryClient(bearer.host, { credential: { kind: "refreshToken", refreshToken: "nope" }, retry: FAST_RETRY });
    await expectCode(wrong.getManifest("private/app", "1"), "REGISTRY_AUTH_FAILED");
  });

  test("Entra ID: an AAD token is exchanged at /oauth2/exchange for a refresh token (ACR flow)", async () => {
    // An ACR-like login server: /oauth2/exchange is ACR's; everything else goes to the real registry.
    const scopes: string[] = [];
    const credential: TokenCredential = {
      getToken: async (scope): Promise<AccessToken> => {
        scopes.push(String(scope));
        return { token: "aad-token-for-test", expiresOnTimestamp: Date.now() + 3_600_000 };
      },
    };
    const exchanges: string[] = [];
    const front = await listen((req, res) => {
      if (req.url === "/oauth2/exchange" && req.method === "POST") {
        let body = "";
        req.on("data", (c: Buffer) => (body += c));
        req.on("end", () => {
          const form = new URLSearchParams(body);
          exchanges.push(`${form.get("grant_type")}:${form.get("access_token")}`);
          const ok = form.get("grant_type") === "access_token" && form.get("access_token") === "aad-token-for-test";
          res.writeHead(ok ? 200 : 401, { "content-type": "application/json" }).end(JSON.stringify(ok ? { refresh_token: bearer.refreshToken } : {}));
        });
        return;
      }
      const [host, port] = bearer.host.split(":");
      const upstream = httpRequest({ host, port: Number(port), path: req.url, method: req.method, headers: req.headers }, (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      req.pipe(upstream);
    });
    try {
      const client = new RegistryClient(front.host, { credential: { kind: "entra", tokenCredential: credential } });
      const { descriptor } = await client.getManifest("private/app", "1");
      assert.match(descriptor.digest, /^sha256:/);
      assert.deepEqual(exchanges, ["access_token:aad-token-for-test"]);
      assert.deepEqual(scopes, ["https://containerregistry.azure.net/.default"]);
    } finally {
      await close(front.server);
    }
  });
});

describe("transport behaviour (loopback stand-ins for a misbehaving registry)", () => {
  const blob = Buffer.from("x".repeat(100_000) + "end");
  const descriptor = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digestOf(blob), size: blob.length };

  test("a blob redirect to another host does not carry the registry's Authorization", async () => {
    const seenByStorage: (string | undefined)[] = [];
    const storage = await listen((req, res) => {
      seenByStorage.push(req.headers.authorization);
      res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
    }, "127.0.0.2");
    const registry = await listen((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from("u:p").toString("base64")}`) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="test"' }).end();
        return;
      }
      res.writeHead(307, { location: `http://${storage.host}/container/blob?sig=abc` }).end();
    });
    try {
      const client = new RegistryClient(registry.host, { credential: { kind: "password", username: "u", password: "p" } });
      const chunks: Buffer[] = [];
      for await (const c of client.getBlob("repo", descriptor)) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(blob));
      assert.deepEqual(seenByStorage, [undefined]);
    } finally {
      await Promise.all([close(storage.server), close(registry.server)]);
    }
  });

  test("an absolute Link to another host gets no credentials", async () => {
    const seenElsewhere: (string | undefined)[] = [];
    const other = await listen((req, res) => {
      seenElsewhere.push(req.headers.authorization);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ repositories: ["z"] }));
    }, "127.0.0.2");
    const registry = await listen((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from("u:p").toString("base64")}`) {
        res.writeHead(401, { "www-authenticate": 'Basic realm="test"' }).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json", link: `<http://${other.host}/v2/_catalog?last=a>; rel="next"` }).end(JSON.stringify({ repositories: ["a"] }));
    });
    try {
      const client = new RegistryClient(registry.host, { credential: { kind: "password", username: "u", password: "p" } });
      const names: string[] = [];
      for await (const name of client.listRepositoryNames()) names.push(name);
      assert.deepEqual(names, ["a", "z"]);
      assert.deepEqual(seenElsewhere, [undefined]);
    } finally {
      await Promise.all([close(other.server), close(registry.server)]);
    }
  });

  test("503 with Retry-After is retried, then the answer is used", async () => {
    let calls = 0;
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: descriptor, layers: [] }));
    const server = await listen((_req, res) => {
      calls++;
      if (calls <= 2) res.writeHead(503, { "retry-after": "0" }).end();
      else res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(manifest);
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY });
      const result = await client.getManifest("repo", digestOf(manifest));
      assert.equal(result.descriptor.digest, digestOf(manifest));
      assert.equal(calls, 3);
    } finally {
      await close(server.server);
    }
  });

  test("a body cut short is resumed with Range and still verified", async () => {
    const ranges: (string | undefined)[] = [];
    const server = await listen((req, res) => {
      ranges.push(req.headers.range);
      if (!req.headers.range) {
        res.writeHead(200, { "content-length": String(blob.length) });
        res.write(blob.subarray(0, 40_000), () => res.destroy());
        return;
      }
      const start = Number(/bytes=(\d+)-/.exec(req.headers.range)![1]);
      res.writeHead(206, { "content-range": `bytes ${start}-${blob.length - 1}/${blob.length}`, "content-length": String(blob.length - start) }).end(blob.subarray(start));
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY });
      const chunks: Buffer[] = [];
      for await (const c of client.getBlob("repo", descriptor)) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(blob));
      assert.equal(ranges[0], undefined);
      assert.match(ranges[1] ?? "", /^bytes=\d+-$/);
    } finally {
      await close(server.server);
    }
  });

  test("more bytes than the descriptor says fail with SIZE_MISMATCH; different bytes with DIGEST_MISMATCH", async () => {
    const server = await listen((req, res) => {
      const body = req.url?.includes("long") ? Buffer.concat([blob, Buffer.from("extra")]) : Buffer.from(blob).fill(0x79, 0, 1);
      res.writeHead(200).end(body);
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY });
      const drain = async (repo: string) => {
        for await (const c of client.getBlob(repo, descriptor)) void c;
      };
      await expectCode(drain("long"), "SIZE_MISMATCH");
      await expectCode(drain("changed"), "DIGEST_MISMATCH");
    } finally {
      await close(server.server);
    }
  });

  test("plain HTTP only for loopback unless insecure is asked for", () => {
    assert.equal(new RegistryClient("127.0.0.1:5000").baseUrl, "http://127.0.0.1:5000");
    assert.equal(new RegistryClient("localhost:5000").baseUrl, "http://localhost:5000");
    assert.equal(new RegistryClient("myacr.azurecr.io").baseUrl, "https://myacr.azurecr.io");
    assert.equal(new RegistryClient("registry.internal:5000", { insecure: true }).baseUrl, "http://registry.internal:5000");
  });

  test("an Entra ID token is offered to ACR hosts only", () => {
    for (const kind of ["entra", "auto"] as const) {
      assert.equal(registryCredentialFor("myacr.azurecr.io", { kind }).kind, "entra");
      assert.equal(registryCredentialFor("evil.example.com", { kind }).kind, "anonymous", `${kind}: never to another host`);
      assert.equal(registryCredentialFor("myacr.azurecr.io.evil.example.com", { kind }).kind, "anonymous");
    }
  });

  test("WWW-Authenticate challenges parse", () => {
    assert.deepEqual(parseChallenge('Bearer realm="https://acr.io/oauth2/token",service="acr.io",scope="repository:a/b:pull"'), {
      scheme: "bearer",
      params: { realm: "https://acr.io/oauth2/token", service: "acr.io", scope: "repository:a/b:pull" },
    });
    assert.equal(parseChallenge('Basic realm="r"')?.scheme, "basic");
    assert.equal(parseChallenge("Negotiate"), undefined);
  });
});
