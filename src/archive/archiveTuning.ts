// How the worker writes an archive (from WorkerConfig): gzip level, upload blocks, registry read-ahead, referrer bounds.
// Its own module, shared by archiveImage.ts and refreshReferrers.ts.
import type { ReferrerLimits } from "../registry/referrers.js";

export interface ArchiveTuning {
  /** gzip level for what is not already compressed; compressed layers are stored. */
  gzipLevel: number;
  blockSizeBytes: number;
  uploadConcurrency: number;
  /** Blob GETs in flight at once (REGISTRY_CONCURRENCY); 1 reads one blob at a time. */
  registryConcurrency: number;
  /** Bytes read ahead of the archive at most, plus one part (PREFETCH_MIB). */
  prefetchBytes: number;
  /** Referrers archived with the image (REFERRERS_MAX_DEPTH, REFERRERS_MAX_COUNT); default DEFAULT_REFERRER_LIMITS. */
  referrers?: ReferrerLimits;
}
