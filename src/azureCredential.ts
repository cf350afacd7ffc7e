// DefaultAzureCredential, loaded on first use. Importing @azure/identity (with MSAL) costs 0.3–0.8 s of CPU here, and
// every worker start paid it even with a connection string and an anonymous registry; for a small image that was a
// third of the job's time.
import type { TokenCredential } from "@azure/identity";

export function lazyDefaultAzureCredential(): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    async getToken(scopes, options) {
      credential ??= import("@azure/identity").then(({ DefaultAzureCredential }) => new DefaultAzureCredential());
      return (await credential).getToken(scopes, options);
    },
  };
}
