// The CRD conversion webhook as the controller serves it: HTTPS with the serving certificate of a
// directory (a mounted Secret), the certificate reloaded when the Secret is rotated (e.g. by
// `helm upgrade`) without a restart, and, when a `ca.crt` sits beside it, that CA written into the
// CRDs' conversion `caBundle` so the API server trusts the webhook.

import { existsSync, readFileSync, unwatchFile, watchFile } from "node:fs";
import type { Server } from "node:https";
import { join } from "node:path";
import { createSecureContext } from "node:tls";
import { jsonLogger } from "./controller.ts";
import { startConversionServer } from "./conversion.ts";
import { injectConversionCa } from "./crds.ts";
import type { KubeClient } from "./rest.ts";

export interface ServingCert {
  certPem: string;
  keyPem: string;
}

export function readServingCert(dir: string): ServingCert {
  return {
    certPem: readFileSync(join(dir, "tls.crt"), "utf8"),
    keyPem: readFileSync(join(dir, "tls.key"), "utf8"),
  };
}

/** Why a certificate directory cannot serve: `directory` (missing, half a pair) or `read` (bad PEM). */
export class ServingCertError extends Error {
  override readonly name = "ServingCertError";
  readonly kind: "directory" | "read";
  readonly dir: string;
  constructor(kind: "directory" | "read", dir: string, detail: string) {
    super(detail);
    this.kind = kind;
    this.dir = dir;
  }
}

/**
 * The serving certificate of `dir`, parsed by TLS so that a bad one fails before anything listens;
 * undefined for an empty directory: an optional Secret volume whose Secret does not exist (the
 * plain manifests), where the controller runs without the webhook. A directory that does not exist,
 * or holds only one of the two files, is a mistake.
 */
export function loadServingCert(dir: string): ServingCert | undefined {
  if (!existsSync(dir)) throw new ServingCertError("directory", dir, "does not exist");
  const crt = existsSync(join(dir, "tls.crt"));
  const key = existsSync(join(dir, "tls.key"));
  if (crt !== key)
    throw new ServingCertError(
      "directory",
      dir,
      crt ? "has tls.crt but no tls.key" : "has tls.key but no tls.crt",
    );
  if (!crt) return undefined;
  try {
    const pems = readServingCert(dir);
    createSecureContext({ cert: pems.certPem, key: pems.keyPem });
    return pems;
  } catch (err) {
    throw new ServingCertError("read", dir, (err as Error).message);
  }
}

export interface ConversionWebhook {
  server: Server;
  port: number;
  /** Stops watching the certificate for rotation. */
  stopReloading(): void;
}

export async function serveConversionWebhook(opts: {
  client: KubeClient;
  certDir: string;
  pems: ServingCert;
  port: number;
  host: string;
  installNamespace: string;
}): Promise<ConversionWebhook> {
  const { client, certDir, installNamespace } = opts;
  const started = await startConversionServer({ ...opts.pems, port: opts.port, host: opts.host });
  await trustWebhookCa(client, certDir, installNamespace);
  jsonLogger.info("conversion webhook", { port: started.port });
  const certFile = join(certDir, "tls.crt");
  const reload = () => {
    try {
      const { certPem, keyPem } = readServingCert(certDir);
      started.server.setSecureContext({ cert: certPem, key: keyPem });
      jsonLogger.info("conversion webhook certificate reloaded");
      void trustWebhookCa(client, certDir, installNamespace); // a new CA, if it was rotated
    } catch (err) {
      jsonLogger.warn("could not reload the webhook certificate", { error: (err as Error).message });
    }
  };
  watchFile(certFile, { interval: 10_000 }, reload);
  return { server: started.server, port: started.port, stopReloading: () => unwatchFile(certFile, reload) };
}

/** With ca.crt beside the certificate, the CRDs' conversion webhook is made to trust it. */
async function trustWebhookCa(client: KubeClient, dir: string, namespace: string): Promise<void> {
  const caFile = join(dir, "ca.crt");
  if (!existsSync(caFile)) return;
  try {
    await injectConversionCa(client, { namespace, caPem: readFileSync(caFile, "utf8") });
    jsonLogger.info("conversion webhook CA written to the CRDs", { namespace });
  } catch (err) {
    // Not fatal: v2alpha2 objects need no conversion.
    jsonLogger.warn("could not write the webhook CA into the CRDs", { error: (err as Error).message });
  }
}
