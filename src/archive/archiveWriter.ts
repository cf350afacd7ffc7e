// Streams one image from the registry into a .tar.gz that is an OCI image layout (oci-layout, index.json,
// blobs/sha256/<hex>) and, for an image `docker load` can load, also a docker-archive (manifest.json): the layout
// `docker save` writes since Docker 25. Blobs and manifests are the registry's original bytes, each verified
// against its digest while it streams, so a restore pushes the very same digests. No scratch disk.
//
//   oci-layout
//   index.json               -> the original root manifest or index, one entry per tag
//   manifest.json            -> [{Config, RepoTags, Layers}] for the default platform; only when it is loadable
//                               (plan.format: an image config, every layer present), never for an artifact
//   blobs/sha256/<hex>       -> every manifest, config and layer, once; external (non-distributable) layers the
//                               registry does not have are left out, as the OCI layout allows (see imagePlan.ts)
import { createHash } from "node:crypto";
import { Transform, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { ArchiveError } from "../errors.js";
import {
  BlobPrefetcher,
  DEFAULT_MAX_PART_BYTES,
  DEFAULT_PART_BYTES,
  type BlobPrefetchOptions,
} from "../registry/blobPrefetcher.js";
import type { OperationOptions, RegistryClient } from "../registry/registryClient.js";
import { Annotations, isCompressedLayer, MediaTypes, type Descriptor, type Platform } from "../registry/types.js";
import { AdaptiveGzip, ArchiveStreamClosedError, type GzipSegment } from "./adaptiveGzip.js";
import type { ImageArchivePlan } from "./imagePlan.js";
import { encodeTarHeader, tarEnd, tarPadding } from "./tarHeader.js";

export interface WriteImageArchiveOptions extends OperationOptions {
  /** Tags that point at the image: RepoTags in manifest.json and ref names in index.json. */
  tags: string[];
  gzipLevel: number;
  /**
   * How blobs are read ahead of the archive (BlobPrefetcher): GETs in flight, bytes ahead, part size. The archive's bytes
   * do not depend on it. Default: DEFAULT_PREFETCH.
   */
  prefetch?: Partial<BlobPrefetchOptions>;
  /** Called as source bytes stream in (blobs read from the registry so far). */
  onSourceBytes?: (bytes: number) => void;
  /**
   * A prefetcher already reading this plan's blobs (startBlobPrefetch, started while the plan was made): its blobs must
   * be plan.blobs, in order. The writer takes them from it and closes it. Default: one started here.
   */
  prefetcher?: BlobPrefetcher;
}

export interface WriteImageArchiveResult {
  /** sha256 and size of the .tar.gz as written. */
  sha256: string;
  size: number;
  /** Bytes of the uncompressed tar. */
  tarSize: number;
  /** Platform from the default image's config, for single-manifest images that carry none in an index. */
  configPlatform?: Platform;
}

const blobPath = (digest: string) => `blobs/sha256/${digest.slice("sha256:".length)}`;
// Configs are small JSON; keep one in memory to read its platform. Bigger ones are just streamed.
const MAX_CONFIG_READ = 1024 * 1024;
const MiB = 1024 * 1024;
/** REGISTRY_CONCURRENCY and PREFETCH_MIB's defaults (src/config.ts), with 4 MiB parts that grow to 16 MiB. */
export const DEFAULT_PREFETCH: Required<BlobPrefetchOptions> = {
  concurrency: 8,
  budgetBytes: 24 * MiB,
  partBytes: DEFAULT_PART_BYTES,
  maxPartBytes: DEFAULT_MAX_PART_BYTES,
};

export function ociLayoutJson(): Buffer {
  return Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" }));
}

export function indexJson(plan: ImageArchivePlan, tags: string[]): Buffer {
  const { mediaType, digest, size } = plan.root;
  const image = `${plan.registry}/${plan.repository}`;
  const entries = tags.length
    ? tags.map((tag) => ({
        mediaType,
        digest,
        size,
        annotations: { [Annotations.containerdImageName]: `${image}:${tag}`, [Annotations.refName]: tag },
      }))
    : [{ mediaType, digest, size, annotations: { [Annotations.containerdImageName]: `${image}@${digest}` } }];
  // The image's referrers, when it has any, are listed by a blob of their own that this annotation names: loaders
  // read the entries (and manifest.json) only, so they load the image alone. Without referrers: the bytes as before.
  const referrers = plan.referrers && {
    annotations: { [Annotations.referrersIndex]: plan.referrers.index.descriptor.digest },
  };
  return Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: entries, ...referrers }),
  );
}

export function dockerManifestJson(plan: ImageArchivePlan, tags: string[]): Buffer {
  const image = plan.defaultImage;
  return Buffer.from(
    JSON.stringify([
      {
        Config: blobPath(image.config.digest),
        RepoTags: tags.map((tag) => `${plan.registry}/${plan.repository}:${tag}`),
        Layers: image.layers.map((l) => blobPath(l.digest)),
      },
    ]),
  );
}

