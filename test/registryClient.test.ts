// The registry client against the real registry (paging, bearer with a refresh token, the ACR Entra ID exchange
// through an ACR-like front door) and against small loopback servers for what a healthy registry never does:
// redirects to another host, 503s with Retry-After, bodies cut short, bodies too long, token services that redirect
// credentials away, Link headers that loop or need a real parser, error bodies on pushes, bodies without an end.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { after, before, describe, test } from "node:test";
import type { AccessToken, TokenCredential } from "@azure/identity";
import { parseNextLink, RegistryClient } from "../src/registry/registryClient.js";
import { parseChallenge, type RegistryCredential } from "../src/registry/auth.js";
import { redirectTarget, sendWithRetry } from "../src/registry/transport.js";
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

async function expectCode(promise: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(isArchiveError(error), `not an ArchiveError: ${String(error)}`);
    assert.equal(error.code, code, error.message);
    if (message) assert.match(error.message, message);
    return true;
  });
}
const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => resolve(body));
  });

/** Streams `total` bytes (chunked, no Content-Length) as fast as the client reads; resolves on close with what was sent. */
function streamBody(res: ServerResponse, total: number, headers: Record<string, string> = {}, status = 200): Promise<{ sent: number; finished: boolean }> {
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  res.writeHead(status, headers);
  const pump = () => {
    while (sent < total && !res.destroyed) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", pump);
    }
    if (!res.destroyed) res.end();
  };
  pump();
  return new Promise((resolve) => res.once("close", () => resolve({ sent, finished: res.writableFinished })));
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

