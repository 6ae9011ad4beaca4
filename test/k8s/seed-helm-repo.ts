// What seed 001's finish task downloads, served locally so the real helm runs it unchanged: its
// `helm upgrade --install --repo https://raw.githubusercontent.com/... --values=https://...` goes
// through an HTTPS proxy (HTTPS_PROXY) that sends CONNECTs for raw.githubusercontent.com to a local
// TLS server whose certificate, for that name, is signed by a throwaway CA that helm trusts through
// SSL_CERT_FILE. Every other CONNECT is refused: no request leaves the machine. The chart is
// test/k8s/fixtures/sample-app-chart (a ConfigMap recording the promoted values).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HELM_ENV, helm, ok } from "./tools.ts";

const HOST = "raw.githubusercontent.com";
const BASE = "/iter8-tools/iter8/master/samples/knative/canaryprogressive";

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function makeCerts(dir: string): { caFile: string; certPem: string; keyPem: string } {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(dir, [
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=iter8 test CA",
  ]);
  openssl(dir, ["req", ...ec, "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", `/CN=${HOST}`]);
  writeFileSync(join(dir, "leaf.ext"), `subjectAltName=DNS:${HOST}\nextendedKeyUsage=serverAuth\n`);
  openssl(dir, [
    ...["x509", "-req", "-in", "leaf.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"],
    ...["-out", "leaf.crt", "-days", "1", "-extfile", "leaf.ext"],
  ]);
  return {
    caFile: join(dir, "ca.crt"),
    certPem: readFileSync(join(dir, "leaf.crt"), "utf8"),
    keyPem: readFileSync(join(dir, "leaf.key"), "utf8"),
  };
}

export interface SeedHelmRepo {
  /** Environment for the helm child process (proxy, trusted CA, helm's own dirs). */
  env: Record<string, string>;
  /** Paths requested from raw.githubusercontent.com, in order. */
  requests: string[];
  close(): void;
}

export async function startSeedHelmRepo(): Promise<SeedHelmRepo> {
  const dir = mkdtempSync(join(tmpdir(), "iter8-seed-helm-repo-"));
  const { caFile, certPem, keyPem } = makeCerts(dir);
  const repo = join(dir, "repo");
  mkdirSync(repo);
  ok(
    helm(["package", join(import.meta.dirname, "fixtures", "sample-app-chart"), "-d", repo]),
    "helm package",
  );
  ok(helm(["repo", "index", repo, "--url", `https://${HOST}${BASE}/helm-repo`]), "helm repo index");
  const files = new Map<string, Buffer>([
    [`${BASE}/helm-repo/index.yaml`, readFileSync(join(repo, "index.yaml"))],
    [`${BASE}/helm-repo/sample-app-0.1.0.tgz`, readFileSync(join(repo, "sample-app-0.1.0.tgz"))],
    [`${BASE}/candidate-values.yaml`, Buffer.from("promoted: candidate\n")],
    [`${BASE}/baseline-values.yaml`, Buffer.from("promoted: baseline\n")],
  ]);
  const requests: string[] = [];
  const origin = createHttpsServer({ cert: certPem, key: keyPem }, (req, res) => {
    const path = (req.url ?? "").split("?")[0]!;
    requests.push(path);
    const body = files.get(path);
    if (body) res.writeHead(200, { "content-length": body.length }).end(body);
    else res.writeHead(404).end("not found\n");
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  const originPort = (origin.address() as { port: number }).port;

  const sockets = new Set<Socket>();
  const proxy = createHttpServer((_req, res) => res.writeHead(405).end());
  proxy.on("connect", (req, client: Socket) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => {});
    if (req.url !== `${HOST}:443`) {
      client.end("HTTP/1.1 403 Forbidden\r\n\r\n");
      return;
    }
    const upstream = connect(originPort, "127.0.0.1", () => {
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      upstream.pipe(client).pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  return {
    env: {
      ...HELM_ENV,
      HTTPS_PROXY: proxyUrl,
      https_proxy: proxyUrl,
      NO_PROXY: "127.0.0.1,localhost",
      no_proxy: "127.0.0.1,localhost",
      SSL_CERT_FILE: caFile,
    },
    requests,
    close() {
      for (const s of sockets) s.destroy();
      proxy.close();
      origin.close();
    },
  };
}
