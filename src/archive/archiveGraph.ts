// The second step of a restore and of a verification: the archive's graph (read by archiveEntries.ts) checked complete
// before any manifest is pushed. The root is index.json's first entry and in the archive; the archive is the file its
// sidecar describes (its sha256) and holds the digest it says; every manifest an index lists is in the archive (the
// walk of registry/manifestGraph.ts, with the archive as its source); the referrers the archive lists are consistent
// (referrersToPush); and every blob a manifest lists is in the archive, external (non-distributable: its URLs serve it,
// the manifest is pushed as it is), or already where the restore goes.
import { ArchiveError } from "../errors.js";
import { walkManifests, type ImageNode, type ManifestNode } from "../registry/manifestGraph.js";
import { isReferrerTag, referrersTag } from "../registry/referrers.js";
import { Annotations, type Descriptor } from "../registry/types.js";
import type { ArchiveContents } from "./archiveEntries.js";
import { isNonDistributable, type PlatformImage } from "./imagePlan.js";

export interface ArchivedReferrer {
  manifest: ManifestNode;
  /** The archive's descriptor of it: artifactType and its own annotations (ours, vnd.acr-cold-archive.*, removed). */
  descriptor: Descriptor;
  subject: string;
  /** Its subject's own `subject` field says so (pushing it indexes it on a registry with the referrers API). */
  hasSubjectField: boolean;
  /** A cosign legacy tag to push it under; else by digest. */
  tag?: string;
  /** An index referrer's manifests (image manifests, in the archive): pushed before it. */
  children: ImageNode[];
}

export interface ArchiveGraph {
  /** index.json's first entry. */
  root: ManifestNode;
  /** The image's manifests, each once, children first (the root last): the order a registry takes them. */
  manifests: ManifestNode[];
  /** Its image manifests with the platform their index lists, in the order the writer's plan met them. */
  images: PlatformImage[];
  /** The tags index.json records (its entries' `org.opencontainers.image.ref.name`). */
  recordedTags: string[];
  /** The referrers the archive lists, each after its subject. */
  referrers: ArchivedReferrer[];
  /** Non-distributable layers the archive does not hold, by the digest of the manifest that lists them. */
  external: Map<string, Descriptor[]>;
}

export interface CheckArchiveGraphOptions {
  /** What to call the archive in messages. */
  name: string;
  /** The archive file's sha256 (hex) its sidecar records: the file read must hash to it (DIGEST_MISMATCH). */
  archiveSha256?: string;
  /** The root digest the archive must hold (its sidecar's; DIGEST_MISMATCH). */
  expectedDigest?: string;
  /**
   * Where a blob the archive lacks may be already (a restore's target; `name` for messages). Absent: nowhere, so
   * every blob that is not external must be in the archive.
   */
  blobsElsewhere?: { name: string; has: (digest: string) => Promise<boolean> };
}

export async function checkArchiveGraph(
  contents: ArchiveContents,
  options: CheckArchiveGraphOptions,
): Promise<ArchiveGraph> {
  const { name } = options;
  const { manifests } = contents;
  const rootEntry = contents.index?.manifests?.[0];
  if (!rootEntry)
    throw new ArchiveError("ARCHIVE_INVALID", `${name} has no index.json entry: it is not an OCI image layout`);
  const root = manifests.get(rootEntry.digest);
  if (!root)
    throw new ArchiveError("ARCHIVE_INVALID", `${name} does not contain its root manifest ${rootEntry.digest}`);

  if (options.archiveSha256 !== undefined && contents.sha256 !== options.archiveSha256)
    throw new ArchiveError(
      "DIGEST_MISMATCH",
      `${name} hashes to sha256 ${contents.sha256}, its sidecar says ${options.archiveSha256}: the archive is not the one that was written`,
    );
  if (options.expectedDigest !== undefined && root.descriptor.digest !== options.expectedDigest)
    throw new ArchiveError(
      "DIGEST_MISMATCH",
      `${name} holds ${root.descriptor.digest}, not ${options.expectedDigest} as its sidecar says`,
    );

  const images: PlatformImage[] = [];
  const walk = await walkManifests(
    root,
    (child, parent) => {
      const found = manifests.get(child.digest);
      if (!found)
        throw new ArchiveError(
          "ARCHIVE_INVALID",
          `${name} lacks manifest ${child.digest}, listed by ${parent.descriptor.digest}`,
        );
      return found;
    },
    {
      // As the writer's plan collects them (imagePlan.ts), so that both choose the same default platform.
      onNode: (node, listedAs) => {
        if (node.kind !== "image") return;
        const platform = listedAs?.platform;
        images.push({
          ...(platform && { platform }),
          manifest: node.descriptor,
          config: node.config,
          layers: node.layers,
        });
      },
    },
  );
  const image = walk.childrenFirst;
  const referrers = referrersToPush(name, manifests, image, contents.referrersIndex);

  // Every blob a manifest names is in the archive, external, or already where it goes: checked before any manifest goes.
  const external = new Map<string, Descriptor[]>();
  for (const manifest of [...image, ...referrers.flatMap((r) => [...r.children, r.manifest])]) {
    const { digest } = manifest.descriptor;
    for (const blob of manifest.blobs) {
      if (contents.blobs.has(blob.digest)) continue;
      if (isNonDistributable(blob)) {
        external.set(digest, [...(external.get(digest) ?? []), blob]);
        continue;
      }
      const elsewhere = options.blobsElsewhere;
      if (elsewhere && (await elsewhere.has(blob.digest))) continue;
      throw new ArchiveError(
        "ARCHIVE_INVALID",
        `${name} lacks blob ${blob.digest}, listed by manifest ${digest}${elsewhere ? `, and ${elsewhere.name} does not have it` : ""}`,
      );
    }
  }

  const recordedTags = (contents.index?.manifests ?? [])
    .map((m) => m.annotations?.[Annotations.refName])
    .filter((t): t is string => !!t);
  return { root, manifests: image, images, recordedTags, referrers, external };
}

