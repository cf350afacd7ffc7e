// infra/main.bicep compiled by the real Bicep CLI (scripts/bicep.sh, which finds or installs the pinned one) into a
// temporary folder, and what Azure would answer for the properties only a deployment knows.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { ArmTemplate, Json, ResourceRef } from "./armTemplate.js";
import { repoRoot } from "./repoRoot.js";

/** Compiles infra/main.bicep (any compiler warning fails) and returns the ARM JSON. */
export async function compileMainTemplate(): Promise<ArmTemplate> {
  const dir = await mkdtemp(join(tmpdir(), "acr-cold-archive-bicep-"));
  try {
    await promisify(execFile)("bash", ["scripts/bicep.sh", "compile", dir], {
      cwd: repoRoot(),
      maxBuffer: 16 * 1024 * 1024,
    }).catch((error: Error & { stderr?: string }) => {
      throw new Error(`bash scripts/bicep.sh compile failed: ${error.stderr || error.message}`);
    });
    return JSON.parse(await readFile(join(dir, "main.json"), "utf8")) as ArmTemplate;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The Bicep CLI version pinned in scripts/bicep-cli.proj (the one place it is). */
export async function pinnedBicepVersion(): Promise<string> {
  const project = await readFile(join(repoRoot(), "scripts/bicep-cli.proj"), "utf8");
  const version = /PackageDownload Include="Azure\.Bicep\.CommandLine\.[^"]*" Version="\[([0-9.]+)\]"/.exec(
    project,
  )?.[1];
  if (!version) throw new Error("scripts/bicep-cli.proj pins no Azure.Bicep.CommandLine version");
  return version;
}

function guidFor(text: string): string {
  const h = createHash("sha256").update(text).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * What Azure answers for a resource property known only once it is deployed, shaped as Azure shapes it (public
 * cloud): an identity's ids, an account's blob endpoint, a registry's login server. Anything else is unanswered.
 */
export function azureAnswer(resource: ResourceRef, path: string[]): Json | undefined {
  const property = `${resource.type.toLowerCase()} ${path.join(".")}`;
  switch (property) {
    case "microsoft.managedidentity/userassignedidentities properties.clientId":
    case "microsoft.managedidentity/userassignedidentities properties.principalId":
      return guidFor(`${resource.id.toLowerCase()} ${path.join(".")}`);
    case "microsoft.storage/storageaccounts properties.primaryEndpoints.blob":
      return `https://${resource.name}.blob.core.windows.net/`;
    case "microsoft.containerregistry/registries properties.loginServer":
      return `${resource.name.toLowerCase()}.azurecr.io`;
    case "microsoft.durabletask/schedulers properties.endpoint":
      return `https://${resource.name}.westeurope.durabletask.io`;
    case "microsoft.insights/components properties.ConnectionString":
      return `InstrumentationKey=${guidFor(resource.id)};IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/`;
    case "microsoft.operationalinsights/workspaces properties.customerId":
      return guidFor(resource.id);
    case "microsoft.web/sites properties.defaultHostName":
      return `${resource.name}.azurewebsites.net`;
    default:
      return undefined;
  }
}
