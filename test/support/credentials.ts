// A fake TokenCredential in place of Entra ID: a fixed token, and every scope it was asked for recorded, for tests of
// the clients that take one (ARM stand-ins, the ACR token exchange).
import type { AccessToken, TokenCredential } from "@azure/identity";

export interface FakeTokenCredential extends TokenCredential {
  /** Every scope asked for, in order (clear it between tests with `scopes.length = 0`). */
  readonly scopes: string[];
}

/** A credential that answers `token`, valid for an hour from each call. */
export function fakeTokenCredential(token: string): FakeTokenCredential {
  const scopes: string[] = [];
  return {
    scopes,
    getToken: async (scope): Promise<AccessToken> => {
      scopes.push(...(Array.isArray(scope) ? scope : [scope]));
      return { token, expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}
