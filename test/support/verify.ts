// Independent checks of an archive: restore it from Archive tier (copy to an online tier, as a person would),
// `podman load` it, and push it with skopeo to another registry to compare digests.
import { execFile } from "node:child_process";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { createHash } from "node:crypto";
import { BlobServiceClient } from "@azure/storage-blob";
import { requireTool } from "../../tools/localenv/processes.js";
import { skopeo } from "../../tools/localenv/fixtures.js";

const execFileAsync = promisify(execFile);

/** Copies an Archive-tier blob to a Hot copy (Azurite rehydrates at once) and downloads it to a temp file. */
export async function restoreArchive(connectionString: string, container: string, blobName: string): Promise<{ path: string; dir: string }> {
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

export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

export async function gunzipFile(path: string): Promise<string> {
  const out = path.replace(/\.gz$/, "");
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
    const { stdout, stderr } = await execFileAsync("sh", ["-c", script, "sh", archivePath, root], { maxBuffer: 16 * 1024 * 1024 });
    return `${stdout}${stderr}`;
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(`podman load failed: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: error });
  } finally {
    await execFileAsync("sh", ["-c", `chmod -R u+w "$1" 2>/dev/null; rm -rf "$1"`, "sh", root]).catch(() => undefined);
  }
}

/**
 * Pushes the archive's OCI layout (`oci-archive:<tar>[:tag]`, all platforms) to another registry and returns
 * the digest the pushed manifest has there. A fresh registry per test avoids skopeo's blob-info cache.
 */
export async function pushArchive(archivePath: string, tag: string | undefined, destination: string): Promise<string> {
  requireTool("skopeo");
  const tarPath = await gunzipFile(archivePath);
  try {
    await skopeo(["copy", "--all", "--dest-tls-verify=false", `oci-archive:${tarPath}${tag ? `:${tag}` : ""}`, `docker://${destination}`]);
    const raw = await skopeoRaw(destination);
    return `sha256:${createHash("sha256").update(raw).digest("hex")}`;
  } finally {
    await rm(tarPath, { force: true });
  }
}

async function skopeoRaw(reference: string): Promise<Buffer> {
  const { stdout } = await execFileAsync("skopeo", ["inspect", "--raw", "--tls-verify=false", `docker://${reference}`], { encoding: "buffer", maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
