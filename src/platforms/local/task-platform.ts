// The tasks' TaskPlatform locally: held objects as a cluster would return them (a Knative Service
// with the status Knative would report), and secrets from $ITER8_SECRETS_FILE and the environment.

import type { ObjectKey } from "../../engine/ports.ts";
import { trafficKindFor } from "../../kinds/index.ts";
import { knativeService } from "../../kinds/knative.ts";
import {
  ChainSecretSource,
  EnvSecretSource,
  FileSecretSource,
  type SecretSource,
} from "../../metrics/index.ts";
import type { ObjectRef, TaskPlatform } from "../../tasks/types.ts";
import { findObject, type HeldObjects } from "./held-objects.ts";
import { knativeStatus } from "./knative-status.ts";

export class LocalTaskPlatform implements TaskPlatform {
  readonly #held: HeldObjects;
  readonly #revisionReady: (revision: string) => boolean;
  readonly #secrets: SecretSource;

  constructor(held: HeldObjects, revisionReady: (revision: string) => boolean, env: NodeJS.ProcessEnv) {
    this.#held = held;
    this.#revisionReady = revisionReady;
    const sources: SecretSource[] = [];
    if (env["ITER8_SECRETS_FILE"]) sources.push(new FileSecretSource(env["ITER8_SECRETS_FILE"]));
    sources.push(new EnvSecretSource(env));
    this.#secrets = new ChainSecretSource(sources);
  }

  async getObject(ref: ObjectRef): Promise<Record<string, unknown> | undefined> {
    const kind = trafficKindFor(ref);
    if (!kind) return undefined;
    const obj = findObject(this.#held.objects, kind, ref.namespace, ref.name);
    if (!obj) return undefined;
    const copy = structuredClone(obj);
    copy["status"] =
      kind === knativeService
        ? knativeStatus(this.#held.objects, ref.namespace, ref.name, this.#revisionReady)
        : {};
    return copy;
  }

  async getSecret(key: ObjectKey): Promise<Record<string, string> | undefined> {
    return this.#secrets.get(key);
  }
}
