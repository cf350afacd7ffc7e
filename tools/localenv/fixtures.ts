// Test images without a container engine: write the image (layers, config, manifest, or an index for
// multi-arch) in skopeo's `dir:` layout and push it with `skopeo copy --all --preserve-digests`. The `dir:`
// layout keeps manifests as raw bytes of any media type; skopeo's `oci:` layout skips Docker-typed manifests.
// Layer content is generated: small files, incompressible random data, or compressible text. A layer can be foreign
// (non-distributable, with `urls`): skopeo then pushes the manifest without its blob, as it does for Windows base layers.
// Artifacts (any config and layer media types) are pushed with the registry client: a manifest of exact bytes.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import zlib from "node:zlib";
import tar from "tar-stream";
import { RegistryClient } from "../../src/registry/registryClient.js";
import { MediaTypes, type Descriptor, type Platform } from "../../src/registry/types.js";
import { requireTool } from "./processes.js";

const execFileAsync = promisify(execFile);

export interface LayerSpec {
  /** Small files, path → content. */
  files?: Record<string, string>;
  /** One file of this many incompressible bytes. */
  randomBytes?: number;
  /** One file of this many bytes of compressible, text-like content. */
  textBytes?: number;
  /** gzip (default, level 6), gzip-stored (gzip framing, no compression: fast for big random layers), none. */
  compression?: "gzip" | "gzip-stored" | "none";
  /**
   * A foreign layer: Docker `…rootfs.foreign.diff.tar.gzip` or OCI `…layer.nondistributable.v1.tar+gzip`, with these
   * URLs. Its blob is not pushed (the registry must allow foreign layer URLs), unless `inRegistry` pushes it anyway.
   */
  foreign?: { urls: string[]; inRegistry?: boolean };
}

export interface ImageSpec {
  layers: LayerSpec[];
  /** OCI (default) or Docker schema 2 media types. */
  format?: "oci" | "docker";
  /** The config's `created` (default 2024-01-01T00:00:00Z). */
  created?: string;
  platform?: Platform;
}

export const FOREIGN_LAYER = {
  docker: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  oci: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
} as const;

export interface BuiltImage {
  manifest: Descriptor;
  layers: Descriptor[];
  bytes: Buffer;
}

export interface PushedImage {
  /** Digest of what the tag points at (the index for multi-arch). */
  digest: string;
  reference: string;
}

async function writeBlob(layoutDir: string, data: Buffer): Promise<Descriptor & { mediaType: string }> {
  const hex = createHash("sha256").update(data).digest("hex");
  await writeFile(join(layoutDir, hex), data);
  return { mediaType: "", digest: `sha256:${hex}`, size: data.length };
}

async function* generateContent(spec: LayerSpec, size: number, random: boolean): AsyncGenerator<Buffer> {
  const words = [
    "lorem",
    "ipsum",
    "registry",
    "manifest",
    "layer",
    "digest",
    "archive",
    "blob",
    "tier",
    "azure",
    "config",
    "function",
    "const",
    "return",
    "import",
    "export",
    "{",
    "}",
    "(",
    ")",
    ";",
    "\n",
  ];
  let left = size;
  let seed = 1;
  while (left > 0) {
    const n = Math.min(left, 1 << 20);
    if (random) yield randomBytes(n);
    else {
      let text = "";
      while (text.length < n) {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        text += `${words[seed % words.length]}${seed % 7 === 0 ? String(seed % 1000) : ""} `;
      }
      yield Buffer.from(text.slice(0, n));
    }
    left -= n;
  }
  void spec;
}

