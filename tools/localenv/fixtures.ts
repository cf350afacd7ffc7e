// Test images without a container engine: write the image (layers, config, manifest, or an index for
// multi-arch) in skopeo's `dir:` layout and push it with `skopeo copy --all --preserve-digests`. The `dir:`
// layout keeps manifests as raw bytes of any media type; skopeo's `oci:` layout skips Docker-typed manifests.
// Layer content is generated: small files, incompressible random data, or compressible text.
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import zlib from "node:zlib";
import tar from "tar-stream";
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
}

export interface ImageSpec {
  layers: LayerSpec[];
  /** OCI (default) or Docker schema 2 media types. */
  format?: "oci" | "docker";
  /** The config's `created` (default 2024-01-01T00:00:00Z). */
  created?: string;
  platform?: Platform;
}

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
  const words = ["lorem", "ipsum", "registry", "manifest", "layer", "digest", "archive", "blob", "tier", "azure", "config", "function", "const", "return", "import", "export", "{", "}", "(", ")", ";", "\n"];
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

async function writeLayer(layoutDir: string, spec: LayerSpec, format: "oci" | "docker"): Promise<{ descriptor: Descriptor; diffId: string }> {
  const pack = tar.pack();
  const filling = (async () => {
    for (const [path, content] of Object.entries(spec.files ?? {})) {
      await new Promise<void>((resolve, reject) => pack.entry({ name: path, mode: 0o644, mtime: new Date(0) }, content, (e) => (e ? reject(e) : resolve())));
    }
    for (const [kind, size] of [["random", spec.randomBytes], ["text", spec.textBytes]] as const) {
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
  await Promise.all([filling, pipeline(Readable.from(pack as AsyncIterable<Buffer>), hashing(diff, false), ...stages, hashing(blob, true), createWriteStream(tmp))]);
  const hex = blob.digest("hex");
  await rename(tmp, join(layoutDir, hex));
  const mediaType = compression === "none" ? MediaTypes.ociLayer : format === "docker" ? MediaTypes.dockerLayerGzip : MediaTypes.ociLayerGzip;
  if (compression === "none" && format === "docker") throw new Error("Docker schema 2 has no uncompressed layer type in this fixture builder");
  return { descriptor: { mediaType, digest: `sha256:${hex}`, size }, diffId: `sha256:${diff.digest("hex")}` };
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
  return { manifest: { mediaType: manifestMediaType, digest: `sha256:${hex}`, size: bytes.length, platform }, layers, bytes };
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
    rootBytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: indexMediaType, manifests: built.map((b) => b.manifest) }));
    root = { mediaType: indexMediaType, digest: `sha256:${createHash("sha256").update(rootBytes).digest("hex")}`, size: rootBytes.length };
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
export async function pushImage(host: string, repositoryAndTag: string, images: ImageSpec | ImageSpec[], options: PushOptions = {}): Promise<PushedImage> {
  requireTool("skopeo");
  const { dir, root } = await writeLayout(images);
  try {
    await skopeo(["copy", "--all", "--preserve-digests", "--dest-tls-verify=false", ...(options.username ? ["--dest-creds", `${options.username}:${options.password}`] : []), `dir:${dir}`, `docker://${host}/${repositoryAndTag}`]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return { digest: root.digest, reference: `${host}/${repositoryAndTag}` };
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
  return { layers: [{ files: { "etc/hello.txt": `hello from ${name}\n` } }, { files: { "usr/share/doc/readme": "fixture\n" } }] };
}
