// readRegistryStorage against the loopback ARM stand-in (the official Registries_List and Registries_ListUsages
// example bodies): the SKU's included storage and the "Size" usage of the registry serving a login server, or the
// REGISTRY_SKU setting when ARM cannot tell, and never an exception (the catalog's totals go on without it).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GIB, registryAllowance, DEFAULT_PRICES } from "../../../src/cost/costEstimate.js";
import { readRegistryStorage, type RegistryStorageOptions } from "../../../src/registry/registryStorage.js";
import { startArmServer, type ArmServer } from "../../../tools/localenv/armServer.js";
import { fakeTokenCredential } from "../../support/credentials.js";

const SUBSCRIPTION = "00000000-1111-2222-3333-444444444444";
let server: ArmServer;

const options = (extra: Partial<RegistryStorageOptions> = {}): RegistryStorageOptions => ({
  subscriptionId: SUBSCRIPTION,
  armEndpoint: server.endpoint,
  credential: fakeTokenCredential("fake-arm-token-not-a-secret"),
  clientOptions: { tlsOptions: { ca: server.ca }, retryOptions: { maxRetries: 0 } },
  ...extra,
});

before(async () => {
  server = await startArmServer();
});
after(async () => {
  await server?.stop();
});

test("an ACR's SKU and usage through ARM: Standard includes 100 GiB, the example uses ~12 MB: no saving (guards issue 25.3)", async () => {
  const storage = await readRegistryStorage("myregistry.azurecr.io", options());
  assert.deepEqual(storage, { source: "arm", sku: "Standard", includedBytes: 100 * GIB, usedBytes: 12345678 });
  assert.ok(
    server.requests.some((r) =>
      r.path.endsWith(
        "/resourceGroups/myResourceGroup/providers/Microsoft.ContainerRegistry/registries/myRegistry/listUsages",
      ),
    ),
  );
  assert.match(registryAllowance(storage, DEFAULT_PRICES).summary, /inside its allowance .* saves nothing/);
});

test("ARM cannot tell: the REGISTRY_SKU setting's allowance, usage unknown; else unknown, with why", async () => {
  assert.deepEqual(await readRegistryStorage("127.0.0.1:5000", options({ fallbackSku: "Basic" })), {
    source: "setting",
    sku: "Basic",
    includedBytes: 10 * GIB,
    note: `no registry with login server 127.0.0.1:5000 in subscription ${SUBSCRIPTION}; SKU from REGISTRY_SKU, usage unknown`,
  });
  assert.deepEqual(await readRegistryStorage("myregistry.azurecr.io", options({ subscriptionId: undefined })), {
    source: "unknown",
    note: "AZURE_SUBSCRIPTION_ID is not set",
  });
  server.options.failure = { status: 403, code: "AuthorizationFailed", message: "no read on the subscription" };
  try {
    const denied = await readRegistryStorage("myregistry.azurecr.io", options());
    assert.equal(denied.source, "unknown");
    assert.match(denied.note ?? "", /^Azure Resource Manager did not answer: /);
  } finally {
    delete server.options.failure;
  }
});
