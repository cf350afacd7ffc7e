// A run's `registry` may be a login server, an ACR name or an ACR resource id; the last two are resolved to the
// login server with Azure Resource Manager (@azure/arm-containerregistry), so the run and its blob names always
// use the login server.
import {
  ContainerRegistryManagementClient,
  type ContainerRegistryManagementClientOptionalParams,
} from "@azure/arm-containerregistry";
import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { ArchiveError } from "../errors.js";
import { isValidRegistryHost } from "./reference.js";

const RESOURCE_ID =
  /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerRegistry\/registries\/([^/]+)$/i;
const ACR_NAME = /^[a-zA-Z0-9]{5,50}$/;

export interface ResolveRegistryOptions {
  subscriptionId?: string;
  armEndpoint?: string;
  credential?: TokenCredential;
  /** Merged into the ContainerRegistryManagementClient options (e.g. `tlsOptions` in tests); `armEndpoint` wins over its `endpoint`. */
  clientOptions?: ContainerRegistryManagementClientOptionalParams;
}

export function isLoginServer(value: string): boolean {
  return (value.includes(".") || value.includes(":") || value === "localhost") && isValidRegistryHost(value);
}

export async function resolveRegistryLoginServer(value: string, options: ResolveRegistryOptions = {}): Promise<string> {
  if (isLoginServer(value)) return value.toLowerCase();
  const credential = options.credential ?? new DefaultAzureCredential();
  const clientOptions = { ...options.clientOptions, ...(options.armEndpoint ? { endpoint: options.armEndpoint } : {}) };
  const byId = RESOURCE_ID.exec(value);
  try {
    if (byId) {
      const [, subscriptionId, resourceGroup, name] = byId;
      const registry = await new ContainerRegistryManagementClient(
        credential,
        subscriptionId!,
        clientOptions,
      ).registries.get(resourceGroup!, name!);
      if (!registry.loginServer) throw new ArchiveError("INVALID_ARGUMENT", `registry: ${value} has no login server`);
      return registry.loginServer.toLowerCase();
    }
    if (!ACR_NAME.test(value))
      throw new ArchiveError(
        "INVALID_ARGUMENT",
        `registry: "${value}" is neither a login server, an ACR name nor an ACR resource id`,
      );
    if (!options.subscriptionId)
      throw new ArchiveError(
        "INVALID_ARGUMENT",
        `registry: "${value}" is an ACR name; set AZURE_SUBSCRIPTION_ID to resolve names, or pass the login server`,
      );
    const client = new ContainerRegistryManagementClient(credential, options.subscriptionId, clientOptions);
    for await (const registry of client.registries.list()) {
      if (registry.name?.toLowerCase() === value.toLowerCase() && registry.loginServer)
        return registry.loginServer.toLowerCase();
    }
    throw new ArchiveError(
      "INVALID_ARGUMENT",
      `registry: no container registry named "${value}" in subscription ${options.subscriptionId}`,
    );
  } catch (error) {
    if ((error as { name?: string }).name === "ArchiveError") throw error;
    const status = (error as { statusCode?: number }).statusCode;
    if (status === 404) throw new ArchiveError("INVALID_ARGUMENT", `registry: ${value} not found`);
    throw new ArchiveError(
      "REGISTRY_UNREACHABLE",
      `cannot resolve registry ${value} with Azure Resource Manager${status ? ` (HTTP ${status})` : ""}`,
    );
  }
}
