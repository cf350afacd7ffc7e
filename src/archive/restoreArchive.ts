// Restores an archive (.tar.gz, as this tool writes it or as `docker save` writes since Docker 25) into a
// registry with the ORIGINAL digests: every blob is pushed byte for byte and checked against its digest while
// it streams, then the manifests (children before the index that lists them), then the root under its tags.
// Independent of skopeo, whose OCI-layout reader (1.9) skips Docker-typed manifests.
import { createHash } from "node:crypto";
import type { Readable } from "node:stream";
import zlib from "node:zlib";
import tar from "tar-stream";
import { ArchiveError } from "../errors.js";
import type { OperationOptions, RegistryClient } from "../registry/registryClient.js";
import { isIndexMediaType, MANIFEST_ACCEPT, type Descriptor } from "../registry/types.js";

export interface RestoreArchiveOptions extends OperationOptions {
  /** Tags to push the root under; default: the tags recorded in index.json (or by digest when there are none). */
  tags?: string[];
  onBlob?: (event: { digest: string; size: number; pushed: boolean }) => void;
}

export interface RestoreArchiveResult {
  registry: string;
  repository: string;
  digest: string;
  mediaType: string;
  tags: string[];
  blobsPushed: number;
  blobsPresent: number;
  manifests: number;
  bytesPushed: number;
}

interface ArchivedManifest {
  digest: string;
  bytes: Buffer;
  mediaType: string;
  children: string[];
}

// Manifests are at most 4 MiB (distribution spec); smaller blobs are read whole to tell manifests from the rest.
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const BLOB_PATH = /^blobs\/sha256\/([a-f0-9]{64})$/;

