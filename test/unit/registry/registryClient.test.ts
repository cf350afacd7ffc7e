// The registry client against small loopback servers for what a healthy registry never does: redirects to another
// host, 503s with Retry-After, bodies cut short, bodies too long, token services that redirect credentials away, Link
// headers that loop or need a real parser, error bodies on pushes, bodies without an end. (The real registry's paging
// and token flows: test/integration/registryClient.test.ts.)
import assert from "node:assert/strict";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, test } from "node:test";
import { parseNextLink } from "../../../src/registry/client/linkHeader.js";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import { parseChallenge, type RegistryCredential } from "../../../src/registry/auth.js";
import { redirectTarget, sendWithRetry } from "../../../src/registry/transport.js";
import { isArchiveError } from "../../../src/errors.js";
import { fakeTokenCredential } from "../../support/credentials.js";
import { sha256Digest } from "../../support/digests.js";
import { close, expectCode, FAST_RETRY, listen, readBody } from "../../support/loopback.js";

/** Streams `total` bytes (chunked, no Content-Length) as fast as the client reads; resolves on close with what was sent. */
function streamBody(
  res: ServerResponse,
  total: number,
  headers: Record<string, string> = {},
  status = 200,
): Promise<{ sent: number; finished: boolean }> {
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

describe("transport behaviour (loopback stand-ins for a misbehaving registry)", () => {
  const blob = Buffer.from("x".repeat(100_000) + "end");
  const descriptor = {
    mediaType: "application/vnd.oci.image.layer.v1.tar",
    digest: sha256Digest(blob),
    size: blob.length,
  };

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
      const client = new RegistryClient(registry.host, {
        credential: { kind: "password", username: "u", password: "p" },
      });
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
      res
        .writeHead(200, {
          "content-type": "application/json",
          link: `<http://${other.host}/v2/_catalog?last=a>; rel="next"`,
        })
        .end(JSON.stringify({ repositories: ["a"] }));
    });
    try {
      const client = new RegistryClient(registry.host, {
        credential: { kind: "password", username: "u", password: "p" },
      });
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
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: descriptor,
        layers: [],
      }),
    );
    const server = await listen((_req, res) => {
      calls++;
      if (calls <= 2) res.writeHead(503, { "retry-after": "0" }).end();
      else res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(manifest);
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY });
      const result = await client.getManifest("repo", sha256Digest(manifest));
      assert.equal(result.descriptor.digest, sha256Digest(manifest));
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
      res
        .writeHead(206, {
          "content-range": `bytes ${start}-${blob.length - 1}/${blob.length}`,
          "content-length": String(blob.length - start),
        })
        .end(blob.subarray(start));
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

  test("a long read resumes as often as it breaks after 4 MiB of progress; breaks closer than that run out", async () => {
    const MiB = 1024 * 1024;
    const big = Buffer.alloc(24 * MiB);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    const bigDescriptor = { mediaType: descriptor.mediaType, digest: sha256Digest(big), size: big.length };
    // Every answer dies after `every` bytes: four breaks 5 MiB apart, or a break every 100 KiB.
    const serveBreaking = (every: number) => {
      const ranges: (string | undefined)[] = [];
      const server = listen((req, res) => {
        ranges.push(req.headers.range);
        const start = Number(/bytes=(\d+)-/.exec(req.headers.range ?? "")?.[1] ?? 0);
        const headers = { "content-length": String(big.length - start) };
        if (req.headers.range)
          res.writeHead(206, { ...headers, "content-range": `bytes ${start}-${big.length - 1}/${big.length}` });
        else res.writeHead(200, headers);
        const end = Math.min(big.length, start + every);
        if (end === big.length) return void res.end(big.subarray(start));
        res.write(big.subarray(start, end), () => res.destroy());
      });
      return { server, ranges };
    };
    const read = async (host: string) => {
      const client = new RegistryClient(host, { retry: FAST_RETRY });
      const chunks: Buffer[] = [];
      for await (const c of client.getBlob("repo", bigDescriptor)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    };
    const apart = serveBreaking(5 * MiB);
    const apartServer = await apart.server;
    try {
      assert.ok((await read(apartServer.host)).equals(big));
      assert.equal(apart.ranges.length, 5, "one GET and four resumes (more than MAX_BLOB_RESUMES in all)");
    } finally {
      await close(apartServer.server);
    }
    const often = serveBreaking(100 * 1024);
    const oftenServer = await often.server;
    try {
      await expectCode(read(oftenServer.host), "REGISTRY_UNREACHABLE");
      assert.equal(often.ranges.length, 4, "one GET and three resumes, then it fails");
    } finally {
      await close(oftenServer.server);
    }
  });

  test("more bytes than the descriptor says fail with SIZE_MISMATCH; different bytes with DIGEST_MISMATCH", async () => {
    const server = await listen((req, res) => {
      const body = req.url?.includes("long")
        ? Buffer.concat([blob, Buffer.from("extra")])
        : Buffer.from(blob).fill(0x79, 0, 1);
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

  // Blob bytes come through node:http (nodeRequest.ts), everything else through fetch: the same retries, challenges
  // and error bodies on both paths.
  test("a blob read: a 503 is retried, a bearer challenge is answered, the registry's error code is kept", async () => {
    const seen: string[] = [];
    let blobCalls = 0;
    const server = await listen((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization ?? "-"}`);
      if (req.url?.startsWith("/token")) {
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "t1" }));
        return;
      }
      if (req.headers.authorization !== "Bearer t1") {
        res
          .writeHead(401, {
            "www-authenticate": `Bearer realm="http://${req.headers.host}/token",service="test",scope="repository:repo:pull"`,
          })
          .end();
        return;
      }
      if (req.url?.includes("/missing/")) {
        res
          .writeHead(404, { "content-type": "application/json" })
          .end(JSON.stringify({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown to registry" }] }));
        return;
      }
      if (++blobCalls === 1) return void res.writeHead(503, { "retry-after": "0" }).end("busy");
      res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY });
      const chunks: Buffer[] = [];
      for await (const c of client.getBlob("repo", descriptor)) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(blob));
      assert.equal(blobCalls, 2);
      const drain = async () => {
        for await (const c of client.getBlob("missing", descriptor)) void c;
      };
      await assert.rejects(drain(), (error: unknown) => {
        assert.ok(isArchiveError(error) && error.code === "REGISTRY_NOT_FOUND", String(error));
        assert.equal((error as { registryCode?: string }).registryCode, "BLOB_UNKNOWN");
        assert.match(error.message, /blob unknown to registry/);
        return true;
      });
      assert.ok(
        seen.some((line) => line.startsWith("/token")),
        "the challenge was answered with a token",
      );
    } finally {
      await close(server.server);
    }
  });

  test("a blob read from a registry that cannot be reached fails with REGISTRY_UNREACHABLE and the socket's error", async () => {
    const { server, host } = await listen(() => undefined);
    await close(server); // the port is free again: connections are refused
    const client = new RegistryClient(host, { retry: FAST_RETRY });
    const drain = async () => {
      for await (const c of client.getBlob("repo", descriptor)) void c;
    };
    await expectCode(drain(), "REGISTRY_UNREACHABLE", /ECONNREFUSED/);
  });

  test("a blob read stopped by its abort signal ends with ABORTED and lets the connection go", async () => {
    const abort = new AbortController();
    let closed: Promise<{ sent: number; finished: boolean }> | undefined;
    const server = await listen((_req, res) => {
      closed = streamBody(res, 64 * 1024 * 1024, { "content-length": String(64 * 1024 * 1024) });
    });
    try {
      const big = { ...descriptor, size: 64 * 1024 * 1024 };
      const client = new RegistryClient(server.host, { retry: FAST_RETRY });
      let received = 0;
      const drain = async () => {
        for await (const c of client.getBlob("repo", big, { abortSignal: abort.signal })) {
          received += (c as Buffer).length;
          if (received > 1024 * 1024) abort.abort();
        }
      };
      await expectCode(drain(), "ABORTED");
      const { finished } = await closed!;
      assert.equal(finished, false, "the server's answer was cut off, not read to its end");
    } finally {
      await close(server.server);
    }
  });

  // A registry gone silent, or a flow a load balancer dropped without a reset: no bytes, no close. The servers below
  // keep such sockets open until the test ends (closeAllConnections).
  test("a blob read whose connection goes silent mid-body is resumed with Range from the byte it had (guards issue 21.8)", async () => {
    const ranges: (string | undefined)[] = [];
    const server = await listen((req, res) => {
      ranges.push(req.headers.range);
      if (!req.headers.range) {
        res.writeHead(200, { "content-length": String(blob.length) }).write(blob.subarray(0, 40_000));
        return; // and nothing more, the socket left open
      }
      const start = Number(/bytes=(\d+)-/.exec(req.headers.range)![1]);
      res
        .writeHead(206, {
          "content-range": `bytes ${start}-${blob.length - 1}/${blob.length}`,
          "content-length": String(blob.length - start),
        })
        .end(blob.subarray(start));
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY, idleTimeoutMs: 300 });
      const chunks: Buffer[] = [];
      // (The abort only ends a read that would hang, without the idle timeout: it fails the test instead.)
      for await (const c of client.getBlob("repo", descriptor, { abortSignal: AbortSignal.timeout(20_000) }))
        chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(blob));
      assert.deepEqual(ranges, [undefined, "bytes=40000-"]);
    } finally {
      server.server.closeAllConnections();
      await close(server.server);
    }
  });

  test("a blob read whose answer never comes ends after the idle timeout and is retried; silent every time, REGISTRY_UNREACHABLE (guards issue 21.8)", async () => {
    let calls = 0;
    let answerFrom = 2;
    const server = await listen((_req, res) => {
      if (++calls < answerFrom) return; // no status line, no headers, the socket left open
      res.writeHead(200, { "content-length": String(blob.length) }).end(blob);
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY, idleTimeoutMs: 300 });
      const read = async () => {
        const chunks: Buffer[] = [];
        for await (const c of client.getBlob("repo", descriptor, { abortSignal: AbortSignal.timeout(20_000) }))
          chunks.push(c as Buffer);
        return Buffer.concat(chunks);
      };
      assert.ok((await read()).equals(blob));
      assert.equal(calls, 2, "the silent request and its retry");
      calls = 0;
      answerFrom = Infinity;
      await expectCode(read(), "REGISTRY_UNREACHABLE", /was silent for 0.3 s \(idle timeout\)/);
      assert.equal(calls, 1 + FAST_RETRY.maxRetries);
    } finally {
      server.server.closeAllConnections();
      await close(server.server);
    }
  });

  test("a body its reader leaves unread for longer than the idle timeout is not a silent connection: not re-requested (guards issue 21.8)", async () => {
    const big = Buffer.alloc(8 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    const bigDescriptor = { mediaType: descriptor.mediaType, digest: sha256Digest(big), size: big.length };
    const ranges: (string | undefined)[] = [];
    const server = await listen((req, res) => {
      ranges.push(req.headers.range);
      res.writeHead(200, { "content-length": String(big.length) }).end(big);
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY, idleTimeoutMs: 200 });
      const chunks: Buffer[] = [];
      for await (const c of client.getBlob("repo", bigDescriptor)) {
        if (chunks.length === 0) await new Promise((resolve) => setTimeout(resolve, 1000)); // the writer is busy
        chunks.push(c as Buffer);
      }
      assert.ok(Buffer.concat(chunks).equals(big));
      assert.deepEqual(ranges, [undefined], "one GET: the pause was the reader's, not the registry's");
    } finally {
      await close(server.server);
    }
  });

  test("a registry that sends slowly but steadily is not silent: bytes keep the idle timeout away (guards issue 21.8)", async () => {
    const ranges: (string | undefined)[] = [];
    const server = await listen((req, res) => {
      ranges.push(req.headers.range);
      res.writeHead(200, { "content-length": String(blob.length) });
      // 20 pieces 60 ms apart: 1.2 s in all, four times the idle timeout, never 300 ms without a byte.
      const piece = Math.ceil(blob.length / 20);
      let sent = 0;
      const next = () => {
        if (res.destroyed) return;
        res.write(blob.subarray(sent, sent + piece));
        sent += piece;
        if (sent >= blob.length) res.end();
        else setTimeout(next, 60);
      };
      next();
    });
    try {
      const client = new RegistryClient(server.host, { retry: FAST_RETRY, idleTimeoutMs: 300 });
      const chunks: Buffer[] = [];
      for await (const c of client.getBlob("repo", descriptor)) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(blob));
      assert.deepEqual(ranges, [undefined], "one GET");
    } finally {
      await close(server.server);
    }
  });

  test("plain HTTP only for loopback unless insecure is asked for", () => {
    assert.equal(new RegistryClient("127.0.0.1:5000").baseUrl, "http://127.0.0.1:5000");
    assert.equal(new RegistryClient("localhost:5000").baseUrl, "http://localhost:5000");
    assert.equal(new RegistryClient("myacr.azurecr.io").baseUrl, "https://myacr.azurecr.io");
    assert.equal(
      new RegistryClient("registry.internal:5000", { insecure: true }).baseUrl,
      "http://registry.internal:5000",
    );
  });

  test("WWW-Authenticate challenges parse", () => {
    assert.deepEqual(
      parseChallenge('Bearer realm="https://acr.io/oauth2/token",service="acr.io",scope="repository:a/b:pull"'),
      {
        scheme: "bearer",
        params: { realm: "https://acr.io/oauth2/token", service: "acr.io", scope: "repository:a/b:pull" },
      },
    );
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
  const layerDescriptor = {
    mediaType: "application/vnd.oci.image.layer.v1.tar",
    digest: sha256Digest(layer),
    size: layer.length,
  };
  const fakeAad = fakeTokenCredential("aad-token");

  /**
   * A registry whose token service (realm /token, and /oauth2/exchange) answers 307 to `redirectTo(path)` and
   * grants "good" to whatever reaches it; `elsewhere` records what a second origin (another port) received.
   */
  async function tokenRedirectSetup(redirectTo: (registryHost: string, elsewhereHost: string, path: string) => string) {
    const elsewhereSaw: { authorization?: string; body: string }[] = [];
    const grant = async (req: IncomingMessage, res: ServerResponse) => {
      await readBody(req);
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ token: "good", refresh_token: "acr-refresh" }));
    };
    const elsewhere = await listen((req, res) => {
      void readBody(req).then((body) => {
        elsewhereSaw.push({ ...(req.headers.authorization && { authorization: req.headers.authorization }), body });
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ token: "good", refresh_token: "acr-refresh" }));
      });
    });
    const registry = await listen((req, res) => {
      const url = req.url ?? "";
      if (url.startsWith("/granted")) return void grant(req, res);
      if (url.startsWith("/token") || url.startsWith("/oauth2/exchange")) {
        return void readBody(req).then(() =>
          res.writeHead(307, { location: redirectTo(registry.host, elsewhere.host, url) }).end(),
        );
      }
      if (req.headers.authorization !== "Bearer good") {
        return void res
          .writeHead(401, { "www-authenticate": `Bearer realm="http://${registry.host}/token",service="reg"` })
          .end();
      }
      res.writeHead(200, { "content-type": ociManifest }).end(manifest);
    });
    return {
      elsewhereSaw,
      registry,
      elsewhere,
      closeAll: () => Promise.all([close(elsewhere.server), close(registry.server)]),
    };
  }

  const credentials: [string, RegistryCredential, string[]][] = [
    [
      "Basic password",
      { kind: "password", username: "alice", password: "s3cret" },
      ["s3cret", Buffer.from("alice:s3cret").toString("base64")],
    ],
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
          for (const secret of secrets)
            assert.ok(
              !seen.body.includes(secret) && !decodeURIComponent(seen.body).includes(secret),
              `${secret} leaked in a body`,
            );
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
        assert.equal(descriptor.digest, sha256Digest(manifest), name);
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
        await expectCode(
          sendWithRetry(`http://${server.host}/`, { headers: { [name]: "Basic eDp5" } }),
          "INVALID_ARGUMENT",
          /credentials/,
        );
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
    const isCode = (code: string, message: RegExp) => (e: unknown) =>
      isArchiveError(e) && e.code === code && message.test(e.message);
    assert.throws(
      () => redirectTarget(blobUrl, "http://reg.example/v2/a/blobs/x", origin, undefined),
      isCode("REGISTRY_ERROR", /https to http/),
    );
    assert.throws(
      () => redirectTarget(blobUrl, "http://storage.example/b", origin, registryAuth),
      isCode("REGISTRY_ERROR", /https to http/),
    );
    const basic = { authorization: "Basic eDp5" };
    assert.throws(
      () => redirectTarget(`${origin}/token`, "https://evil.example/token", origin, basic),
      isCode("REGISTRY_AUTH_FAILED", /another origin/),
    );
    const secretBody = { body: "refresh_token=x", onRedirectElsewhere: "drop" as const };
    assert.throws(
      () => redirectTarget(`${origin}/token`, "https://evil.example/token", origin, secretBody),
      isCode("REGISTRY_AUTH_FAILED", /another origin/),
    );
    const storage = "https://storage.example/b?sig=1";
    assert.deepEqual(redirectTarget(blobUrl, storage, origin, registryAuth), { url: storage, withSecrets: false });
    assert.deepEqual(redirectTarget(`${origin}/token`, "/token2", origin, { authorization: "Basic eDp5" }), {
      url: `${origin}/token2`,
      withSecrets: true,
    });
    // Back at the origin after a hop elsewhere: the secrets were dropped for the chain (the caller passes none).
    assert.deepEqual(redirectTarget("https://storage.example/b", `${origin}/v2/x`, origin, undefined), {
      url: `${origin}/v2/x`,
      withSecrets: false,
    });
  });

  test("a listing that keeps answering the same Link stops with REGISTRY_ERROR after at most 3 requests (catalog, tags, ACR manifests)", async () => {
    const requests = new Map<string, number>();
    const server = await listen((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      const count = (requests.get(path) ?? 0) + 1;
      requests.set(path, count);
      // Ends after 10 pages, so a client without the check finishes (and fails the test) instead of hanging.
      const link = count < 10 ? { link: `<${path}?last=a&n=100>; rel="next"` } : {};
      const body = path.endsWith("_manifests")
        ? { manifests: [{ digest: "sha256:a" }] }
        : { repositories: ["a"], tags: ["a"] };
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
      res
        .writeHead(200, { "content-type": "application/json", ...(page.link && { link: page.link }) })
        .end(JSON.stringify({ repositories: page.names }));
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
    assert.throws(
      () => parseNextLink(`<${"/x".repeat(10_000)}>; rel=next`),
      (e: unknown) => isArchiveError(e) && e.code === "REGISTRY_ERROR",
    );
  });

  const pushCases: [string, string, RegExp, (client: RegistryClient) => Promise<unknown>][] = [
    [
      "manifest PUT",
      "MANIFEST_BLOB_UNKNOWN",
      /blob unknown to registry/,
      (c) => c.putManifest("repo", "1", ociManifest, manifest),
    ],
    [
      "blob upload PUT",
      "BLOB_UPLOAD_INVALID",
      /blob upload invalid/,
      (c) => c.uploadBlob("repo", layerDescriptor, layer),
    ],
    [
      "blob upload POST",
      "NAME_INVALID",
      /invalid repository name/,
      (c) => c.uploadBlob("bad-name", layerDescriptor, layer),
    ],
  ];
  for (const [what, registryCode, message, push] of pushCases) {
    test(`${what}: a registry error keeps its OCI error code (${registryCode}) and message`, async () => {
      const errorBody = (code: string, text: string) => JSON.stringify({ errors: [{ code, message: text }] });
      const server = await listen((req, res) => {
        void readBody(req).then(() => {
          const url = req.url ?? "";
          const json = { "content-type": "application/json" };
          const fail = (code: string, text: string) => res.writeHead(400, json).end(errorBody(code, text));
          if (req.method === "PUT" && url.includes("/manifests/"))
            return void fail("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry");
          if (req.method === "POST" && url.startsWith("/v2/bad-name/"))
            return void fail("NAME_INVALID", "invalid repository name");
          if (req.method === "POST")
            return void res.writeHead(202, { location: "/v2/repo/blobs/uploads/u1?state=s" }).end();
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
    [
      "manifest",
      "/v2/repo/manifests/1",
      (c) => c.getManifest("repo", "1"),
      "UNSUPPORTED_MEDIA_TYPE",
      /larger than 4 MiB/,
      16 * MiB,
    ],
    [
      "token response",
      "/token",
      (c) => c.getManifest("private", "1"),
      "REGISTRY_AUTH_FAILED",
      /token response .* larger than 128 KiB/,
      16 * MiB,
    ],
    [
      "error body",
      "/v2/broken/manifests/1",
      (c) => c.getManifest("broken", "1"),
      "REGISTRY_ERROR",
      /HTTP 400/,
      16 * MiB,
    ],
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
          streamed = streamBody(
            res,
            total,
            { "content-type": "application/json" },
            path.startsWith("/v2/broken/") ? 400 : 200,
          );
          return;
        }
        if (path.startsWith("/v2/private/")) {
          return void res
            .writeHead(401, { "www-authenticate": `Bearer realm="http://${server.host}/token",service="reg"` })
            .end();
        }
        res.writeHead(404).end();
      });
      try {
        await expectCode(
          operation(new RegistryClient(server.host, { retry: { ...FAST_RETRY, maxRetries: 0 } })),
          code,
          message,
        );
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
