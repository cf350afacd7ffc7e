// Throwaway self-signed EC (P-256) certificates for loopback stand-ins, made with Debian's openssl: the ARM
// stand-in's TLS certificate and the registry token server's signing key.
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "./processes.js";

export interface SelfSignedCertificate {
  /** PEM of the private key. */
  key: string;
  /** PEM of the certificate. */
  cert: string;
}

/** A certificate for `commonName`, valid 2 days, with `subjectAltName` when given (e.g. `IP:127.0.0.1`). */
export async function selfSignedEcCertificate(
  commonName: string,
  subjectAltName?: string,
): Promise<SelfSignedCertificate> {
  requireTool("openssl");
  const dir = await mkdtemp(join(tmpdir(), "cert-"));
  try {
    const keyFile = join(dir, "key.pem");
    const certFile = join(dir, "cert.pem");
    const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2"];
    args.push("-subj", `/CN=${commonName}`, ...(subjectAltName ? ["-addext", `subjectAltName=${subjectAltName}`] : []));
    execFileSync("openssl", [...args, "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
    return { key: await readFile(keyFile, "utf8"), cert: await readFile(certFile, "utf8") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