describe("secrets, Link pagination, error bodies and bounded reads (loopback)", () => {
  const MiB = 1024 * 1024;
  const config = { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"0".repeat(64)}`, size: 2 };
  const ociManifest = "application/vnd.oci.image.manifest.v1+json";
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: ociManifest, config, layers: [] }));
  const layer = Buffer.from("layer");
  const layerDescriptor = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: digestOf(layer), size: layer.length };
  const fakeAad: TokenCredential = { getToken: async () => ({ token: "aad-token", expiresOnTimestamp: Date.now() + 3600e3 }) };

  /**
   * A registry whose token service (realm /token, and /oauth2/exchange) answers 307 to `redirectTo(path)` and
   * grants "good" to whatever reaches it; `elsewhere` records what a second origin (another port) received.
   */
  async function tokenRedirectSetup(redirectTo: (registryHost: string, elsewhereHost: string, path: string) => string) {
    const elsewhereSaw: { authorization?: string; body: string }[] = [];
    const grant = async (req: IncomingMessage, res: ServerResponse) => {
      await readBody(req);
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "good", refresh_token: "acr-refresh" }));
    };
    const elsewhere = await listen((req, res) => {
      void readBody(req).then((body) => {
        elsewhereSaw.push({ ...(req.headers.authorization && { authorization: req.headers.authorization }), body });
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "good", refresh_token: "acr-refresh" }));
      });
    });
    const registry = await listen((req, res) => {
      const url = req.url ?? "";
      if (url.startsWith("/granted")) return void grant(req, res);
      if (url.startsWith("/token") || url.startsWith("/oauth2/exchange")) {
        return void readBody(req).then(() => res.writeHead(307, { location: redirectTo(registry.host, elsewhere.host, url) }).end());
      }
      if (req.headers.authorization !== "Bearer good") {
        return void res.writeHead(401, { "www-authenticate": `Bearer realm="http://${registry.host}/token",service="reg"` }).end();
      }
      res.writeHead(200, { "content-type": ociManifest }).end(manifest);
    });
    return { elsewhereSaw, registry, elsewhere, closeAll: () => Promise.all([close(elsewhere.server), close(registry.server)]) };
  }

  const credentials: [string, RegistryCredential, string[]][] = [
    ["Basic password", { kind: "password", username: "alice", password: "s3cret" }, ["s3cret", Buffer.from("alice:s3cret").toString("base64")]],
    ["refresh token", { kind: "refreshToken", refreshToken: "rt-secret" }, ["rt-secret"]],
    ["Entra ID exchange", { kind: "entra", tokenCredential: fakeAad }, ["aad-token", "acr-refresh"]],
  ];
  for (const [name, credential, secrets] of credentials) {
    test(`${name}: a token service redirect to another origin is refused and the other origin gets no secret`, async () => {
      const setup = await tokenRedirectSetup((_registry, elsewhere, path) => `http://${elsewhere}${path}`);
      try {
        const client = new RegistryClient(setup.registry.host, { credential, retry: FAST_RETRY });
        const outcome = client.getManifest("repo", "1");
        await outcome.catch(() => undefined);
        for (const seen of setup.elsewhereSaw) {
          assert.equal(seen.authorization, undefined, "no Authorization to another origin");
          for (const secret of secrets) assert.ok(!seen.body.includes(secret) && !decodeURIComponent(seen.body).includes(secret), `${secret} leaked in a body`);
        }
        await expectCode(outcome, "REGISTRY_AUTH_FAILED", /redirected .*to another origin/);
        assert.deepEqual(setup.elsewhereSaw, [], "the redirect is not followed at all");
      } finally {
        await setup.closeAll();
      }
    });
  }

  test("same-origin token service redirects (relative Location) still carry the credentials", async () => {
    for (const [name, credential] of credentials) {
      const setup = await tokenRedirectSetup((_registry, _elsewhere, path) => `/granted${path}`);
      try {
        const client = new RegistryClient(setup.registry.host, { credential, retry: FAST_RETRY });
        const { descriptor } = await client.getManifest("repo", "1");
        assert.equal(descriptor.digest, digestOf(manifest), name);
        assert.deepEqual(setup.elsewhereSaw, []);
      } finally {
        await setup.closeAll();
      }
    }
  });

  test("plain headers cannot carry Authorization around the redirect guard", async () => {
    let requests = 0;
    const server = await listen((_req, res) => {
      requests++;
      res.writeHead(200).end();
    });
    try {
      for (const name of ["authorization", "Authorization", "Proxy-Authorization"]) {
        await expectCode(sendWithRetry(`http://${server.host}/`, { headers: { [name]: "Basic eDp5" } }), "INVALID_ARGUMENT", /credentials/);
      }
      assert.equal(requests, 0);
    } finally {
      await close(server.server);
    }
  });

  test("a redirect from https to http is never followed; credentials stay with their origin", () => {
    const origin = "https://reg.example";
    const blobUrl = `${origin}/v2/a/blobs/x`;
    const registryAuth = { authorization: "Bearer t", onRedirectElsewhere: "drop" as const };
    const isCode = (code: string, message: RegExp) => (e: unknown) => isArchiveError(e) && e.code === code && message.test(e.message);
    assert.throws(() => redirectTarget(blobUrl, "http://reg.example/v2/a/blobs/x", origin, undefined), isCode("REGISTRY_ERROR", /https to http/));
    assert.throws(() => redirectTarget(blobUrl, "http://storage.example/b", origin, registryAuth), isCode("REGISTRY_ERROR", /https to http/));
    const basic = { authorization: "Basic eDp5" };
    assert.throws(() => redirectTarget(`${origin}/token`, "https://evil.example/token", origin, basic), isCode("REGISTRY_AUTH_FAILED", /another origin/));
    const secretBody = { body: "refresh_token=x", onRedirectElsewhere: "drop" as const };
    assert.throws(() => redirectTarget(`${origin}/token`, "https://evil.example/token", origin, secretBody), isCode("REGISTRY_AUTH_FAILED", /another origin/));
    const storage = "https://storage.example/b?sig=1";
    assert.deepEqual(redirectTarget(blobUrl, storage, origin, registryAuth), { url: storage, withSecrets: false });
    assert.deepEqual(redirectTarget(`${origin}/token`, "/token2", origin, { authorization: "Basic eDp5" }), { url: `${origin}/token2`, withSecrets: true });
    // Back at the origin after a hop elsewhere: the secrets were dropped for the chain (the caller passes none).
    assert.deepEqual(redirectTarget("https://storage.example/b", `${origin}/v2/x`, origin, undefined), { url: `${origin}/v2/x`, withSecrets: false });
  });

  test("a listing that keeps answering the same Link stops with REGISTRY_ERROR after at most 3 requests (catalog, tags, ACR manifests)", async () => {
    const requests = new Map<string, number>();
    const server = await listen((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const count = (requests.get(path) ?? 0) + 1;
      requests.set(path, count);
      // Ends after 10 pages, so a client without the check finishes (and fails the test) instead of hanging.
      const link = count < 10 ? { link: `<${path}?last=a&n=100>; rel="next"` } : {};
      const body = path.endsWith("_manifests") ? { manifests: [{ digest: "sha256:a" }] } : { repositories: ["a"], tags: ["a"] };
      res.writeHead(200, { "content-type": "application/json", ...link }).end(JSON.stringify(body));
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY });
      const drain = async (items: AsyncIterable<string>) => {
        for await (const item of items) void item;
      };
      await expectCode(drain(client.listRepositoryNames()), "REGISTRY_ERROR", /already read/);
      await expectCode(drain(client.listTags("repo")), "REGISTRY_ERROR", /already read/);
      await expectCode(client.listManifestProperties("repo"), "REGISTRY_ERROR", /already read/);
      for (const path of ["/v2/_catalog", "/v2/repo/tags/list", "/acr/v1/repo/_manifests"]) {
        assert.ok((requests.get(path) ?? 0) <= 3, `${path}: ${requests.get(path)} requests`);
      }
    } finally {
      await close(server.server);
    }
  });

  test('Link rel is a list of relation types: rel="prev next" is followed, rel="nextpage" is not, commas inside <…> do not split', async () => {
    const pages: Record<string, { names: string[]; link?: string }> = {
      "/v2/_catalog?n=100": { names: ["a"], link: '</v2/_catalog?last=a,b&n=1>; rel="prev next"' },
      "/v2/_catalog?last=a,b&n=1": { names: ["b"], link: '</v2/_catalog?last=c>; rel="nextpage"' },
      "/v2/_catalog?last=c": { names: ["never"] },
    };
    const seen: string[] = [];
    const server = await listen((req, res) => {
      seen.push(req.url ?? "");
      const page = pages[req.url ?? ""];
      if (!page) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/json", ...(page.link && { link: page.link }) }).end(JSON.stringify({ repositories: page.names }));
    });
    try {
      const names: string[] = [];
      for await (const name of new RegistryClient(server.host).listRepositoryNames()) names.push(name);
      assert.deepEqual(names, ["a", "b"]);
      assert.deepEqual(seen, ["/v2/_catalog?n=100", "/v2/_catalog?last=a,b&n=1"]);
    } finally {
      await close(server.server);
    }
  });

  test("parseNextLink follows RFC 8288: several link-values, quoted or token rel, relation type next matched exactly", () => {
    assert.equal(parseNextLink('</a>; rel="next"'), "/a");
    assert.equal(parseNextLink("</a>; rel=next"), "/a");
    assert.equal(parseNextLink('</a>; rel="NEXT"'), "/a");
    assert.equal(parseNextLink('</p>; rel="prev", </n>; rel="next"'), "/n");
    assert.equal(parseNextLink('</a,b>; title="x, rel=next"; rel="prev next", </c>; rel="next"'), "/a,b");
    assert.equal(parseNextLink('</a>; rel="nextpage"'), undefined);
    assert.equal(parseNextLink('</a>; rel="prev"; rel="next"'), undefined, "only the first rel parameter counts");
    assert.equal(parseNextLink('</a>; title="next"'), undefined);
    assert.equal(parseNextLink("garbage, </b>; rel=next"), "/b");
    assert.equal(parseNextLink(null), undefined);
    assert.throws(() => parseNextLink(`<${"/x".repeat(10_000)}>; rel=next`), (e: unknown) => isArchiveError(e) && e.code === "REGISTRY_ERROR");
  });

  const pushCases: [string, string, RegExp, (client: RegistryClient) => Promise<unknown>][] = [
    ["manifest PUT", "MANIFEST_BLOB_UNKNOWN", /blob unknown to registry/, (c) => c.putManifest("repo", "1", ociManifest, manifest)],
    ["blob upload PUT", "BLOB_UPLOAD_INVALID", /blob upload invalid/, (c) => c.uploadBlob("repo", layerDescriptor, layer)],
    ["blob upload POST", "NAME_INVALID", /invalid repository name/, (c) => c.uploadBlob("bad-name", layerDescriptor, layer)],
  ];
  for (const [what, registryCode, message, push] of pushCases) {
    test(`${what}: a registry error keeps its OCI error code (${registryCode}) and message`, async () => {
      const errorBody = (code: string, text: string) => JSON.stringify({ errors: [{ code, message: text }] });
      const server = await listen((req, res) => {
        void readBody(req).then(() => {
          const url = req.url ?? "";
          const json = { "content-type": "application/json" };
          const fail = (code: string, text: string) => res.writeHead(400, json).end(errorBody(code, text));
          if (req.method === "PUT" && url.includes("/manifests/")) return void fail("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry");
          if (req.method === "POST" && url.startsWith("/v2/bad-name/")) return void fail("NAME_INVALID", "invalid repository name");
          if (req.method === "POST") return void res.writeHead(202, { location: "/v2/repo/blobs/uploads/u1?state=s" }).end();
          if (req.method === "PUT") return void fail("BLOB_UPLOAD_INVALID", "blob upload invalid");
          res.writeHead(404).end();
        });
      });
      try {
        await assert.rejects(push(new RegistryClient(server.host, { retry: FAST_RETRY })), (error: unknown) => {
          assert.ok(isArchiveError(error), String(error));
          assert.equal(error.code, "REGISTRY_ERROR");
          assert.equal(error.registryCode, registryCode);
          assert.ok(error.message.includes(registryCode), error.message);
          assert.match(error.message, message);
          return true;
        });
      } finally {
        await close(server.server);
      }
    });
  }

  // Each case: a server streaming 64 MiB (128 MiB for a listing page) chunked, with no Content-Length. What it manages
  // to send is the client's limit plus what socket buffers hold (a few MiB on loopback): far below the whole body.
  const boundedCases: [string, string, (client: RegistryClient) => Promise<unknown>, string, RegExp, number][] = [
    ["manifest", "/v2/repo/manifests/1", (c) => c.getManifest("repo", "1"), "UNSUPPORTED_MEDIA_TYPE", /larger than 4 MiB/, 16 * MiB],
    ["token response", "/token", (c) => c.getManifest("private", "1"), "REGISTRY_AUTH_FAILED", /token response .* larger than 128 KiB/, 16 * MiB],
    ["error body", "/v2/broken/manifests/1", (c) => c.getManifest("broken", "1"), "REGISTRY_ERROR", /HTTP 400/, 16 * MiB],
    [
      "listing page",
      "/v2/_catalog",
      async (c) => {
        for await (const name of c.listRepositoryNames()) void name;
      },
      "REGISTRY_ERROR",
      /larger than 16 MiB/,
      32 * MiB,
    ],
  ];
  for (const [what, streamedPath, operation, code, message, maxSent] of boundedCases) {
    test(`an endless ${what} is read with a bound: the client fails with a size error and cuts the download off early`, async () => {
      let streamed: Promise<{ sent: number; finished: boolean }> | undefined;
      const server = await listen((req, res) => {
        const path = new URL(req.url ?? "/", "http://x").pathname;
        if (path === streamedPath) {
          const total = (path === "/v2/_catalog" ? 128 : 64) * MiB;
          streamed = streamBody(res, total, { "content-type": "application/json" }, path.startsWith("/v2/broken/") ? 400 : 200);
          return;
        }
        if (path.startsWith("/v2/private/")) {
          return void res.writeHead(401, { "www-authenticate": `Bearer realm="http://${server.host}/token",service="reg"` }).end();
        }
        res.writeHead(404).end();
      });
      try {
        await expectCode(operation(new RegistryClient(server.host, { retry: { ...FAST_RETRY, maxRetries: 0 } })), code, message);
        assert.ok(streamed, `${streamedPath} was requested`);
        const observed = await streamed;
        assert.equal(observed.finished, false, "the client closed the connection before the end");
        assert.ok(observed.sent < maxSent, `${observed.sent} bytes sent before the client stopped`);
      } finally {
        await close(server.server);
      }
    });
  }
});
