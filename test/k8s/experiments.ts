// Experiment and target builders shared by the scale tests and bench/controller-scale: a Canary
// Progressive experiment on the mock Metrics that support.ts installs, shifting the two weights of
// one Istio VirtualService.
import type { Experiment, Metric } from "../../src/api/types.ts";
import { experimentFixture, knativeObjectives, virtualServiceRef } from "../support/experiments.ts";
import type { Obj } from "./support.ts";

/** An Experiment or Metric as the plain document the API client sends. */
export const asObj = (o: Experiment | Metric): Obj => ({ ...o });

/** A VirtualService with routes v1 (weight 100) and v2 (weight 0). */
export function twoRouteVirtualService(namespace: string, name: string): Obj {
  const route = (host: string, weight: number) => ({ destination: { host }, weight });
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "VirtualService",
    metadata: { name, namespace },
    spec: { hosts: ["example.com"], http: [{ route: [route("v1", 100), route("v2", 0)] }] },
  };
}

export const vsWeightsOf = (o: Obj): (number | undefined)[] =>
  ((o["spec"] as { http: { route: { weight?: number }[] }[] }).http[0]!.route ?? []).map((r) => r.weight);

/** Canary/Progressive on `vs`; the mock metrics make the candidate win every iteration. */
export function canaryOn(
  namespace: string,
  name: string,
  vs: string,
  iterations: number,
  intervalSeconds: number,
): Obj {
  return asObj(
    experimentFixture({
      name,
      namespace,
      target: `${namespace}/${vs}`,
      deploymentPattern: "Progressive",
      criteria: { objectives: knativeObjectives() },
      duration: { intervalSeconds, iterationsPerLoop: iterations },
      weightObjRefs: (i) => virtualServiceRef(vs, i, namespace),
    }),
  );
}

/** The candidate's weight after `iterations` winning iterations (10 points each, at most 95). */
export function finalCandidateWeight(iterations: number): number {
  return Math.min(10 * iterations, 95);
}