export async function restoreImageArchive(archive: Readable, client: RegistryClient, repository: string, options: RestoreArchiveOptions = {}): Promise<RestoreArchiveResult> {
  const extract = tar.extract();
  const manifests = new Map<string, ArchivedManifest>();
  let index: { manifests?: (Descriptor & { annotations?: Record<string, string> })[] } | undefined;
  let blobsPushed = 0;
  let blobsPresent = 0;
  let bytesPushed = 0;
  const gunzip = zlib.createGunzip();
  const source = archive.pipe(gunzip);
  source.on("error", (error) => extract.destroy(error));
  archive.on("error", (error) => extract.destroy(error)); // a read error of the file, not only of gunzip
  source.pipe(extract as unknown as NodeJS.WritableStream);
  let descriptor: Descriptor = { mediaType: "", digest: "", size: 0 };
  const count = (pushed: boolean) => {
    if (pushed) {
      blobsPushed++;
      bytesPushed += descriptor.size;
    } else blobsPresent++;
    options.onBlob?.({ digest: descriptor.digest, size: descriptor.size, pushed });
  };

  for await (const entry of extract) {
    const name = entry.header.name.replace(/^\.\//, "");
    const blob = BLOB_PATH.exec(name);
    if (name === "index.json") {
      index = JSON.parse((await readAll(entry)).toString("utf8"));
      continue;
    }
    if (!blob || entry.header.type !== "file") {
      entry.resume();
      continue;
    }
    descriptor = { mediaType: "application/octet-stream", digest: `sha256:${blob[1]}`, size: entry.header.size ?? 0 };
    if (descriptor.size <= MAX_MANIFEST_BYTES) {
      const bytes = await readAll(entry);
      verify(descriptor, bytes);
      const manifest = asManifest(descriptor.digest, bytes);
      if (manifest) {
        manifests.set(descriptor.digest, manifest);
        continue;
      }
      count(await pushBlob(client, repository, descriptor, bytes, options));
      continue;
    }
    const verified = verifying(descriptor, entry as AsyncIterable<Buffer>);
    const pushed = await pushBlob(client, repository, descriptor, verified, options);
    if (!pushed) for await (const chunk of verified) void chunk; // still check the archive's bytes
    count(pushed);
  }

  const root = index?.manifests?.[0];
  if (!root) throw new ArchiveError("INVALID_ARGUMENT", "the archive has no index.json entry: it is not an OCI image layout");
  const rootManifest = manifests.get(root.digest);
  if (!rootManifest) throw new ArchiveError("INVALID_ARGUMENT", `the archive does not contain its root manifest ${root.digest}`);

  // Children first: every manifest an index lists must exist before the index is pushed.
  const order: ArchivedManifest[] = [];
  const visit = (manifest: ArchivedManifest, depth: number) => {
    if (depth > 4) throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", "indexes nested deeper than 4");
    for (const child of manifest.children) {
      const found = manifests.get(child);
      if (!found) throw new ArchiveError("INVALID_ARGUMENT", `the archive lacks manifest ${child}, listed by ${manifest.digest}`);
      visit(found, depth + 1);
    }
    if (!order.includes(manifest)) order.push(manifest);
  };
  visit(rootManifest, 0);

  for (const manifest of order.slice(0, -1)) await pushManifest(client, repository, manifest.digest, manifest, options);
  const recordedTags = (index?.manifests ?? []).map((m) => m.annotations?.["org.opencontainers.image.ref.name"]).filter((t): t is string => !!t);
  const tags = options.tags?.length ? options.tags : recordedTags;
  for (const reference of tags.length ? tags : [rootManifest.digest]) await pushManifest(client, repository, reference, rootManifest, options);
  return { registry: client.registry, repository, digest: rootManifest.digest, mediaType: rootManifest.mediaType, tags, blobsPushed, blobsPresent, manifests: order.length, bytesPushed };
}

async function pushBlob(client: RegistryClient, repository: string, descriptor: Descriptor, body: Buffer | AsyncIterable<Buffer>, options: OperationOptions): Promise<boolean> {
  if (await client.blobExists(repository, descriptor.digest, options)) return false;
  await client.uploadBlob(repository, descriptor, body, options);
  return true;
}

async function pushManifest(client: RegistryClient, repository: string, reference: string, manifest: ArchivedManifest, options: OperationOptions): Promise<void> {
  const digest = await client.putManifest(repository, reference, manifest.mediaType, manifest.bytes, options);
  if (digest && digest !== manifest.digest) {
    throw new ArchiveError("DIGEST_MISMATCH", `${client.registry} stored manifest ${manifest.digest} as ${digest}: it changed the bytes`);
  }
}

/** A manifest or index (by its JSON), with the child manifests an index lists; undefined for configs and layers. */
function asManifest(digest: string, bytes: Buffer): ArchivedManifest | undefined {
  let json: { schemaVersion?: number; mediaType?: string; manifests?: { digest: string; mediaType?: string }[]; layers?: unknown[]; config?: { mediaType?: string } };
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  if (json?.schemaVersion !== 2) return undefined;
  const isIndex = Array.isArray(json.manifests);
  if (!isIndex && !(Array.isArray(json.layers) && json.config)) return undefined;
  // OCI manifests may omit mediaType; the shape tells which one it is.
  const mediaType = json.mediaType ?? (isIndex ? "application/vnd.oci.image.index.v1+json" : "application/vnd.oci.image.manifest.v1+json");
  if (!MANIFEST_ACCEPT.includes(mediaType as (typeof MANIFEST_ACCEPT)[number])) return undefined;
  return { digest, bytes, mediaType, children: isIndexMediaType(mediaType) ? (json.manifests ?? []).map((m) => m.digest) : [] };
}

function verify(descriptor: Descriptor, bytes: Buffer): void {
  const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
  if (bytes.length !== descriptor.size || digest !== descriptor.digest) {
    throw new ArchiveError("DIGEST_MISMATCH", `blobs/sha256/${descriptor.digest.slice(7)} in the archive hashes to ${digest}: the archive is damaged`);
  }
}

/** Passes the entry's bytes through, failing at the end if they do not hash to the entry's name. Single use. */
function verifying(descriptor: Descriptor, source: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let consumed = false;
  return {
    async *[Symbol.asyncIterator]() {
      if (consumed) return;
      consumed = true;
      const hash = createHash("sha256");
      let size = 0;
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
        yield chunk;
      }
      const digest = `sha256:${hash.digest("hex")}`;
      if (size !== descriptor.size || digest !== descriptor.digest) {
        throw new ArchiveError("DIGEST_MISMATCH", `blobs/sha256/${descriptor.digest.slice(7)} in the archive hashes to ${digest}: the archive is damaged`);
      }
    },
  };
}

async function readAll(source: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of source) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
