// Turns validated registry settings into the registry client for one login server.
import { lazyDefaultAzureCredential } from "../azureCredential.js";
import type { RegistryCredential } from "./auth.js";
import { RegistryClient } from "./registryClient.js";
import { RequestBudget, type RetryPolicy } from "./transport.js";
import { TOOL } from "../version.js";

/** How to authenticate to registries (REGISTRY_AUTH, ACR_USERNAME/ACR_PASSWORD/ACR_LOGIN_SERVER). */
export type RegistryAuthConfig =
  /** Entra ID for *.azurecr.io, anonymous elsewhere. */
  | { kind: "auto" }
  | { kind: "anonymous" }
  /** Offered to `loginServer` only. */
  | { kind: "password"; username: string; password: string; loginServer: string }
  | { kind: "entra" };

export interface RegistryAccess {
  auth: RegistryAuthConfig;
  insecure: boolean;
  retry?: RetryPolicy;
  /** Each registry's read budget in this process (REGISTRY_READS_PER_MINUTE); 0 or absent: none. */
  readsPerMinute?: number;
  /** A blob read's connection may be silent this long (REGISTRY_IDLE_TIMEOUT_SECONDS); absent: the client's default. */
  idleTimeoutMs?: number;
}

const ACR_HOST = /\.azurecr\.(io|cn|us)$/i;

/**
 * The credential for one registry. A password goes to the one host it was configured for (ACR_LOGIN_SERVER), whatever
 * registry a request or a forged orchestration input names; other hosts get what `auto` gives them. An Entra ID token
 * goes only to ACR hosts (their /oauth2/exchange is ACR's own): sent to any other host that asked for it, it would be
 * a token for every ACR the identity may read.
 */
export function registryCredentialFor(registry: string, auth: RegistryAuthConfig): RegistryCredential {
  switch (auth.kind) {
    case "password":
      if (registry.toLowerCase() === auth.loginServer.toLowerCase())
        return { kind: "password", username: auth.username, password: auth.password };
      return acrOrAnonymous(registry);
    case "entra":
    case "auto":
      return acrOrAnonymous(registry);
    case "anonymous":
      return { kind: "anonymous" };
  }
}

function acrOrAnonymous(registry: string): RegistryCredential {
  return ACR_HOST.test(registry)
    ? { kind: "entra", tokenCredential: lazyDefaultAzureCredential() }
    : { kind: "anonymous" };
}

/** A factory that keeps one client (and so one token cache and one read budget) per registry. */
export function createRegistryClientFactory(access: RegistryAccess): (registry: string) => RegistryClient {
  const clients = new Map<string, RegistryClient>();
  return (registry) => {
    let client = clients.get(registry);
    if (!client) {
      client = new RegistryClient(registry, {
        credential: registryCredentialFor(registry, access.auth),
        insecure: access.insecure,
        userAgent: `${TOOL.name}/${TOOL.version}`,
        ...(access.retry && { retry: access.retry }),
        ...(access.readsPerMinute && { budget: new RequestBudget(access.readsPerMinute) }),
        ...(access.idleTimeoutMs && { idleTimeoutMs: access.idleTimeoutMs }),
      });
      clients.set(registry, client);
    }
    return client;
  };
}
