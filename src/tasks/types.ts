// What a task sees while it runs, and the platform hooks that differ between Kubernetes and local
// mode (reading objects such as Knative Services, reading secrets).

import type { Experiment } from "../api/types.ts";
import type { ActionName, Clock, ObjectKey } from "../engine/ports.ts";

/** An object a task wants to look at (`common/readiness` objRefs, Knative Services, weightObjRefs). */
export interface ObjectRef {
  /** A Kind (`Service`) or a kubectl resource type (`ksvc`, `virtualservice.v1beta1.networking.istio.io`). */
  kind: string;
  name: string;
  namespace: string;
  /** `group/version` when known (`serving.knative.dev/v1`). */
  apiVersion?: string;
}

/**
 * Platform hooks for tasks. On Kubernetes they read the cluster; locally they answer from the lab's
 * manifests and the state of its processes (e.g. a Knative Service's `Ready` conditions turn True
 * once the version processes serve), so the same task code runs on both.
 */
export interface TaskPlatform {
  /** The object as a plain JSON map, or undefined if it does not exist. Throws on transport errors. */
  getObject(ref: ObjectRef): Promise<Record<string, unknown> | undefined>;
  /** The decoded data of a secret, or undefined if it does not exist. Throws on transport errors. */
  getSecret(key: ObjectKey): Promise<Record<string, string> | undefined>;
}

export interface TaskContext {
  action: ActionName;
  /** The working copy of the experiment: tasks may change it (versionInfo, builtin histograms). */
  experiment: Experiment;
  platform: TaskPlatform;
  clock: Clock;
  /** Aborted when the task's timeout passes or the action is cancelled. */
  signal: AbortSignal;
  /** Environment for child processes. */
  env: NodeJS.ProcessEnv;
  /** The task's time budget, for child processes it starts. */
  timeoutMs: number;
  /** Appends to the task's output (kept for describe/logs). */
  log(text: string): void;
}

export interface TaskImpl {
  name: string;
  /** Problems with the task's `with` inputs, each naming the field. */
  validate(input: Record<string, unknown>): string[];
  /** How long the task may run with these inputs. */
  timeoutMs(input: Record<string, unknown>): number;
  /** Fields of the experiment the task changes (returned to the engine as the action's effects). */
  effects?: readonly ("versionInfo" | "aggregatedBuiltinHists")[];
  /** Runs the task; throws to fail it. */
  run(ctx: TaskContext, input: Record<string, unknown>): Promise<void>;
}