/**
 * The referrers the archive's index lists, checked before anything is pushed: each manifest is in the archive, its
 * subject is the image or a referrer listed before it (so it is pushed after its subject, and no cycle can be), its
 * `subject` field (when it has one) agrees, a cosign tag is that subject's, and an index referrer's manifests name no
 * subject outside the image and its referrers.
 */
function referrersToPush(
  name: string,
  manifests: ReadonlyMap<string, ManifestNode>,
  image: ManifestNode[],
  indexDigest: string | undefined,
): ArchivedReferrer[] {
  if (!indexDigest) return [];
  const index = manifests.get(indexDigest);
  if (!index) throw new ArchiveError("ARCHIVE_INVALID", `${name} lacks its referrers index ${indexDigest}`);
  const known = new Set(image.map((m) => m.descriptor.digest));
  // What an index referrer's manifest may name as its own subject: the image or any referrer the index lists.
  const graph = new Set([...known, ...index.children.map((d) => d.digest)]);
  const out: ArchivedReferrer[] = [];
  for (const listed of index.children) {
    const what = `referrer ${listed.digest} in ${name}`;
    const manifest = manifests.get(listed.digest);
    if (!manifest) throw new ArchiveError("ARCHIVE_INVALID", `${name} lacks referrer ${listed.digest}`);
    const annotations = listed.annotations ?? {};
    const subject = annotations[Annotations.referrerSubject];
    if (!subject || !known.has(subject))
      throw new ArchiveError("ARCHIVE_INVALID", `${what}: its subject ${subject ?? "(none)"} is not listed before it`);
    const stated = manifest.subject?.digest;
    if (stated !== undefined && stated !== subject)
      throw new ArchiveError("ARCHIVE_INVALID", `${what}: its subject is ${stated}, the archive says ${subject}`);
    const tag = annotations[Annotations.referrerTag];
    if (tag !== undefined && !(isReferrerTag(tag) && tag.startsWith(`${referrersTag(subject)}.`)))
      throw new ArchiveError("ARCHIVE_INVALID", `${what}: "${tag}" is not a cosign tag of ${subject}`);
    const own = Object.fromEntries(Object.entries(annotations).filter(([k]) => !k.startsWith("vnd.acr-cold-archive.")));
    const descriptor: Descriptor = {
      mediaType: manifest.descriptor.mediaType,
      digest: manifest.descriptor.digest,
      size: manifest.bytes.length,
      ...(listed.artifactType && { artifactType: listed.artifactType }),
      ...(Object.keys(own).length > 0 && { annotations: own }),
    };
    const children = manifest.children.map((child) => {
      const found = manifests.get(child.digest);
      if (!found)
        throw new ArchiveError("ARCHIVE_INVALID", `${name} lacks manifest ${child.digest}, listed by ${what}`);
      if (found.kind !== "image")
        throw new ArchiveError("UNSUPPORTED_MEDIA_TYPE", `${what} lists an index: one level of index referrers only`);
      // Pushed with a subject of another image, a registry with the referrers API would list it as that one's.
      const named = found.subject?.digest;
      if (named !== undefined && !graph.has(named))
        throw new ArchiveError(
          "REFERRER_GRAPH_INVALID",
          `manifest ${child.digest}, listed by ${what}: its subject ${named} is neither the image nor one of its referrers`,
        );
      return found;
    });
    out.push({ manifest, descriptor, subject, hasSubjectField: stated !== undefined, ...(tag && { tag }), children });
    known.add(manifest.descriptor.digest);
  }
  return out;
}
