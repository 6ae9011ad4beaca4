// Experiment and target builders shared by the scale tests and bench/controller-scale: a Canary
// Progressive experiment on the mock Metrics that support.ts installs, shifting the two weights of
// one Istio VirtualService.
import type { Obj } from "./support.ts";

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
  const ref = (i: number) => ({
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "VirtualService",
    name: vs,
    namespace,
    fieldPath: `.spec.http[0].route[${i}].weight`,
  });
  return {
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Experiment",
    metadata: { name, namespace },
    spec: {
      target: `${namespace}/${vs}`,
      strategy: { testingPattern: "Canary", deploymentPattern: "Progressive" },
      criteria: {
        objectives: [
          { metric: "iter8-knative/mean-latency", upperLimit: 50 },
          { metric: "iter8-knative/error-rate", upperLimit: "0.01" },
        ],
      },
      duration: { intervalSeconds, iterationsPerLoop: iterations },
      versionInfo: {
        baseline: { name: "current", weightObjRef: ref(0) },
        candidates: [{ name: "candidate", weightObjRef: ref(1) }],
      },
    },
  };
}

/** The candidate's weight after `iterations` winning iterations (10 points each, at most 95). */
export function finalCandidateWeight(iterations: number): number {
  return Math.min(10 * iterations, 95);
}
