// ACR answers are checked before they are believed (src/registry/client/acr.ts): a lock read wrong would let a purge past
// it. A loopback registry forges the answers a real one never gives.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import { close, expectCode, FAST_RETRY, listen } from "../../support/loopback.js";

const DIGEST = `sha256:${"a".repeat(64)}`;
const OTHER = `sha256:${"b".repeat(64)}`;

async function answering(body: unknown, status = 200) {
  const requests: string[] = [];
  const { server, host } = await listen((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  });
  return { server, requests, client: new RegistryClient(host, { retry: FAST_RETRY }) };
}

test("changeable attributes without their booleans, a manifest answer for another digest, a tag answer for another tag: REGISTRY_ERROR, never read as unlocked (guards issue 23.3)", async () => {
  const cases: [unknown, (client: RegistryClient) => Promise<unknown>, RegExp][] = [
    [
      { imageName: "a/b", changeableAttributes: { deleteEnabled: true, writeEnabled: true } },
      (c) => c.findRepositoryAttributes("a/b"),
      /changeableAttributes\.readEnabled/,
    ],
    [
      { imageName: "a/b", changeableAttributes: { deleteEnabled: "false", writeEnabled: true, readEnabled: true } },
      (c) => c.findRepositoryAttributes("a/b"),
      /changeableAttributes\.deleteEnabled/,
    ],
    [{ imageName: "a/b" }, (c) => c.findRepositoryAttributes("a/b"), /changeableAttributes/],
    [
      {
        manifest: {
          digest: OTHER,
          changeableAttributes: { deleteEnabled: true, writeEnabled: true, readEnabled: true },
        },
      },
      (c) => c.findManifestAttributes("a/b", DIGEST),
      /with manifest sha256:b/,
    ],
    [
      {
        tag: {
          name: "v2",
          digest: DIGEST,
          changeableAttributes: { deleteEnabled: true, writeEnabled: true, readEnabled: true },
        },
      },
      (c) => c.findTagAttributes("a/b", "v1"),
      /with tag v2/,
    ],
    [[1, 2], (c) => c.findTagAttributes("a/b", "v1"), /not a JSON object/],
  ];
  for (const [body, call, message] of cases) {
    const { server, client } = await answering(body);
    try {
      await expectCode(call(client), "REGISTRY_ERROR", message);
    } finally {
      await close(server);
    }
  }
});

test("a tag listing that ignores ?digest= is filtered to the digest's tags (guards issue 23.3)", async () => {
  const attributes = { deleteEnabled: true, writeEnabled: true, readEnabled: true };
  const { server, client, requests } = await answering({
    tags: [
      { name: "v1", digest: DIGEST, changeableAttributes: attributes },
      { name: "other", digest: OTHER, changeableAttributes: attributes },
    ],
  });
  try {
    const tags = await client.listTagAttributes("a/b", DIGEST);
    assert.deepEqual(
      tags?.map((t) => t.name),
      ["v1"],
    );
    assert.match(requests[0]!, /^GET \/acr\/v1\/a\/b\/_tags\?n=100&digest=sha256%3Aa{64}$/);
  } finally {
    await close(server);
  }
});
