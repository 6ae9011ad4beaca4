// What tasks and metrics read from the cluster: arbitrary objects (Knative Services for
// `knative/init-experiment`, anything `common/readiness` names) and Secrets (metric auth).

import type { ObjectKey } from "../../engine/ports.ts";
import type { SecretRef, SecretSource } from "../../metrics/secrets.ts";
import type { ObjectRef, TaskPlatform } from "../../tasks/types.ts";
import type { Discovery, ResourceInfo } from "./discovery.ts";
import { isNotFound, type KubeClient, resourcePath } from "./rest.ts";

/** Reads a Secret and decodes its `data`; undefined when it does not exist. */
export async function readSecret(
  client: KubeClient,
  ref: SecretRef,
): Promise<Record<string, string> | undefined> {
  let secret: { data?: Record<string, string>; stringData?: Record<string, string> };
  try {
    secret = await client.get(resourcePath("v1", "secrets", ref.namespace, ref.name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
  return out;
}

export class KubeSecretSource implements SecretSource {
  readonly #client: KubeClient;
  constructor(client: KubeClient) {
    this.#client = client;
  }
  get(ref: SecretRef): Promise<Record<string, string> | undefined> {
    return readSecret(this.#client, ref);
  }
}

export class KubeTaskPlatform implements TaskPlatform {
  readonly #client: KubeClient;
  readonly #discovery: Discovery;

  constructor(client: KubeClient, discovery: Discovery) {
    this.#client = client;
    this.#discovery = discovery;
  }

  async #resource(ref: ObjectRef): Promise<ResourceInfo> {
    if (ref.apiVersion) {
      try {
        return await this.#discovery.forKind(ref.apiVersion, ref.kind);
      } catch {
        return this.#discovery.forType(ref.kind, ref.apiVersion);
      }
    }
    return this.#discovery.forType(ref.kind);
  }

  async getObject(ref: ObjectRef): Promise<Record<string, unknown> | undefined> {
    const r = await this.#resource(ref);
    try {
      return await this.#client.get(
        resourcePath(r.apiVersion, r.plural, r.namespaced ? ref.namespace : undefined, ref.name),
      );
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  getSecret(key: ObjectKey): Promise<Record<string, string> | undefined> {
    return readSecret(this.#client, key);
  }
}
