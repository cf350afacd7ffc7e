// Listing a registry for a run (src/runs/imageListing.ts), against an ACR-shaped loopback server (ACR's
// /acr/v1/<repo>/_manifests cannot be had locally; its answer is modelled on a recorded ACR response: an index's
// platform manifests appear as untagged manifests of their own, with no link to the index).
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, test } from "node:test";
import { RegistryClient } from "../../../src/registry/registryClient.js";
import type { RegistryImageItem } from "../../../src/runs/imageListing.js";
import type { RunFilters } from "../../../src/runs/archiveRun.js";
import { sha256Digest as digest } from "../../support/digests.js";
import { listSelectedImages } from "../../support/registryListing.js";

const index = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
    manifests: [
      {
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        digest: digest("amd64"),
        size: 525,
        platform: { os: "linux", architecture: "amd64" },
      },
      {
        mediaType: "application/vnd.docker.distribution.manifest.v2+json",
        digest: digest("arm64"),
        size: 525,
        platform: { os: "linux", architecture: "arm64" },
      },
    ],
  }),
);
// An untagged image, and two referrers ACR lists as manifests of their own: an OCI 1.1 SBOM (untagged, with a subject)
// and a cosign legacy signature (tagged sha256-<hex>.sig). Referrers are archived with their subject, never alone.
const orphan = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digest("c"), size: 1 },
    layers: [],
  }),
);
const sbom = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/spdx+json",
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: digest("{}"), size: 2 },
    layers: [],
    subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: digest("old"), size: 900 },
  }),
);
const served = new Map([orphan, sbom].map((bytes) => [digest(bytes.toString()), bytes]));
const NOW = new Date("2026-11-23T00:00:00Z");
const acrManifests = [
  {
    digest: digest("amd64"),
    imageSize: 525,
    lastUpdateTime: "2026-11-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
  },
  {
    digest: digest("arm64"),
    imageSize: 525,
    lastUpdateTime: "2026-11-01T00:00:00Z",
    architecture: "arm64",
    os: "linux",
    mediaType: "application/vnd.docker.distribution.manifest.v2+json",
  },
  {
    digest: digest(index.toString()),
    imageSize: 5325,
    lastUpdateTime: "2026-11-01T00:00:00Z",
    mediaType: "application/vnd.docker.distribution.manifest.list.v2+json",
    tags: ["v2", "latest"],
  },
  {
    digest: digest(orphan.toString()),
    imageSize: 900,
    lastUpdateTime: "2026-01-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    mediaType: "application/vnd.oci.image.manifest.v1+json",
  },
  {
    digest: digest("old"),
    imageSize: 900,
    lastUpdateTime: "2025-01-01T00:00:00Z",
    architecture: "amd64",
    os: "linux",
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    tags: ["v1"],
  },
  {
    digest: digest(sbom.toString()),
    imageSize: sbom.length,
    lastUpdateTime: "2025-01-02T00:00:00Z",
    mediaType: "application/vnd.oci.image.manifest.v1+json",
  },
  {
    digest: digest("signature"),
    imageSize: 500,
    lastUpdateTime: "2025-01-02T00:00:00Z",
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    tags: [`${digest("old").replace(":", "-")}.sig`],
  },
];

let server: Server;
let host: string;
const requests: string[] = [];

before(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    requests.push(`${req.method} ${url.pathname}`);
    if (url.pathname === "/v2/_catalog")
      return void res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ repositories: ["team/app"] }));
    if (url.pathname === "/acr/v1/team/app/_manifests") {
      // Two to a page, with ACR's Link header.
      const start = Number(url.searchParams.get("last") ?? 0);
      const page = acrManifests.slice(start, start + 2);
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (start + 2 < acrManifests.length)
        headers.link = `</acr/v1/team/app/_manifests?n=2&last=${start + 2}>; rel="next"`;
      return void res
        .writeHead(200, headers)
        .end(JSON.stringify({ registry: "x", imageName: "team/app", manifests: page }));
    }
    if (url.pathname === `/v2/team/app/manifests/${digest(index.toString())}`) {
      return void res
        .writeHead(200, {
          "content-type": "application/vnd.docker.distribution.manifest.list.v2+json",
          "docker-content-digest": digest(index.toString()),
        })
        .end(index);
    }
    const manifest = served.get(url.pathname.split("/").pop() ?? "");
    if (manifest && url.pathname.startsWith("/v2/team/app/manifests/"))
      return void res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json" }).end(manifest);
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  host = `127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function list(filters: Partial<RunFilters>): Promise<RegistryImageItem[]> {
  return listSelectedImages(new RegistryClient(host), { includeUntagged: false, ...filters }, NOW);
}

test("ACR: tagged images only by default, tags grouped by digest, every page read", async () => {
  const items = await list({});
  assert.deepEqual(
    items.map((i) => [i.digest, i.tags]),
    [
      [digest(index.toString()), ["latest", "v2"]],
      [digest("old"), ["v1"]],
    ],
  );
  assert.equal(items[0]!.lastUpdatedOn, "2026-11-01T00:00:00Z");
  assert.equal(requests.filter((r) => r.includes("/acr/v1/")).length, 4, "four pages of two");
  assert.equal(
    requests.filter((r) => r.includes("/v2/team/app/manifests/")).length,
    0,
    "no manifest reads when untagged ones are not wanted",
  );
});

test("ACR: includeUntagged adds untagged images but not the platform manifests of an index, nor referrers", async () => {
  const digests = (await list({ includeUntagged: true })).map((i) => i.digest);
  assert.deepEqual(digests, [digest(index.toString()), digest(orphan.toString()), digest("old")]);
});

test("ACR: olderThanDays uses lastUpdateTime", async () => {
  assert.deepEqual(
    (await list({ olderThanDays: 100, includeUntagged: true })).map((i) => i.digest),
    [digest(orphan.toString()), digest("old")],
  );
  assert.deepEqual(
    (await list({ olderThanDays: 365 })).map((i) => i.tags),
    [["v1"]],
  );
});

test("ACR: tag filters select images but every tag of a selected image is recorded (guards issue 8.8)", async () => {
  // excludeTags "v2" leaves the index selected through "latest": it must still be archived as both v2 and latest.
  assert.deepEqual(
    (await list({ excludeTags: ["v2"] })).map((i) => [i.digest, i.tags]),
    [
      [digest(index.toString()), ["latest", "v2"]],
      [digest("old"), ["v1"]],
    ],
  );
  assert.deepEqual(
    (await list({ tags: ["latest"] })).map((i) => i.tags),
    [["latest", "v2"]],
  );
  // An image none of whose tags survive is not selected.
  assert.deepEqual(
    (await list({ excludeTags: ["v2", "latest"] })).map((i) => i.tags),
    [["v1"]],
  );
});