async function writeLayer(
  layoutDir: string,
  spec: LayerSpec,
  format: "oci" | "docker",
): Promise<{ descriptor: Descriptor; diffId: string }> {
  const pack = tar.pack();
  const filling = (async () => {
    for (const [path, content] of Object.entries(spec.files ?? {})) {
      await new Promise<void>((resolve, reject) =>
        pack.entry({ name: path, mode: 0o644, mtime: new Date(0) }, content, (e) => (e ? reject(e) : resolve())),
      );
    }
    for (const [kind, size] of [
      ["random", spec.randomBytes],
      ["text", spec.textBytes],
    ] as const) {
      if (!size) continue;
      const entry = pack.entry({ name: `data/${kind}.bin`, size, mode: 0o644, mtime: new Date(0) });
      for await (const chunk of generateContent(spec, size, kind === "random")) {
        if (!entry.write(chunk)) await new Promise<void>((r) => entry.once("drain", () => r()));
      }
      await new Promise<void>((resolve, reject) => {
        entry.once("error", reject);
        entry.end(() => resolve());
      });
    }
    pack.finalize();
  })();
  const diff = createHash("sha256");
  const blob = createHash("sha256");
  let size = 0;
  const hashing = (hash: ReturnType<typeof createHash>, count: boolean) =>
    new Transform({
      transform(chunk: Buffer, _e, cb) {
        hash.update(chunk);
        if (count) size += chunk.length;
        cb(null, chunk);
      },
    });
  const compression = spec.compression ?? "gzip";
  const tmp = join(layoutDir, `layer-${randomBytes(6).toString("hex")}.tmp`);
  const stages = compression === "none" ? [] : [zlib.createGzip({ level: compression === "gzip-stored" ? 0 : 6 })];
  await Promise.all([
    filling,
    pipeline(
      Readable.from(pack as AsyncIterable<Buffer>),
      hashing(diff, false),
      ...stages,
      hashing(blob, true),
      createWriteStream(tmp),
    ),
  ]);
  const hex = blob.digest("hex");
  await rename(tmp, join(layoutDir, hex));
  const mediaType =
    compression === "none"
      ? MediaTypes.ociLayer
      : format === "docker"
        ? MediaTypes.dockerLayerGzip
        : MediaTypes.ociLayerGzip;
  if (compression === "none" && format === "docker")
    throw new Error("Docker schema 2 has no uncompressed layer type in this fixture builder");
  const digest = `sha256:${hex}`;
  if (spec.foreign) {
    if (compression === "none") throw new Error("a foreign layer is gzip in this fixture builder");
    const foreignType = format === "docker" ? FOREIGN_LAYER.docker : FOREIGN_LAYER.oci;
    return {
      descriptor: { mediaType: foreignType, digest, size, urls: spec.foreign.urls },
      diffId: `sha256:${diff.digest("hex")}`,
    };
  }
  return { descriptor: { mediaType, digest, size }, diffId: `sha256:${diff.digest("hex")}` };
}

async function writeImage(layoutDir: string, spec: ImageSpec): Promise<BuiltImage> {
  const format = spec.format ?? "oci";
  const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const layer of spec.layers) {
    const built = await writeLayer(layoutDir, layer, format);
    layers.push(built.descriptor);
    diffIds.push(built.diffId);
  }
  const config = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant && { variant: platform.variant }),
    created: spec.created ?? "2024-01-01T00:00:00Z",
    config: { Cmd: ["/bin/sh"], Env: ["PATH=/usr/bin:/bin"] },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: diffIds.map(() => ({ created: "2024-01-01T00:00:00Z", created_by: "fixture" })),
  };
  const configBlob = await writeBlob(layoutDir, Buffer.from(JSON.stringify(config)));
  const manifestMediaType = format === "docker" ? MediaTypes.dockerManifest : MediaTypes.ociManifest;
  const manifest = {
    schemaVersion: 2,
    mediaType: manifestMediaType,
    config: { ...configBlob, mediaType: format === "docker" ? MediaTypes.dockerConfig : MediaTypes.ociConfig },
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const hex = createHash("sha256").update(bytes).digest("hex");
  return {
    manifest: { mediaType: manifestMediaType, digest: `sha256:${hex}`, size: bytes.length, platform },
    layers,
    bytes,
  };
}

/** Writes a skopeo `dir:` layout in a new temp dir: one image, or an index when given several. */
export async function writeLayout(images: ImageSpec | ImageSpec[]): Promise<{ dir: string; root: Descriptor }> {
  const dir = await mkdtemp(join(tmpdir(), "layout-"));
  await writeFile(join(dir, "version"), "Directory Transport Version: 1.1\n");
  let root: Descriptor;
  let rootBytes: Buffer;
  if (Array.isArray(images)) {
    const built: BuiltImage[] = [];
    for (const image of images) built.push(await writeImage(dir, image));
    for (const b of built) await writeFile(join(dir, `${b.manifest.digest.slice(7)}.manifest.json`), b.bytes);
    const docker = images.every((i) => i.format === "docker");
    const indexMediaType = docker ? MediaTypes.dockerManifestList : MediaTypes.ociIndex;
    rootBytes = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: indexMediaType, manifests: built.map((b) => b.manifest) }),
    );
    root = {
      mediaType: indexMediaType,
      digest: `sha256:${createHash("sha256").update(rootBytes).digest("hex")}`,
      size: rootBytes.length,
    };
  } else {
    const built = await writeImage(dir, images);
    rootBytes = built.bytes;
    root = { mediaType: built.manifest.mediaType, digest: built.manifest.digest, size: built.manifest.size };
  }
  await writeFile(join(dir, "manifest.json"), rootBytes);
  return { dir, root };
}

export interface PushOptions {
  username?: string;
  password?: string;
}

