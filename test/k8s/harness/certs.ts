// Test PKI made with the openssl CLI (node:crypto makes keys but not X.509 certificates):
// a CA, the apiserver's serving cert, an admin client cert in system:masters, and the
// service-account signing key pair. Everything is short-lived and lives in a temp dir.
import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  /** Named apiserver.crt/.key so that --cert-dir=dir finds them. */
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  saKey: string;
  saPub: string;
  caPem: string;
  adminCertPem: string;
  adminKeyPem: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run("openssl", args);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args[0]} failed: ${e.stderr?.trim() || e.message}`);
  }
}

const DAYS = "2";

async function newRsaKey(path: string): Promise<void> {
  await openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", path]);
}

/** A leaf certificate signed by the CA, with exactly the extensions given (no config defaults). */
async function signLeaf(
  dir: string,
  name: string,
  subject: string,
  extensions: string[],
  ca: { cert: string; key: string },
): Promise<{ cert: string; key: string }> {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await newRsaKey(key);
  await openssl(["req", "-new", "-key", key, "-subj", subject, "-out", csr]);
  await writeFile(ext, `${extensions.join("\n")}\n`);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    ca.cert,
    "-CAkey",
    ca.key,
    "-set_serial",
    `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("hex")}`,
    "-days",
    DAYS,
    "-sha256",
    "-extfile",
    ext,
    "-out",
    cert,
  ]);
  return { cert, key };
}

export async function makeTestPki(dir: string): Promise<TestPki> {
  const caCert = join(dir, "ca.crt");
  const caKey = join(dir, "ca.key");
  const saKey = join(dir, "sa.key");
  const saPub = join(dir, "sa.pub");
  const caConf = join(dir, "ca.cnf");
  // An explicit config so the CA gets exactly these extensions, whatever the system openssl.cnf says.
  await writeFile(
    caConf,
    [
      "[req]",
      "distinguished_name = dn",
      "x509_extensions = v3_ca",
      "prompt = no",
      "[dn]",
      "CN = iter8-test-ca",
      "[v3_ca]",
      "basicConstraints = critical,CA:TRUE",
      "keyUsage = critical,keyCertSign,cRLSign,digitalSignature",
      "subjectKeyIdentifier = hash",
      "",
    ].join("\n"),
  );
  const saDone = newRsaKey(saKey).then(() => openssl(["pkey", "-in", saKey, "-pubout", "-out", saPub]));
  await newRsaKey(caKey);
  await openssl([
    "req",
    "-x509",
    "-new",
    "-config",
    caConf,
    "-key",
    caKey,
    "-days",
    DAYS,
    "-sha256",
    "-out",
    caCert,
  ]);
  const ca = { cert: caCert, key: caKey };
  const [serving, admin] = await Promise.all([
    signLeaf(
      dir,
      "apiserver",
      "/CN=kube-apiserver",
      [
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage = serverAuth",
        "subjectAltName = DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1",
      ],
      ca,
    ),
    signLeaf(
      dir,
      "admin",
      "/O=system:masters/CN=admin",
      [
        "basicConstraints = critical,CA:FALSE",
        "keyUsage = critical,digitalSignature,keyEncipherment",
        "extendedKeyUsage = clientAuth",
      ],
      ca,
    ),
    saDone,
  ]);
  const [caPem, adminCertPem, adminKeyPem] = await Promise.all([
    readFile(caCert, "utf8"),
    readFile(admin.cert, "utf8"),
    readFile(admin.key, "utf8"),
  ]);
  return {
    dir,
    caCert,
    caKey,
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    saKey,
    saPub,
    caPem,
    adminCertPem,
    adminKeyPem,
  };
}

/** A serving certificate for a webhook (or any HTTPS test server) on loopback, signed by the test CA. */
export async function makeServingCert(
  pki: TestPki,
  name: string,
): Promise<{ certPem: string; keyPem: string }> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name))
    throw new Error(`certificate name ${JSON.stringify(name)} must be lowercase letters, digits and dashes`);
  const { cert, key } = await signLeaf(
    pki.dir,
    name,
    `/CN=${name}`,
    [
      "basicConstraints = critical,CA:FALSE",
      "keyUsage = critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage = serverAuth",
      "subjectAltName = DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1",
    ],
    { cert: pki.caCert, key: pki.caKey },
  );
  const [certPem, keyPem] = await Promise.all([readFile(cert, "utf8"), readFile(key, "utf8")]);
  return { certPem, keyPem };
}
