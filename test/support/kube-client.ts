// A KubeClient for a plain-HTTP test server on loopback: a resolved connection with no TLS or auth.
import { type ClientLimits, KubeClient } from "../../src/platforms/kubernetes/rest.ts";

export function loopbackClient(port: number, limits: ClientLimits = {}): KubeClient {
  return new KubeClient(
    { server: `http://127.0.0.1:${port}`, context: "test", namespace: "default", tls: {}, headers: {} },
    limits,
  );
}