/** skopeo copy --all --preserve-digests dir:<layout> docker://<host>/<repository>:<tag>, keeping every byte. */
export async function pushImage(
  host: string,
  repositoryAndTag: string,
  images: ImageSpec | ImageSpec[],
  options: PushOptions = {},
): Promise<PushedImage> {
  requireTool("skopeo");
  const { dir, root } = await writeLayout(images);
  try {
    await skopeo([
      "copy",
      "--all",
      "--preserve-digests",
      "--dest-tls-verify=false",
      ...(options.username ? ["--dest-creds", `${options.username}:${options.password}`] : []),
      `dir:${dir}`,
      `docker://${host}/${repositoryAndTag}`,
    ]);
    // skopeo skips foreign layers (a registry serves them from their URLs): push the ones a test wants in the registry.
    const foreign = (Array.isArray(images) ? images : [images])
      .flatMap((i) => i.layers)
      .filter((l) => l.foreign?.inRegistry);
    if (foreign.length) await pushForeignBlobs(host, repositoryAndTag, dir, options);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { digest: root.digest, reference: `${host}/${repositoryAndTag}` };
}

async function pushForeignBlobs(
  host: string,
  repositoryAndTag: string,
  dir: string,
  options: PushOptions,
): Promise<void> {
  const client = fixtureClient(host, options);
  const repository = repositoryAndTag.replace(/:[^:/]+$/, "");
  const manifests = [
    JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as {
      manifests?: Descriptor[];
      layers?: Descriptor[];
    },
  ];
  for (const child of manifests[0]!.manifests ?? [])
    manifests.push(JSON.parse(await readFile(join(dir, `${child.digest.slice(7)}.manifest.json`), "utf8")));
  for (const layer of manifests.flatMap((m) => m.layers ?? []).filter((l) => l.urls?.length)) {
    const data = await readFile(join(dir, layer.digest.slice(7))).catch(() => undefined);
    if (data && !(await client.blobExists(repository, layer.digest))) await client.uploadBlob(repository, layer, data);
  }
}

function fixtureClient(host: string, options: PushOptions): RegistryClient {
  return new RegistryClient(
    host,
    options.username
      ? { credential: { kind: "password", username: options.username, password: options.password ?? "" } }
      : {},
  );
}

export interface ArtifactSpec {
  /** Default: the OCI empty config (`application/vnd.oci.empty.v1+json`, `{}`), as for an artifact with `artifactType`. */
  config?: { mediaType: string; data: Buffer };
  artifactType?: string;
  layers: { mediaType: string; data: Buffer }[];
}

export interface PushedArtifact extends PushedImage {
  config: Descriptor;
  layers: Descriptor[];
}

/** Pushes an OCI artifact (an OCI image manifest whose config and layers are anything) with the registry client. */
export async function pushArtifact(
  host: string,
  repositoryAndTag: string,
  spec: ArtifactSpec,
  options: PushOptions = {},
): Promise<PushedArtifact> {
  const client = fixtureClient(host, options);
  const [repository, tag] = [
    repositoryAndTag.replace(/:[^:/]+$/, ""),
    /:([^:/]+)$/.exec(repositoryAndTag)?.[1] ?? "latest",
  ];
  const describe = (mediaType: string, data: Buffer): Descriptor => ({
    mediaType,
    digest: sha256Digest(data),
    size: data.length,
  });
  const configSpec = spec.config ?? { mediaType: "application/vnd.oci.empty.v1+json", data: Buffer.from("{}") };
  const config = describe(configSpec.mediaType, configSpec.data);
  const layers = spec.layers.map((l) => describe(l.mediaType, l.data));
  for (const [descriptor, data] of [
    [config, configSpec.data],
    ...layers.map((d, i) => [d, spec.layers[i]!.data] as const),
  ] as const) {
    if (!(await client.blobExists(repository, descriptor.digest)))
      await client.uploadBlob(repository, descriptor, data);
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    ...(spec.artifactType && { artifactType: spec.artifactType }),
    config,
    layers,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  await client.putManifest(repository, tag, MediaTypes.ociManifest, bytes);
  return { digest: sha256Digest(bytes), reference: `${host}/${repositoryAndTag}`, config, layers };
}

function sha256Digest(data: Buffer): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export async function skopeo(args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync("skopeo", args, { maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`skopeo ${args.slice(0, 1).join(" ")} failed: ${e.stderr?.trim() || e.message}`, { cause: error });
  }
}

/** A small image: two tiny gzip layers. */
export function smallImage(name = "hello"): ImageSpec {
  return {
    layers: [
      { files: { "etc/hello.txt": `hello from ${name}\n` } },
      { files: { "usr/share/doc/readme": "fixture\n" } },
    ],
  };
}
