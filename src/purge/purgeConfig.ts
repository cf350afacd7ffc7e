// What the deployment allows a purge (src/config.ts maps PURGE_ENABLED, PURGE_GRACE and PURGE_MAX_IMAGES into it): read
// from the app's own settings where the registry is changed, never from a request or an orchestration input.
export interface PurgeConfig {
  /** PURGE_ENABLED: without it nothing is browned out, deleted or recorded. */
  enabled: boolean;
  /** PURGE_GRACE in seconds: a brown-out's wait before the delete (0: delete at once, no brown-out). */
  graceSeconds: number;
  /** PURGE_MAX_IMAGES: candidates one run may have. */
  maxImages: number;
}
