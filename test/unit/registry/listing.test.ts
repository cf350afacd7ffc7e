// Registry listings end: a page cap (configurable, 100,000 by default) stops a registry that never stops linking,
// and the registry's error message reaches ours as one bounded line.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { test } from "node:test";
import { RegistryClient } from "../../../src/registry/registryClient.js";

test("a listing that keeps linking to new pages stops at the page cap with a clear error (guards issue 8.10)", async () => {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    const page = Number(new URL(req.url ?? "/", "http://x").searchParams.get("last") ?? 0);
    res
      .writeHead(200, { "content-type": "application/json", link: `</v2/_catalog?n=1&last=${page + 1}>; rel="next"` })
      .end(JSON.stringify({ repositories: [`r${page}`] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  try {
    const client = new RegistryClient(`127.0.0.1:${(server.address() as { port: number }).port}`, {
      maxListingPages: 5,
    });
    const names: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const name of client.listRepositoryNames({ pageSize: 1 })) names.push(name);
      })(),
      (error: Error & { code?: string }) =>
        error.code === "REGISTRY_ERROR" && /goes on past 5 pages; stopped/.test(error.message),
    );
    // Five pages read; the fifth links past the cap, so the listing stops there rather than yield a partial last page.
    assert.equal(requests, 5);
    assert.deepEqual(names, ["r0", "r1", "r2", "r3"]);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test("a registry's error message is kept as one bounded line (guards issue 8.11)", async () => {
  const server = createServer((_req, res) => {
    const message = `blob unknown to registry\n${"x".repeat(10_000)}\n    at Registry.handle`;
    res
      .writeHead(404, { "content-type": "application/json" })
      .end(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  try {
    const client = new RegistryClient(`127.0.0.1:${(server.address() as { port: number }).port}`);
    await assert.rejects(client.getManifest("team/app", "1.0"), (error: Error & { registryCode?: string }) => {
      assert.equal(error.registryCode, "MANIFEST_UNKNOWN");
      assert.ok(!error.message.includes("\n"), error.message);
      assert.match(error.message, /blob unknown to registry$/);
      assert.ok(error.message.length < 400, `${error.message.length} characters`);
      return true;
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
