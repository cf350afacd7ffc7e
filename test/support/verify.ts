// Independent checks of an archive: restore it from Archive tier (copy to an online tier, as a person would),
// `podman load` it, and push it with skopeo to another registry to compare digests.
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { BlobServiceClient } from "@azure/storage-blob";
import { requireTool } from "../../tools/localenv/processes.js";
import { skopeo } from "../../tools/localenv/fixtures.js";
import { sha256Digest } from "./digests.js";

const execFileAsync = promisify(execFile);

/** Copies an Archive-tier blob to a Hot copy (Azurite rehydrates at once) and downloads it to a temp file. */
export async function restoreArchive(
  connectionString: string,
  container: string,
  blobName: string,
): Promise<{ path: string; dir: string }> {
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const containerClient = service.getContainerClient(container);
  const source = containerClient.getBlockBlobClient(blobName);
  const copy = containerClient.getBlockBlobClient(`restored/${blobName}`);
  const poller = await copy.beginCopyFromURL(source.url, { tier: "Hot", rehydratePriority: "High" });
  await poller.pollUntilDone();
  const dir = await mkdtemp(join(tmpdir(), "restore-"));
  const path = join(dir, "image.tar.gz");
  await copy.downloadToFile(path);
  await copy.delete();
  return { path, dir };
}

export async function gunzipFile(path: string, out = path.replace(/\.gz$/, "")): Promise<string> {
  await pipeline(createReadStream(path), zlib.createGunzip(), createWriteStream(out));
  return out;
}

/** `zcat archive | podman load` in a throwaway vfs store; returns podman's output ("Loaded image: …"). */
export async function podmanLoad(archivePath: string): Promise<string> {
  requireTool("podman");
  requireTool("zcat", "apt-get install gzip");
  const root = await mkdtemp(join(tmpdir(), "podman-"));
  try {
    const script = `zcat "$1" | podman --root "$2/root" --runroot "$2/run" --storage-driver vfs --cgroup-manager cgroupfs --events-backend none load`;
    const { stdout, stderr } = await execFileAsync("sh", ["-c", script, "sh", archivePath, root], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`podman load failed: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: error });
  } finally {
    await execFileAsync("sh", ["-c", `chmod -R u+w "$1" 2>/dev/null; rm -rf "$1"`, "sh", root]).catch(() => undefined);
  }
}

/**
 * Restores the archive into another registry with skopeo (`copy --all --preserve-digests`) and returns the digest the
 * pushed root has there. OCI-typed roots go through `oci-archive:` (the documented restore); skopeo 1.9's OCI-layout
 * reader skips Docker-typed descriptors, so Docker-typed roots are unpacked into skopeo's `dir:` layout (root manifest
 * as manifest.json, child manifests as <hex>.manifest.json, blobs as <hex>) straight from the archive's bytes.
 * A fresh registry per test avoids skopeo's blob-info cache.
 */
export async function pushArchive(archivePath: string, destination: string): Promise<string> {
  requireTool("skopeo");
  const contents = await readArchive(archivePath);
  const root = contents.index.manifests[0]!;
  const ociTyped = root.mediaType.startsWith("application/vnd.oci.");
  const work = await mkdtemp(join(tmpdir(), "push-"));
  try {
    let source: string;
    if (ociTyped) {
      source = `oci-archive:${await gunzipFile(archivePath, join(work, "image.tar"))}`;
    } else {
      await unpackToDirLayout(archivePath, work, root.digest);
      source = `dir:${work}`;
    }
    await skopeo(["copy", "--all", "--preserve-digests", "--dest-tls-verify=false", source, `docker://${destination}`]);
    const raw = await skopeoRaw(destination);
    return sha256Digest(raw);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function unpackToDirLayout(archivePath: string, dir: string, rootDigest: string): Promise<void> {
  const { default: tar } = await import("tar-stream");
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name;
      if (entry.header.type !== "file" || !name.startsWith("blobs/sha256/")) {
        entry.resume();
        continue;
      }
      await pipeline(
        entry as unknown as NodeJS.ReadableStream,
        createWriteStream(join(dir, name.slice("blobs/sha256/".length))),
      );
    }
  })();
  createReadStream(archivePath)
    .pipe(zlib.createGunzip())
    .pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  const rootHex = rootDigest.slice("sha256:".length);
  const rootBytes = await readFile(join(dir, rootHex));
  await writeFile(join(dir, "manifest.json"), rootBytes);
  const parsed = JSON.parse(rootBytes.toString("utf8")) as { manifests?: { digest: string }[] };
  for (const child of parsed.manifests ?? []) {
    const hex = child.digest.slice("sha256:".length);
    await writeFile(join(dir, `${hex}.manifest.json`), await readFile(join(dir, hex)));
  }
  await writeFile(join(dir, "version"), "Directory Transport Version: 1.1\n");
}

async function skopeoRaw(reference: string): Promise<Buffer> {
  const { stdout } = await execFileAsync(
    "skopeo",
    ["inspect", "--raw", "--tls-verify=false", `docker://${reference}`],
    { encoding: "buffer", maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

export interface ArchiveContents {
  /** Entry name → sha256 hex of its bytes. */
  entries: Map<string, string>;
  ociLayout: unknown;
  index: { manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string> }[] };
  manifest: { Config: string; RepoTags: string[]; Layers: string[] }[];
}

/** Reads a .tar.gz archive with tar-stream (an independent reader) and hashes every entry. */
export async function readArchive(path: string): Promise<ArchiveContents> {
  const { default: tar } = await import("tar-stream");
  const extract = tar.extract();
  const entries = new Map<string, string>();
  const json = new Map<string, unknown>();
  const source = createReadStream(path).pipe(zlib.createGunzip());
  const done = (async () => {
    for await (const entry of extract) {
      const hash = createHash("sha256");
      const keep: Buffer[] = [];
      const name = entry.header.name;
      for await (const chunk of entry) {
        hash.update(chunk as Buffer);
        if (!name.startsWith("blobs/")) keep.push(chunk as Buffer);
      }
      if (entry.header.type === "file") entries.set(name, hash.digest("hex"));
      if (!name.startsWith("blobs/")) json.set(name, JSON.parse(Buffer.concat(keep).toString("utf8")));
    }
  })();
  source.pipe(extract as unknown as NodeJS.WritableStream);
  await done;
  return {
    entries,
    ociLayout: json.get("oci-layout"),
    index: json.get("index.json") as ArchiveContents["index"],
    manifest: json.get("manifest.json") as ArchiveContents["manifest"],
  };
}
