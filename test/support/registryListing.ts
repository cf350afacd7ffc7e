// The images a run's filters select, found the way a run's listing pages find them (src/runs/listRunImages.ts: the
// catalog one page at a time, continued after a repository name; each selected repository through imageSelection),
// without the run's storage: for tests of what the listing selects.
import type { RegistryClient } from "../../src/registry/registryClient.js";
import type { RunFilters } from "../../src/runs/archiveRun.js";
import { imageSelection, type RegistryImageItem } from "../../src/runs/imageListing.js";

export async function listSelectedImages(
  client: RegistryClient,
  filters: RunFilters,
  now: Date,
): Promise<RegistryImageItem[]> {
  const selection = imageSelection(filters, now);
  const images: RegistryImageItem[] = [];
  let after: string | undefined;
  do {
    const page = await client.listRepositoryPage(after === undefined ? {} : { after });
    for (const repository of page.repositories.filter((r) => selection.includesRepository(r)))
      images.push(...(await selection.listRepository(client, repository, {})).images);
    after = page.next;
  } while (after !== undefined);
  return images;
}
