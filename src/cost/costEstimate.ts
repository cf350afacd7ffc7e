// The cost report's arithmetic, and nothing else (no I/O): what archived bytes cost a month in Archive tier, when an
// archive may be deleted without Archive tier's early-deletion charge, what a restore's retrieval costs at either
// rehydrate priority, and what deleting images from a registry saves, which is nothing inside its SKU's included
// storage. Every figure is an estimate from list prices the deployment sets (src/config.ts COST_* settings), and says
// so: `estimate: true`, the currency, and where the prices came from travel with every cost object.

/** Bytes in a GiB: Azure bills storage and ACR counts its included storage in binary gigabytes. */
export const GIB = 1024 ** 3;
/** Archive tier's minimum storage duration: deleting (or re-tiering) earlier is charged the rest of the 180 days. */
export const ARCHIVE_MINIMUM_DAYS = 180;
/** A month of a per-day price: ACR bills its extra storage per GiB a day. */
export const DAYS_PER_MONTH = 30;
/** ACR's included storage per SKU (Azure Container Registry service tiers: 10 / 100 / 500 GiB). */
export const REGISTRY_INCLUDED_GIB = { Basic: 10, Standard: 100, Premium: 500 } as const;
export type RegistrySku = keyof typeof REGISTRY_INCLUDED_GIB;

export type RehydratePriority = "Standard" | "High";

/** List prices, and where they are from (the README names the source; the settings override each). */
export interface PriceSheet {
  currency: string;
  /** Region and redundancy the storage prices are for (Archive tier: LRS, GRS or RA-GRS only). */
  region: string;
  redundancy: string;
  /** The date the prices were read (YYYY-MM-DD). */
  readOn: string;
  /** Where they were read. */
  source: string;
  /** Archive tier capacity, per GiB a month. */
  archivePerGibMonth: number;
  /** Archive tier data retrieval, per GiB, by rehydrate priority. */
  retrievalPerGib: Record<RehydratePriority, number>;
  /** Archive tier read operations (the copy out of Archive), per 10,000, by rehydrate priority. */
  archiveReadsPer10k: Record<RehydratePriority, number>;
  /** ACR storage above the SKU's included storage, per GiB a day. */
  registryStoragePerGibDay: number;
}

/**
 * The defaults: pay-as-you-go list prices, US dollars, East US, LRS. Archive capacity $0.00099 per GB-month, retrieval
 * $0.02 per GB (High priority $0.10), read operations $5.00 per 10,000 (High priority $50.00): the sample prices of
 * Microsoft's "Estimate the cost of archiving data" (azure-docs, articles/storage/blobs/archive-cost-estimation.md),
 * which that page calls examples (its capacity figure is also the East US LRS list price a third-party transcription
 * of the price page gives; that transcription has $0.022 for retrieval); ACR storage above the included amount $0.003
 * per GB a day (azure-management-docs, articles/container-registry/container-registry-skus.md). Read 2026-12-03 from
 * those documents, not from the live price pages: the COST_* settings are there to set a region's real prices.
 */
export const DEFAULT_PRICES: PriceSheet = {
  currency: "USD",
  region: "eastus",
  redundancy: "LRS",
  readOn: "2026-12-03",
  source:
    "Microsoft Learn: 'Estimate the cost of archiving data' (Blob Storage sample prices) and 'Azure Container Registry service tiers'",
  archivePerGibMonth: 0.00099,
  retrievalPerGib: { Standard: 0.02, High: 0.1 },
  archiveReadsPer10k: { Standard: 5, High: 50 },
  registryStoragePerGibDay: 0.003,
};

/** What every cost object carries: it is an estimate, in this currency, from these prices. */
export interface EstimateBasis {
  estimate: true;
  currency: string;
  prices: { region: string; redundancy: string; readOn: string; source: string };
}

export function estimateBasis(prices: PriceSheet): EstimateBasis {
  const { currency, region, redundancy, readOn, source } = prices;
  return { estimate: true, currency, prices: { region, redundancy, readOn, source } };
}

