// A registry's storage as its bill sees it: the SKU (whose included storage is free: 10 / 100 / 500 GiB for Basic /
// Standard / Premium) and what it uses, read through Azure Resource Manager (registries.list to find the login server,
// registries.listUsages for "Size") where the app can; else the SKU a setting names (REGISTRY_SKU), usage unknown.
// What deleting from it saves is computed from this by cost/costEstimate.ts, which says "no saving" inside the allowance.
import {
  ContainerRegistryManagementClient,
  type ContainerRegistryManagementClientOptionalParams,
} from "@azure/arm-containerregistry";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { GIB, REGISTRY_INCLUDED_GIB, type RegistrySku, type RegistryStorage } from "../cost/costEstimate.js";
import { firstLine } from "../errors.js";

export interface RegistryStorageOptions {
  /** Where to look for the registry (AZURE_SUBSCRIPTION_ID); without it, only the setting can tell. */
  subscriptionId?: string;
  armEndpoint?: string;
  credential?: TokenCredential;
  clientOptions?: ContainerRegistryManagementClientOptionalParams;
  /** REGISTRY_SKU: what to assume when ARM cannot tell (a registry that is not an ACR this identity can read). */
  fallbackSku?: RegistrySku;
}

/** The storage of the registry serving `loginServer`, as far as ARM (or the setting) can tell; never throws. */
export async function readRegistryStorage(
  loginServer: string,
  options: RegistryStorageOptions = {},
): Promise<RegistryStorage> {
  const fallback = (note: string): RegistryStorage =>
    options.fallbackSku
      ? {
          source: "setting",
          sku: options.fallbackSku,
          includedBytes: REGISTRY_INCLUDED_GIB[options.fallbackSku] * GIB,
          note: `${note}; SKU from REGISTRY_SKU, usage unknown`,
        }
      : { source: "unknown", note };
  if (!options.subscriptionId) return fallback("AZURE_SUBSCRIPTION_ID is not set");
  try {
    const client = new ContainerRegistryManagementClient(
      options.credential ?? new DefaultAzureCredential(),
      options.subscriptionId,
      { ...options.clientOptions, ...(options.armEndpoint && { endpoint: options.armEndpoint }) },
    );
    for await (const registry of client.registries.list()) {
      if (registry.loginServer?.toLowerCase() !== loginServer.toLowerCase() || !registry.id || !registry.name) continue;
      const group = /\/resourceGroups\/([^/]+)\//i.exec(registry.id)?.[1];
      if (!group) break;
      const sku = registry.sku?.name;
      const usages = await client.registries.listUsages(group, registry.name);
      const size = usages.value?.find((u) => u.name === "Size" && u.unit === "Bytes");
      const known = sku && sku in REGISTRY_INCLUDED_GIB ? REGISTRY_INCLUDED_GIB[sku as RegistrySku] * GIB : undefined;
      // The SKU's documented allowance; for a SKU without one (Classic), the limit the usage API reports.
      const includedBytes = known ?? (typeof size?.limit === "number" ? size.limit : undefined);
      return {
        source: "arm",
        ...(sku && { sku }),
        ...(includedBytes !== undefined && { includedBytes }),
        ...(typeof size?.currentValue === "number" && { usedBytes: size.currentValue }),
      };
    }
    return fallback(`no registry with login server ${loginServer} in subscription ${options.subscriptionId}`);
  } catch (error) {
    return fallback(`Azure Resource Manager did not answer: ${firstLine(error, 200)}`);
  }
}
