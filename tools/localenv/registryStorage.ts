// What Debian's docker-registry (CNCF distribution 2.8) holds, read from its filesystem storage on this machine: the
// repositories, each repository's manifests (revision links) and tags (current links), with the times the registry
// wrote those links, and blob bytes. Plus the two changes distribution's storage layer makes but 2.8's HTTP API does
// not offer: untag (distribution's own tag store removes the tag's directory, `_manifests/tags/<tag>`) and removing a
// repository (its `_manifests`, `_layers` and `_uploads`; blobs stay for the garbage collector, as after any delete).
// The registry reads these links on every request (no tag cache is configured), so a change here is the registry's state.
// Every name is checked against distribution's grammar before it becomes a path: nothing outside the storage is reached.
import { readdir, readFile, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";

/** Distribution's repository name grammar: lowercase path components joined by `/` (no `..`, no `_manifests`). */
export const REPOSITORY_NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
export const TAG_NAME = /^\w[\w.-]{0,127}$/;
export const SHA256_DIGEST = /^sha256:[a-f0-9]{64}$/;
// Distribution caps repository names at 255 characters.
const MAX_REPOSITORY_NAME_LENGTH = 255;

export const isRepositoryName = (name: string) =>
  name.length <= MAX_REPOSITORY_NAME_LENGTH && REPOSITORY_NAME.test(name);

export interface StoredManifest {
  digest: string;
  /** When the registry last wrote the manifest's revision link (its push; a re-push writes it again). */
  linkedAt: Date;
}

export interface StoredTag {
  name: string;
  digest: string;
  /** When the registry last wrote the tag's current link (each push of the tag). */
  linkedAt: Date;
}

export class RegistryStorage {
  private readonly v2: string;

  /** `rootDirectory`: the registry's `storage.filesystem.rootdirectory`. */
  constructor(rootDirectory: string) {
    this.v2 = join(rootDirectory, "docker/registry/v2");
  }

  /** Every repository the registry has a manifest store for, sorted (as `/v2/_catalog` walks them). */
  async repositoryNames(): Promise<string[]> {
    const names: string[] = [];
    const walk = async (relative: string): Promise<void> => {
      const entries = await readdir(join(this.v2, "repositories", relative), { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (!entry.isDirectory()) continue;
        if (entry.name === "_manifests" && relative) names.push(relative);
        else if (!entry.name.startsWith("_")) await walk(relative ? `${relative}/${entry.name}` : entry.name);
      }
    };
    await walk("");
    return names.filter(isRepositoryName).sort();
  }

  /** The repository's manifests (those whose revision link is still there: a deleted manifest's link is removed). */
  async manifests(repository: string): Promise<StoredManifest[]> {
    const revisions = join(this.manifestStore(repository), "revisions/sha256");
    const manifests: StoredManifest[] = [];
    for (const hex of await readdir(revisions).catch(() => [] as string[])) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      const linked = await stat(join(revisions, hex, "link")).catch(() => undefined);
      if (linked) manifests.push({ digest: `sha256:${hex}`, linkedAt: linked.mtime });
    }
    return manifests;
  }

  async manifest(repository: string, digest: string): Promise<StoredManifest | undefined> {
    if (!SHA256_DIGEST.test(digest)) return undefined;
    const linked = await stat(join(this.manifestStore(repository), "revisions/sha256", digest.slice(7), "link")).catch(
      () => undefined,
    );
    return linked && { digest, linkedAt: linked.mtime };
  }

  /** The repository's tags and the digest each points at now. */
  async tags(repository: string): Promise<StoredTag[]> {
    const tags: StoredTag[] = [];
    for (const name of await readdir(join(this.manifestStore(repository), "tags")).catch(() => [] as string[])) {
      const tag = await this.tag(repository, name);
      if (tag) tags.push(tag);
    }
    return tags;
  }

  async tag(repository: string, name: string): Promise<StoredTag | undefined> {
    if (!TAG_NAME.test(name)) return undefined;
    const link = join(this.manifestStore(repository), "tags", name, "current/link");
    try {
      const [digest, linked] = await Promise.all([readFile(link, "utf8"), stat(link)]);
      return SHA256_DIGEST.test(digest.trim()) ? { name, digest: digest.trim(), linkedAt: linked.mtime } : undefined;
    } catch {
      return undefined;
    }
  }

  /** A blob's bytes, or undefined if the registry does not have it or it is larger than `maxBytes`. */
  async readBlob(digest: string, maxBytes: number): Promise<Buffer | undefined> {
    if (!SHA256_DIGEST.test(digest)) return undefined;
    const hex = digest.slice(7);
    const path = join(this.v2, "blobs/sha256", hex.slice(0, 2), hex, "data");
    const size = await stat(path).then(
      (s) => s.size,
      () => undefined,
    );
    if (size === undefined || size > maxBytes) return undefined;
    return readFile(path);
  }

  /** Removes a tag as distribution's tag store does (its directory); the manifest stays. False if it was not there. */
  async untag(repository: string, name: string): Promise<boolean> {
    if (!(await this.tag(repository, name))) return false;
    await rm(join(this.manifestStore(repository), "tags", name), { recursive: true, force: true });
    return true;
  }

  /**
   * Removes a repository: its manifests, tags, layer links and uploads. Repositories nested under its name
   * (`a/b` under `a`) are other repositories and stay.
   */
  async removeRepository(repository: string): Promise<void> {
    const dir = this.repositoryDirectory(repository);
    for (const part of ["_manifests", "_layers", "_uploads"])
      await rm(join(dir, part), { recursive: true, force: true });
    // Empty parent directories go too, so that the name is gone from /v2/_catalog's walk; a non-empty one stays.
    const components = repository.split("/");
    for (let i = components.length; i > 0; i--) {
      const removed = await rmdir(join(this.v2, "repositories", ...components.slice(0, i))).then(
        () => true,
        () => false,
      );
      if (!removed) break;
    }
  }

  private repositoryDirectory(repository: string): string {
    if (!isRepositoryName(repository)) throw new Error(`not a repository name: ${JSON.stringify(repository)}`);
    return join(this.v2, "repositories", repository);
  }

  private manifestStore(repository: string): string {
    return join(this.repositoryDirectory(repository), "_manifests");
  }
}