/** Money rounded for a report: to 1/100 of a cent (an archive of a few MiB costs a fraction of a cent a month). */
export function money(amount: number): number {
  return Math.round(amount * 10_000) / 10_000;
}

/** What `bytes` cost a month in Archive tier. */
export function archivePerMonth(bytes: number, prices: PriceSheet): number {
  return money((bytes / GIB) * prices.archivePerGibMonth);
}

/** The first moment an archive committed at `archivedAt` may be deleted without the early-deletion charge. */
export function earlyDeletionFreeFrom(archivedAt: Date): Date {
  return new Date(archivedAt.getTime() + ARCHIVE_MINIMUM_DAYS * 24 * 60 * 60 * 1000);
}

/** The estimated retrieval of `blobs` archives of `bytes` in all, at each priority, and at the one chosen. */
export interface RetrievalEstimate {
  bytes: number;
  blobs: number;
  Standard: number;
  High: number;
  priority: RehydratePriority;
  /** The cost at `priority`. */
  chosen: number;
}

/** Data retrieval per GiB plus one Archive read operation per blob copied out, at either priority. */
export function retrievalEstimate(
  input: { bytes: number; blobs: number; priority: RehydratePriority },
  prices: PriceSheet,
): RetrievalEstimate {
  const at = (p: RehydratePriority) =>
    money((input.bytes / GIB) * prices.retrievalPerGib[p] + (input.blobs * prices.archiveReadsPer10k[p]) / 10_000);
  const Standard = at("Standard");
  const High = at("High");
  return {
    bytes: input.bytes,
    blobs: input.blobs,
    Standard,
    High,
    priority: input.priority,
    chosen: at(input.priority),
  };
}

/** A registry's storage as far as it is known: its SKU's included storage and what it uses. */
export interface RegistryStorage {
  /** `arm`: read from Azure Resource Manager; `setting`: REGISTRY_SKU; `unknown`: neither could tell. */
  source: "arm" | "setting" | "unknown";
  sku?: string;
  includedBytes?: number;
  usedBytes?: number;
  /** Why it is unknown or partial (ARM not reachable, not an ACR, …). */
  note?: string;
}

/**
 * What deleting `freedBytes` from a registry saves a month: only what falls above the SKU's included storage is billed,
 * so the saving is the drop in billed storage, `max(0, used − included) − max(0, used − freed − included)`. A registry
 * inside its allowance is told "no saving" whatever is deleted; without its usage the saving is unknown (at most what
 * the freed bytes would cost above the allowance).
 */
export type RegistrySaving =
  | { status: "saving"; freedBytes: number; billedBytesBefore: number; billedBytesAfter: number; perMonth: number }
  | { status: "none"; freedBytes: number; reason: string; perMonth: 0 }
  | { status: "unknown"; freedBytes: number; reason: string; atMostPerMonth: number };

export function registrySaving(freedBytes: number, storage: RegistryStorage, prices: PriceSheet): RegistrySaving {
  const perMonth = (bytes: number) => money((bytes / GIB) * prices.registryStoragePerGibDay * DAYS_PER_MONTH);
  if (freedBytes <= 0)
    return { status: "none", freedBytes: 0, reason: "nothing was deleted from the registry", perMonth: 0 };
  const { includedBytes, usedBytes } = storage;
  if (includedBytes === undefined || usedBytes === undefined)
    return {
      status: "unknown",
      freedBytes,
      reason: `the registry's ${includedBytes === undefined ? "included storage" : "usage"} is not known${storage.note ? ` (${storage.note})` : ""}: nothing is saved while it stays within its included storage`,
      atMostPerMonth: perMonth(freedBytes),
    };
  const billedBytesBefore = Math.max(0, usedBytes - includedBytes);
  const billedBytesAfter = Math.max(0, usedBytes - freedBytes - includedBytes);
  if (billedBytesBefore === billedBytesAfter)
    return {
      status: "none",
      freedBytes,
      reason: `the registry uses ${gib(usedBytes)} GiB of the ${gib(includedBytes)} GiB its SKU includes: storage inside the allowance costs nothing extra, so deleting saves nothing`,
      perMonth: 0,
    };
  return {
    status: "saving",
    freedBytes,
    billedBytesBefore,
    billedBytesAfter,
    perMonth: perMonth(billedBytesBefore - billedBytesAfter),
  };
}

