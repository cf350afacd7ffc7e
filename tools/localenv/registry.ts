// A real CNCF registry (Debian's docker-registry) on 127.0.0.1 and a free port: anonymous, basic auth
// (htpasswd, bcrypt) or bearer tokens from a small token server here (so the challenge flow runs for real).
// Deleting manifests is enabled (`storage.delete.enabled`), as on ACR. With `acr: true` the local ACR stand-in
// (acrStandIn.ts: ACR's /acr/v1 API and its locks) is put in front of it.
import { execFileSync } from "node:child_process";
import { createSign, randomBytes, randomUUID } from "node:crypto";
import { createServer, type Server } from "node:http";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startAcrStandIn, type AcrStandIn } from "./acrStandIn.js";
import { selfSignedEcCertificate } from "./certificates.js";
import { freePort, requireTool, startBackground, waitForHttp } from "./processes.js";

export type RegistryAuthMode = "none" | "basic" | "bearer";

export interface TestRegistry {
  /** Where clients go: the registry, or the ACR stand-in in front of it (`acr: true`). */
  host: string;
  /** The registry itself, behind the stand-in if there is one. */
  registryHost: string;
  storageDir: string;
  /** The ACR stand-in in front (`acr: true`). */
  acr?: AcrStandIn;
  username?: string;
  password?: string;
  /** A refresh token the token server accepts (bearer mode). */
  refreshToken?: string;
  /** Requests the token server answered (bearer mode). */
  tokenRequests: string[];
  stop: () => Promise<void>;
}

export interface StartRegistryOptions {
  auth?: RegistryAuthMode;
  /**
   * Accept manifests whose foreign / non-distributable layers point at http(s) URLs. Distribution 2.8 refuses them
   * (HTTP 500, MANIFEST_BLOB_UNKNOWN) unless `validation.manifests.urls.allow` lists a pattern; ACR accepts them.
   */
  allowForeignLayerUrls?: boolean;
  /** Put the local ACR stand-in (tools/localenv/acrStandIn.ts) in front: `host` is then its address. */
  acr?: boolean;
}

export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  requireTool("docker-registry");
  const auth = options.auth ?? "none";
  const dir = await mkdtemp(join(tmpdir(), "registry-"));
  const port = await freePort();
  const username = "archiver";
  const password = `pw-${randomBytes(12).toString("hex")}`;
  const refreshToken = `rt-${randomBytes(12).toString("hex")}`;
  const tokenRequests: string[] = [];
  let authConfig = "";
  let tokenServer: Server | undefined;
  if (auth === "basic") {
    requireTool("htpasswd", "apt-get install apache2-utils");
    const htpasswd = execFileSync("htpasswd", ["-Bbn", username, password], { encoding: "utf8" });
    await writeFile(join(dir, "htpasswd"), htpasswd);
    authConfig = `auth:\n  htpasswd:\n    realm: test-realm\n    path: ${join(dir, "htpasswd")}\n`;
  } else if (auth === "bearer") {
    const signing = await selfSignedEcCertificate("test-token-issuer");
    await writeFile(join(dir, "token.crt"), signing.cert);
    const tokenPort = await freePort();
    tokenServer = await startTokenServer(tokenPort, {
      key: signing.key,
      certPem: signing.cert,
      username,
      password,
      refreshToken,
      log: tokenRequests,
    });
    authConfig = `auth:\n  token:\n    realm: http://127.0.0.1:${tokenPort}/token\n    service: test-registry\n    issuer: test-issuer\n    rootcertbundle: ${join(dir, "token.crt")}\n`;
  }
  const validation = options.allowForeignLayerUrls
    ? "validation:\n  manifests:\n    urls:\n      allow:\n        - ^https?://\n"
    : "";
  const config = `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${join(dir, "data")}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
  secret: ${randomBytes(16).toString("hex")}
${authConfig}${validation}`;
  await writeFile(join(dir, "config.yml"), config);
  // The registry maps every REGISTRY_* variable onto its config (REGISTRY_AUTH=1 makes it panic): strip them.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("REGISTRY_")));
  const proc = startBackground("docker-registry", ["serve", join(dir, "config.yml")], { env });
  await waitForHttp(`http://127.0.0.1:${port}/v2/`, proc);
  const registryHost = `127.0.0.1:${port}`;
  let acr: AcrStandIn | undefined;
  try {
    if (options.acr) acr = await startAcrStandIn({ upstream: registryHost, storageDirectory: join(dir, "data") });
  } catch (error) {
    await proc.stop();
    throw error;
  }
  return {
    host: acr?.host ?? registryHost,
    registryHost,
    storageDir: join(dir, "data"),
    ...(acr && { acr }),
    ...(auth !== "none" && { username, password }),
    ...(auth === "bearer" && { refreshToken }),
    tokenRequests,
    stop: async () => {
      await acr?.stop();
      await proc.stop();
      await new Promise<void>((resolve) => (tokenServer ? tokenServer.close(() => resolve()) : resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Path of a blob's bytes in the registry's filesystem storage (to corrupt it in a test). */
export function registryBlobPath(registry: TestRegistry, digest: string): string {
  const hex = digest.replace("sha256:", "");
  return join(registry.storageDir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data");
}

interface TokenServerOptions {
  key: string;
  certPem: string;
  username: string;
  password: string;
  refreshToken: string;
  log: string[];
}

/** Docker token spec (GET with Basic) and OAuth2 (POST form, password or refresh_token grant), ES256 JWTs with x5c. */
async function startTokenServer(port: number, options: TokenServerOptions): Promise<Server> {
  const certDer = options.certPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
  const sign = (scopes: string[]) => {
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
    const now = Math.floor(Date.now() / 1000);
    const access = scopes
      .map((s) => s.split(":"))
      .filter((p) => p.length >= 3)
      .map((p) => ({ type: p[0], name: p.slice(1, -1).join(":"), actions: p[p.length - 1]!.split(",") }));
    const header = b64({ alg: "ES256", typ: "JWT", x5c: [certDer] });
    const payload = b64({
      iss: "test-issuer",
      sub: options.username,
      aud: "test-registry",
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    });
    const signature = createSign("sha256")
      .update(`${header}.${payload}`)
      .sign({ key: options.key, dsaEncoding: "ieee-p1363" })
      .toString("base64url");
    return `${header}.${payload}.${signature}`;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      let ok = false;
      let scopes: string[] = [];
      if (req.method === "GET") {
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "")?.[1];
        const [u, p] = basic ? Buffer.from(basic, "base64").toString().split(/:(.*)/s) : [];
        ok = u === options.username && p === options.password;
        scopes = url.searchParams.getAll("scope");
        options.log.push(`GET basic=${ok}`);
      } else if (req.method === "POST") {
        const grant = form.get("grant_type");
        if (grant === "refresh_token") ok = form.get("refresh_token") === options.refreshToken;
        if (grant === "password")
          ok = form.get("username") === options.username && form.get("password") === options.password;
        scopes = form.getAll("scope").flatMap((s) => s.split(" "));
        options.log.push(`POST ${grant} ok=${ok}`);
      }
      if (!ok) {
        res
          .writeHead(401, { "content-type": "application/json" })
          .end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "bad credentials" }] }));
        return;
      }
      const token = sign(scopes);
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ token, access_token: token, expires_in: 300, refresh_token: options.refreshToken }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  return server;
}