/** Writes the archive into `sink` (typically a BlockUploadStream) and resolves when the sink has finished. */
export async function writeImageArchive(
  client: RegistryClient,
  plan: ImageArchivePlan,
  sink: Writable,
  options: WriteImageArchiveOptions,
): Promise<WriteImageArchiveResult> {
  const gzip = new AdaptiveGzip(options.gzipLevel);
  const outputHash = createHash("sha256");
  let size = 0;
  const measure = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      outputHash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const stats = { tarSize: 0, configPlatform: undefined as Platform | undefined };
  const produce = async () => {
    try {
      for await (const segment of archiveSegments(client, plan, options, stats)) {
        stats.tarSize += segment.data.length;
        await gzip.write(segment);
      }
      await gzip.end();
    } catch (error) {
      gzip.stream.destroy(error as Error);
      throw error;
    }
  };
  const consumed = pipeline(
    gzip.stream,
    measure,
    sink,
    ...(options.abortSignal ? [{ signal: options.abortSignal }] : []),
  );
  // The producer's error is the cause; the pipeline then fails with the same error or a "premature close".
  const [produced, piped] = await Promise.allSettled([produce(), consumed]);
  options.prefetcher?.close(); // however the stream ended (archiveSegments closes it too, once it has started)
  // The first cause wins: a registry error fails the pipeline too, and a failed upload stops the producer.
  if (produced.status === "rejected" && !(produced.reason instanceof ArchiveStreamClosedError)) throw produced.reason;
  if (piped.status === "rejected") throw piped.reason;
  if (produced.status === "rejected") throw produced.reason;
  return {
    sha256: outputHash.digest("hex"),
    size,
    tarSize: stats.tarSize,
    ...(stats.configPlatform && { configPlatform: stats.configPlatform }),
  };
}

async function* archiveSegments(
  client: RegistryClient,
  plan: ImageArchivePlan,
  options: WriteImageArchiveOptions,
  stats: { configPlatform: Platform | undefined },
): AsyncGenerator<GzipSegment> {
  const small = (name: string, data: Buffer): GzipSegment => ({
    data: Buffer.concat([encodeTarHeader({ name, size: data.length, type: "file" }), data, tarPadding(data.length)]),
    store: false,
  });
  yield small("oci-layout", ociLayoutJson());
  yield small("index.json", indexJson(plan, options.tags));
  if (plan.format === "oci-layout+docker-archive") yield small("manifest.json", dockerManifestJson(plan, options.tags));
  yield {
    data: Buffer.concat([
      encodeTarHeader({ name: "blobs/", size: 0, type: "directory" }),
      encodeTarHeader({ name: "blobs/sha256/", size: 0, type: "directory" }),
    ]),
    store: false,
  };
  for (const { descriptor, bytes } of plan.manifests) yield small(blobPath(descriptor.digest), bytes);

  let sourceBytes = 0;
  const prefetcher = options.prefetcher ?? startBlobPrefetch(client, plan.repository, plan.blobs, options);
  try {
    const read = prefetcher.descriptors;
    if (read.length !== plan.blobs.length || plan.blobs.some((b, i) => read[i]!.digest !== b.digest))
      throw new ArchiveError("INVALID_ARGUMENT", "the prefetcher given to the archive writer reads other blobs");
    yield* blobSegments(prefetcher, plan, options, stats, (n) => {
      sourceBytes += n;
      options.onSourceBytes?.(sourceBytes);
    });
  } finally {
    prefetcher.close();
  }
  yield { data: tarEnd(), store: false };
}

/** Starts reading `blobs` ahead for writeImageArchive (its `prefetch` and `abortSignal` options); close() it if unused. */
export function startBlobPrefetch(
  client: RegistryClient,
  repository: string,
  blobs: readonly Descriptor[],
  options: Pick<WriteImageArchiveOptions, "prefetch" | "abortSignal">,
): BlobPrefetcher {
  return new BlobPrefetcher(client, repository, blobs, {
    ...DEFAULT_PREFETCH,
    ...options.prefetch,
    ...(options.abortSignal && { abortSignal: options.abortSignal }),
  });
}

async function* blobSegments(
  prefetcher: BlobPrefetcher,
  plan: ImageArchivePlan,
  options: WriteImageArchiveOptions,
  stats: { configPlatform: Platform | undefined },
  onBytes: (bytes: number) => void,
): AsyncGenerator<GzipSegment> {
  for (const [index, blob] of plan.blobs.entries()) {
    yield { data: encodeTarHeader({ name: blobPath(blob.digest), size: blob.size, type: "file" }), store: false };
    const store = isCompressedLayer(blob.mediaType);
    const isDefaultConfig = blob.digest === plan.defaultImage.config.digest && blob.size <= MAX_CONFIG_READ;
    const configChunks: Buffer[] = [];
    for await (const chunk of prefetcher.stream(index)) {
      if (isDefaultConfig) configChunks.push(chunk);
      onBytes(chunk.length);
      yield { data: chunk, store };
    }
    if (isDefaultConfig) stats.configPlatform = readConfigPlatform(Buffer.concat(configChunks));
    yield { data: tarPadding(blob.size), store: false };
  }
}

/** The platform an image config names (os, architecture, variant): for a sidecar rebuilt without the archive's bytes. */
export async function getConfigPlatform(
  client: RegistryClient,
  repository: string,
  config: Descriptor,
  options: OperationOptions = {},
): Promise<Platform | undefined> {
  if (config.size > MAX_CONFIG_READ) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of client.getBlob(repository, config, options)) chunks.push(chunk as Buffer);
  return readConfigPlatform(Buffer.concat(chunks));
}

function readConfigPlatform(bytes: Buffer): Platform | undefined {
  try {
    const config = JSON.parse(bytes.toString("utf8")) as { os?: string; architecture?: string; variant?: string };
    if (!config.os || !config.architecture) return undefined;
    return { os: config.os, architecture: config.architecture, ...(config.variant && { variant: config.variant }) };
  } catch {
    return undefined;
  }
}