/** A registry's standing against its allowance: what it pays for storage above it today. */
export interface RegistryAllowance {
  storage: RegistryStorage;
  /** Bytes above the included storage (0 inside it); undefined when not known. */
  aboveIncludedBytes?: number;
  /** What those bytes cost a month; undefined when not known. */
  extraStoragePerMonth?: number;
  /** One sentence: inside the allowance (deleting saves nothing), above it by how much, or unknown. */
  summary: string;
}

export function registryAllowance(storage: RegistryStorage, prices: PriceSheet): RegistryAllowance {
  const { includedBytes, usedBytes } = storage;
  if (includedBytes === undefined || usedBytes === undefined)
    return {
      storage,
      summary: `the registry's storage against its included amount is not known${storage.note ? ` (${storage.note})` : ""}: a purge's saving cannot be told`,
    };
  const above = Math.max(0, usedBytes - includedBytes);
  const extra = money((above / GIB) * prices.registryStoragePerGibDay * DAYS_PER_MONTH);
  return {
    storage,
    aboveIncludedBytes: above,
    extraStoragePerMonth: extra,
    summary:
      above === 0
        ? `inside its allowance (${gib(usedBytes)} of ${gib(includedBytes)} GiB included): deleting images from it saves nothing`
        : `${gib(above)} GiB above the ${gib(includedBytes)} GiB its SKU includes: deleting up to that much saves up to ${extra} ${prices.currency} a month (estimate)`,
  };
}

function gib(bytes: number): string {
  return (bytes / GIB).toFixed(2);
}

// ---- what a run's summary says (runs/runSummary.ts, runs/restoreSummary.ts) ----------------------------------------

/** An archive run's cost report. */
export interface ArchiveRunCost extends EstimateBasis {
  /** What this run archived (new archives; a dry run archives nothing). */
  archived: { bytes: number; archivePerMonth: number; earlyDeletionFreeFrom?: string };
  /** What the run's selection has archived in all: this run's archives and those archived before. */
  held: { bytes: number; archivePerMonth: number };
  /** An archive run deletes nothing from the registry: its saving is the purge's (issue 23), reported there. */
  registrySaving: RegistrySaving;
}

/**
 * `earlyDeletionFreeFrom`: every archive this run committed was committed before it ended, so from its end plus 180
 * days none of them is charged for early deletion (the catalog has each archive's own date).
 */
export function archiveRunCost(
  input: { archivedBytes: number; heldBytes: number; endedAt: Date },
  prices: PriceSheet,
): ArchiveRunCost {
  return {
    ...estimateBasis(prices),
    archived: {
      bytes: input.archivedBytes,
      archivePerMonth: archivePerMonth(input.archivedBytes, prices),
      ...(input.archivedBytes > 0 && { earlyDeletionFreeFrom: earlyDeletionFreeFrom(input.endedAt).toISOString() }),
    },
    held: { bytes: input.heldBytes, archivePerMonth: archivePerMonth(input.heldBytes, prices) },
    registrySaving: registrySaving(0, { source: "unknown" }, prices),
  };
}

/** A restore run's cost report: the retrieval of the archives it rehydrated (a dry run: would rehydrate). */
export interface RestoreRunCost extends EstimateBasis {
  retrieval: RetrievalEstimate;
  /** What the estimate leaves out. */
  note: string;
}

export function restoreRunCost(
  input: { bytes: number; archives: number; priority: RehydratePriority },
  prices: PriceSheet,
): RestoreRunCost {
  return {
    ...estimateBasis(prices),
    retrieval: retrievalEstimate({ bytes: input.bytes, blobs: input.archives, priority: input.priority }, prices),
    note: "archives only (their referrers supplements, if any, add their own small retrieval); an archive whose staging copy an earlier restore left is not rehydrated again and costs no retrieval; the read of the Hot staging copy and its storage until it is deleted are not included",
  };
}
