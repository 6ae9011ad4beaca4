// The Kubernetes platform: controller, adapters, conversion webhook, CRDs and cluster reads.
export { fieldPathToPointer, KubeTrafficActuator, valueAtPointer } from "./actuator.ts";
export { chartFiles } from "./chart.ts";
export {
  type ClusterExperiment,
  type ExperimentScope,
  listExperiments,
  listMetrics,
  readExperiment,
  watchExperiments,
} from "./cluster-read.ts";
export { Controller, type ControllerOptions, jsonLogger } from "./controller.ts";
export { convert, reviewConversion, startConversionServer } from "./conversion.ts";
export { type ConversionClient, crdFiles, experimentCrd, metricCrd } from "./crds.ts";
export { Discovery } from "./discovery.ts";
export { startHealthServer } from "./health.ts";
export { type KubeconfigFlags, kubeClient, resolveConnection } from "./kubeconfig.ts";
export { LeaderElector } from "./leader.ts";
export { KubeSecretSource, KubeTaskPlatform, readSecret } from "./platform.ts";
export * from "./resources.ts";
export { type ClusterConnection, KubeApiError, KubeClient } from "./rest.ts";
export { KubeExperimentStore } from "./store.ts";
