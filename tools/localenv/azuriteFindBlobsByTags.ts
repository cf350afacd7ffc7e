// Loaded into Azurite with `node --import` by startAzurite (tests and benchmark alike): makes Find Blobs by Tags page
// as Azure does. Azurite 3.35 reads `maxresults` blobs of the container (by name, after the marker), keeps those whose
// tags match, and ends the listing unless that filled the page: where fewer than `maxresults` of the next
// `maxresults` blobs match (sidecars, tag markers and run records sit between archives), it answers a truncated list
// with no continuation, and a page that did fill resumes at a wrong offset. Here the blobs after the marker are
// scanned in name order until `maxresults` match, and the marker is the last blob returned while any is left to scan,
// which is Azure's contract (a page may hold fewer, even none, and still continue). Nothing else of Azurite changes:
// the expression is parsed and matched by Azurite's own interpreter.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

interface BlobDoc {
  name: string;
  containerName: string;
  snapshot?: string;
  blobTags?: unknown;
}
interface Collection {
  chain(): {
    find(q: unknown): { where(f: (d: BlobDoc) => boolean): { simplesort(k: string): { data(): BlobDoc[] } } };
  };
}
interface Store {
  db: { getCollection(name: string): Collection };
  BLOBS_COLLECTION: string;
  checkContainerExist(context: unknown, account: string, container: string): Promise<void>;
}
type TagFilter = (item: { name: string; containerName: string; tags: unknown }) => { key: string; value: string }[];

const azuriteMain = fileURLToPath(new URL("../../../node_modules/azurite/dist/src/blob/main.js", import.meta.url));
const require = createRequire(azuriteMain);
const { default: LokiBlobMetadataStore } = require("./persistence/LokiBlobMetadataStore.js") as {
  default: { prototype: Record<string, unknown> };
};
const { generateQueryBlobWithTagsWhereFunction } = require("./persistence/QueryInterpreter/QueryInterpreter.js") as {
  generateQueryBlobWithTagsWhereFunction: (context: unknown, where: string | undefined) => TagFilter;
};
const { toBlobTags } = require("./utils/utils.js") as {
  toBlobTags: (tags: { key: string; value: string }[]) => unknown;
};
const { DEFAULT_LIST_BLOBS_MAX_RESULTS } = require("./utils/constants.js") as {
  DEFAULT_LIST_BLOBS_MAX_RESULTS: number;
};

if (typeof LokiBlobMetadataStore.prototype.filterBlobs !== "function")
  throw new Error("azuriteFindBlobsByTags: Azurite's LokiBlobMetadataStore has no filterBlobs to replace");

LokiBlobMetadataStore.prototype.filterBlobs = async function filterBlobs(
  this: Store,
  context: unknown,
  account: string,
  container: string | undefined,
  where: string | undefined,
  maxResults: number = DEFAULT_LIST_BLOBS_MAX_RESULTS,
  marker = "",
): Promise<[unknown[], string]> {
  const query: Record<string, string> = { accountName: account };
  if (container !== undefined) {
    query.containerName = container;
    await this.checkContainerExist(context, account, container);
  }
  const matches = generateQueryBlobWithTagsWhereFunction(context, where);
  const docs = this.db
    .getCollection(this.BLOBS_COLLECTION)
    .chain()
    .find(query)
    .where((d) => d.name > (marker ?? "") && (d.snapshot === undefined || d.snapshot === ""))
    .simplesort("name")
    .data();
  const page: unknown[] = [];
  for (let i = 0; i < docs.length; i++) {
    const doc = docs[i]!;
    const matched = matches({ name: doc.name, containerName: doc.containerName, tags: doc.blobTags });
    if (matched.length === 0) continue;
    page.push({ name: doc.name, containerName: doc.containerName, tags: { blobTagSet: toBlobTags(matched) } });
    if (page.length === maxResults) return [page, i + 1 < docs.length ? doc.name : ""];
  }
  return [page, ""];
};
