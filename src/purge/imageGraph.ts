// An image's own manifests as a purge needs them: the root and every manifest under it (an index's platform manifests,
// nested ones), each with the manifests it lists and its config and layers, from one walk of the registry
// (registry/manifestGraph.ts). Read before the brown-out and kept in its record: a browned-out root refuses every read,
// and a digest's graph never changes (the bytes are the digest), so the record is the graph for good.
import { z } from "zod";
import { isSha256Digest } from "../registry/digest.js";
import { manifestNodeOf, walkManifests } from "../registry/manifestGraph.js";
import type { OperationOptions, RegistryClient } from "../registry/registryClient.js";

export interface ImageGraphManifest {
  digest: string;
  mediaType: string;
  size: number;
  /** The manifests it lists (an index); none for an image manifest. */
  children: string[];
  /** Its config and layers (an image manifest), as its descriptors state them; none for an index. */
  blobs: { digest: string; size: number }[];
}

export interface ImageGraph {
  /** Each manifest once, parents first: the root first. */
  manifests: ImageGraphManifest[];
}

const digest = z.string().refine(isSha256Digest, "must be a sha256 digest");
const size = z.number().int().min(0);

/** An ImageGraph as a record keeps it (validated when read back: a record is data, not a command). */
export const imageGraphSchema = z.strictObject({
  manifests: z
    .array(
      z.strictObject({
        digest,
        mediaType: z.string().max(256),
        size,
        children: z.array(digest).max(10_000),
        blobs: z.array(z.strictObject({ digest, size })).max(100_000),
      }),
    )
    .min(1)
    .max(10_000),
});

/** Walks the image's graph in the registry (the root must be readable: not browned out). */
export async function readImageGraph(
  client: RegistryClient,
  repository: string,
  rootDigest: string,
  options: OperationOptions = {},
): Promise<ImageGraph> {
  const read = async (digestToRead: string) =>
    manifestNodeOf(await client.getManifest(repository, digestToRead, options), {
      what: `manifest ${repository}@${digestToRead}`,
      invalid: "UNSUPPORTED_MEDIA_TYPE",
    });
  const walk = await walkManifests(await read(rootDigest), (listed) => read(listed.digest));
  return {
    manifests: walk.parentsFirst.map((node) => ({
      digest: node.descriptor.digest,
      mediaType: node.descriptor.mediaType,
      size: node.descriptor.size,
      children: node.children.map((c) => c.digest),
      blobs: node.blobs.map((b) => ({ digest: b.digest, size: b.size })),
    })),
  };
}

/** The root's digest. */
export function graphRoot(graph: ImageGraph): string {
  return graph.manifests[0]!.digest;
}
