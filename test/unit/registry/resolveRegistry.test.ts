// resolveRegistryLoginServer against the loopback ARM stand-in (official Registries_Get / Registries_List example
// bodies, HTTPS on 127.0.0.1), with a fake TokenCredential in place of Entra ID: a login server passes through,
// a resource id is read with registries.get, a bare name is found with registries.list, and everything else is
// refused as INVALID_ARGUMENT.
import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { isArchiveError } from "../../../src/errors.js";
import { resolveRegistryLoginServer, type ResolveRegistryOptions } from "../../../src/registry/resolveRegistry.js";
import { readArmExample, startArmServer, type ArmServer } from "../../../tools/localenv/armServer.js";
import { fakeTokenCredential } from "../../support/credentials.js";

const SUBSCRIPTION = "00000000-1111-2222-3333-444444444444";
const RESOURCE_GROUP = "rg-registries";
const TOKEN = "fake-arm-token-not-a-secret";
const REGISTRIES_PATH = `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerRegistry/registries`;

let server: ArmServer;
let example: { name: string; loginServer: string };
const credential = fakeTokenCredential(TOKEN);
const tokenScopes = credential.scopes;

function options(extra: Partial<ResolveRegistryOptions> = {}): ResolveRegistryOptions {
  return {
    armEndpoint: server.endpoint,
    credential,
    // Trust the stand-in's throwaway certificate for this client only; retry once, without waiting.
    clientOptions: {
      tlsOptions: { ca: server.ca },
      retryOptions: { maxRetries: 1, retryDelayInMs: 1, maxRetryDelayInMs: 1 },
    },
    ...extra,
  };
}

function resourceId(name: string): string {
  return `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.ContainerRegistry/registries/${name}`;
}

function invalidArgument(pattern: RegExp) {
  return (error: unknown): boolean => {
    assert.ok(isArchiveError(error), String(error));
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.match(error.message, pattern);
    return true;
  };
}

before(async () => {
  server = await startArmServer();
  const get = (await readArmExample("RegistryGet.json")) as {
    responses: { "200": { body: { name: string; properties: { loginServer: string } } } };
  };
  example = { name: get.responses["200"].body.name, loginServer: get.responses["200"].body.properties.loginServer };
});
after(async () => {
  await server?.stop();
});
beforeEach(() => {
  server.requests.length = 0;
  tokenScopes.length = 0;
});

describe("resolveRegistryLoginServer", () => {
  test("a login server passes through, lowercased, without asking ARM", async () => {
    assert.equal(await resolveRegistryLoginServer("MyRegistry.AzureCR.io", options()), "myregistry.azurecr.io");
    assert.equal(await resolveRegistryLoginServer("LocalHost:5000", options()), "localhost:5000");
    assert.deepEqual(server.requests, []);
  });

  test("an ACR resource id is read with Registries_Get and gives the example's login server", async () => {
    assert.equal(
      await resolveRegistryLoginServer(resourceId(example.name), options()),
      example.loginServer.toLowerCase(),
    );
    assert.equal(example.loginServer.toLowerCase(), "myregistry.azurecr.io");
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      [`GET ${resourceId(example.name)}`],
    );
    assert.equal(server.requests[0]?.query["api-version"], "2025-11-01");
    assert.equal(server.requests[0]?.headers.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual([...new Set(tokenScopes)], [`${server.endpoint}/.default`]);
  });

  test("a bare ACR name is found in the subscription with Registries_List (names compare case-insensitively)", async () => {
    const resolved = await resolveRegistryLoginServer(
      example.name.toUpperCase(),
      options({ subscriptionId: SUBSCRIPTION }),
    );
    assert.equal(resolved, example.loginServer.toLowerCase());
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      [`GET ${REGISTRIES_PATH}`],
    );
    assert.equal(server.requests[0]?.query["api-version"], "2025-11-01");
  });

  test("a bare ACR name without a subscription is refused, naming AZURE_SUBSCRIPTION_ID", async () => {
    await assert.rejects(resolveRegistryLoginServer(example.name, options()), invalidArgument(/AZURE_SUBSCRIPTION_ID/));
    assert.deepEqual(server.requests, []);
  });

  test("an unknown ACR name is INVALID_ARGUMENT, by name (not in the list) and by resource id (404)", async () => {
    await assert.rejects(
      resolveRegistryLoginServer("noSuchRegistry1", options({ subscriptionId: SUBSCRIPTION })),
      invalidArgument(/no container registry named "noSuchRegistry1"/),
    );
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      [`GET ${REGISTRIES_PATH}`],
    );

    server.requests.length = 0;
    await assert.rejects(
      resolveRegistryLoginServer(resourceId("noSuchRegistry1"), options()),
      invalidArgument(/not found/),
    );
    assert.deepEqual(
      server.requests.map((r) => `${r.method} ${r.path}`),
      [`GET ${resourceId("noSuchRegistry1")}`],
    );
  });

  test("a value that is neither a login server, an ACR name nor a resource id is INVALID_ARGUMENT without asking ARM", async () => {
    for (const garbage of [
      "not a registry!",
      "abc",
      "/subscriptions/x/resourceGroups/y",
      "bad_name_with_underscores",
    ]) {
      await assert.rejects(
        resolveRegistryLoginServer(garbage, options({ subscriptionId: SUBSCRIPTION })),
        invalidArgument(/neither a login server/),
        garbage,
      );
    }
    assert.deepEqual(server.requests, []);
  });
});
