// Reading Experiments from a cluster for the CLI (`iter8 kube get`, `iter8 kube describe`): list or
// watch them like kubectl, and fetch one normalised for describe together with the object as the
// user wrote it (the v2alpha1 view for experiments applied in v2alpha1). And the Metrics, for
// `iter8 get metrics`.

import type { Experiment, Metric } from "../../api/types.ts";
import { SOURCE_VERSION_ANNOTATION } from "../../api/upgrade.ts";
import { validateExperiment } from "../../api/validate.ts";
import { listWatch } from "./listwatch.ts";
import { experimentsPath, metricsPath } from "./resources.ts";
import { isNotFound, type KubeClient } from "./rest.ts";

export interface ExperimentScope {
  /** Namespace to read (ignored with `allNamespaces`). */
  namespace: string;
  allNamespaces?: boolean;
  /** Only this experiment. */
  name?: string;
}

function listPath(scope: ExperimentScope): string {
  return experimentsPath(scope.allNamespaces ? undefined : scope.namespace);
}

function selector(scope: ExperimentScope): Record<string, string> {
  return scope.name ? { fieldSelector: `metadata.name=${scope.name}` } : {};
}

export async function listExperiments(
  client: KubeClient,
  scope: ExperimentScope,
): Promise<{ items: Experiment[]; resourceVersion: string }> {
  const list = await client.get<{ items: Experiment[]; metadata: { resourceVersion: string } }>(
    listPath(scope),
    {
      query: selector(scope),
    },
  );
  return { items: list.items, resourceVersion: list.metadata.resourceVersion };
}

/**
 * Calls `onChange` for every added or modified experiment in scope until `signal` aborts; reconnects
 * (relisting when the resourceVersion expired) so a long `--watch` survives disconnects.
 */
export async function watchExperiments(
  client: KubeClient,
  scope: ExperimentScope,
  fromResourceVersion: string,
  onChange: (e: Experiment) => void,
  signal: AbortSignal,
): Promise<void> {
  await listWatch<Experiment>({
    client,
    path: listPath(scope),
    query: selector(scope),
    resourceVersion: fromResourceVersion,
    onList: (items) => {
      for (const e of items) onChange(e);
    },
    onEvent: (ev) => {
      if (ev.type === "ADDED" || ev.type === "MODIFIED") onChange(ev.object);
    },
    signal,
  });
}

export interface ClusterExperiment {
  /** Upgraded and with metric references normalised (what describe expects). */
  experiment: Experiment;
  /** As written: the v2alpha1 view for experiments applied in v2alpha1, else the stored object. */
  source: unknown;
}

export async function readExperiment(
  client: KubeClient,
  namespace: string,
  name: string,
): Promise<ClusterExperiment | undefined> {
  let stored: Experiment;
  try {
    stored = await client.get<Experiment>(experimentsPath(namespace, name));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  let source: unknown = stored;
  if (stored.metadata.annotations?.[SOURCE_VERSION_ANNOTATION] === "v2alpha1") {
    source = await client.get(experimentsPath(namespace, name).replace("/v2alpha2/", "/v2alpha1/"));
  }
  const valid = validateExperiment(stored);
  return { experiment: valid.resource ?? stored, source };
}

/** The Metric resources of `namespace`, or of every namespace when it is undefined. */
export async function listMetrics(client: KubeClient, namespace: string | undefined): Promise<Metric[]> {
  return (await client.get<{ items: Metric[] }>(metricsPath(namespace))).items;
}
