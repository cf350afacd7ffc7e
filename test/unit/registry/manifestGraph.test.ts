// One manifest graph (src/registry/manifestGraph.ts): a manifest's bytes parsed once into what it points at, and one
// walk over the graph under a root whatever the source of its nodes (here a map, as a restore reads an archive).
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseManifest, walkManifests, type ManifestNode } from "../../../src/registry/manifestGraph.js";
import { MediaTypes, type Descriptor } from "../../../src/registry/types.js";
import { sha256Digest } from "../../support/digests.js";

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
const config = { mediaType: MediaTypes.ociConfig, digest: sha256Digest("config"), size: 6 };
const layer = { mediaType: MediaTypes.ociLayerGzip, digest: sha256Digest("layer"), size: 5 };
const options = { what: "the manifest", invalid: "ARCHIVE_INVALID" as const };

function node(value: unknown, mediaType?: string): ManifestNode {
  const bytes = json(value);
  return parseManifest(bytes, { digest: sha256Digest(bytes), ...(mediaType && { mediaType }) }, options);
}

function image(n: number, extra: object = {}) {
  return node({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config,
    layers: [layer],
    annotations: { n },
    ...extra,
  });
}

function index(children: ManifestNode[], extra: object = {}) {
  return node({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: children.map(listed), ...extra });
}

const listed = (n: ManifestNode): Descriptor => ({ ...n.descriptor });

test("a manifest parses into its blobs, an index into its children; subject, artifactType and annotations as stated", () => {
  const subject = { mediaType: MediaTypes.ociManifest, digest: sha256Digest("subject"), size: 9 };
  const signature = image(1, { artifactType: "application/vnd.example", subject });
  assert.equal(signature.kind, "image");
  assert.deepEqual(signature.blobs, [config, layer]);
  assert.deepEqual(signature.children, []);
  assert.deepEqual(signature.subject, subject);
  assert.equal(signature.artifactType, "application/vnd.example");
  assert.deepEqual(signature.annotations, { n: 1 });
  const platforms = index([image(2), image(3)]);
  assert.equal(platforms.kind, "index");
  assert.deepEqual(
    platforms.children.map((d) => d.digest),
    [image(2), image(3)].map((n) => n.descriptor.digest),
  );
  assert.deepEqual(platforms.blobs, []);
  // No media type of its own: the listing descriptor's, else its shape's.
  const bare = { schemaVersion: 2, config, layers: [] };
  assert.equal(node(bare, MediaTypes.dockerManifest).descriptor.mediaType, MediaTypes.dockerManifest);
  assert.equal(node(bare).descriptor.mediaType, MediaTypes.ociManifest);
  assert.equal(node({ schemaVersion: 2, manifests: [] }).descriptor.mediaType, MediaTypes.ociIndex);
});

test("what is not a well-formed manifest is refused with the caller's code, before anything it names is read", () => {
  const refused: [unknown, RegExp, string?][] = [
    ["not a manifest", /is not a JSON object/],
    [{ schemaVersion: 2, mediaType: "application/vnd.example+json" }, /has media type/, "UNSUPPORTED_MEDIA_TYPE"],
    [{ schemaVersion: 2, mediaType: MediaTypes.ociIndex }, /an index without manifests/],
    [{ schemaVersion: 2, mediaType: MediaTypes.ociManifest, layers: [] }, /no config or layers/],
    [
      { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: [], manifests: [] },
      /lists manifests but has media type/,
      "UNSUPPORTED_MEDIA_TYPE",
    ],
    // A digest that is not sha256 would go into a request's path.
    [
      { schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: [{ ...layer, digest: "sha256:../x" }] },
      /lists an invalid descriptor/,
    ],
    [{ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ digest: layer.digest }] }, /invalid descriptor/],
    [{ schemaVersion: 2, mediaType: MediaTypes.ociManifest, config, layers: [], subject: "x" }, /its subject/],
  ];
  for (const [value, message, code = "ARCHIVE_INVALID"] of refused)
    assert.throws(
      () => node(value),
      (error: Error & { code?: string }) => error.code === code && message.test(error.message),
      JSON.stringify(value),
    );
  // A subject of null is none.
  assert.equal(image(4, { subject: null }).subject, undefined);
});

test("the walk reads each manifest once from its source: parents first and children first, sizes checked, depth bounded", async () => {
  const [a, b, c] = [image(1), image(2), image(3)];
  const inner = index([b, c]);
  const root = index([a, inner, b]);
  const source = new Map([a, b, c, inner].map((n) => [n.descriptor.digest, n]));
  const read: string[] = [];
  const from = (d: Descriptor) => {
    read.push(d.digest);
    return source.get(d.digest)!;
  };
  const listedAs: (string | undefined)[] = [];
  const walk = await walkManifests(root, from, { onNode: (_, by) => void listedAs.push(by?.digest) });
  const digests = (nodes: ManifestNode[]) => nodes.map((n) => n.descriptor.digest);
  assert.deepEqual(digests(walk.parentsFirst), digests([root, a, inner, b, c]));
  assert.deepEqual(digests(walk.childrenFirst), digests([a, b, c, inner, root]));
  assert.deepEqual(read, digests([a, inner, b, c]), "b, listed twice, is read once");
  assert.deepEqual(listedAs, [undefined, ...digests([a, inner, b, c])]);

  await assert.rejects(
    walkManifests(root, from, { maxDepth: 1 }),
    (error: Error & { code?: string }) =>
      error.code === "UNSUPPORTED_MEDIA_TYPE" && /nested deeper than 1/.test(error.message),
  );
  const wrongSize = node({
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [{ ...listed(a), size: a.descriptor.size + 1 }],
  });
  await assert.rejects(
    walkManifests(wrongSize, from),
    (error: Error & { code?: string }) => error.code === "SIZE_MISMATCH",
  );
});
