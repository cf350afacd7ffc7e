// The Bearer challenge's token realm, as named by a registry: credentials never travel to it in clear text.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { RegistryAuthenticator } from "../../../src/registry/auth.js";
import { DEFAULT_RETRY_POLICY } from "../../../src/registry/transport.js";

test("an https registry that names an http token realm gets no credentials sent there (guards issue 8.2)", async () => {
  const seen: string[] = [];
  const realm = createServer((req, res) => {
    seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ token: "t" }));
  });
  await new Promise<void>((resolve) => realm.listen(0, "127.0.0.1", () => resolve()));
  const port = (realm.address() as { port: number }).port;
  try {
    const password = { kind: "password", username: "alice", password: "s3cret" } as const;
    const https = new RegistryAuthenticator(
      "myacr.example.com",
      "https://myacr.example.com",
      password,
      DEFAULT_RETRY_POLICY,
    );
    const challenge = `Bearer realm="http://127.0.0.1:${port}/token",service="myacr.example.com"`;
    await assert.rejects(https.authorize(challenge, "repository:a:pull"), (error: Error & { code?: string }) => {
      assert.equal(error.code, "REGISTRY_AUTH_FAILED");
      assert.match(error.message, /token realm over http; credentials are sent over https only/);
      return true;
    });
    assert.deepEqual(seen, [], "the realm was never contacted");
    await assert.rejects(https.authorize('Bearer realm="not a url"', "repository:a:pull"), /realm is not a URL/);
    // A registry reached over plain http (loopback, or REGISTRY_INSECURE) may have a plain-http realm.
    const plain = new RegistryAuthenticator(
      `127.0.0.1:${port}`,
      `http://127.0.0.1:${port}`,
      password,
      DEFAULT_RETRY_POLICY,
    );
    assert.equal(await plain.authorize(challenge, "repository:a:pull"), "Bearer t");
    assert.equal(seen.length, 1);
  } finally {
    await new Promise<void>((resolve) => realm.close(() => resolve()));
  }
});
