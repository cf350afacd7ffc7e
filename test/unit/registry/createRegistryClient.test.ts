// Which credential the app offers a registry (src/registry/createRegistryClient.ts registryCredentialFor), pure: a
// password to its own login server only, an Entra ID token to ACR hosts only, nothing to anyone else.
import assert from "node:assert/strict";
import { test } from "node:test";
import { registryCredentialFor } from "../../../src/registry/createRegistryClient.js";

test("an Entra ID token is offered to ACR hosts only", () => {
  for (const kind of ["entra", "auto"] as const) {
    assert.equal(registryCredentialFor("myacr.azurecr.io", { kind }).kind, "entra");
    assert.equal(
      registryCredentialFor("evil.example.com", { kind }).kind,
      "anonymous",
      `${kind}: never to another host`,
    );
    assert.equal(registryCredentialFor("myacr.azurecr.io.evil.example.com", { kind }).kind, "anonymous");
  }
});

test("registryCredentialFor: the password for its own host only; Entra ID for ACR hosts only", () => {
  const auth = { kind: "password", username: "alice", password: "pw", loginServer: "myacr.azurecr.io" } as const;
  assert.equal(registryCredentialFor("myacr.azurecr.io", auth).kind, "password");
  assert.equal(registryCredentialFor("MyAcr.AzureCR.io", auth).kind, "password");
  assert.equal(registryCredentialFor("evil.example.com", auth).kind, "anonymous");
  assert.equal(registryCredentialFor("other.azurecr.io", auth).kind, "entra");
  assert.equal(registryCredentialFor("evil.example.com", { kind: "auto" }).kind, "anonymous");
});
