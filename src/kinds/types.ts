// The contract of a traffic kind: an object kind whose fields iter8 changes to move traffic (a Knative
// Service's `spec.traffic`, an Istio VirtualService's route weights, a Gateway API HTTPRoute's
// backendRef weights). Each kind lives in one module of src/kinds/ and is registered in index.ts;
// the router's compiler, the local platform and the Kubernetes actuator learn about kinds only here.

import type { CompileContext, Obj } from "../router/compile.ts";
import type { RuleDraft } from "../router/table.ts";
import type { Segment } from "./fieldpath.ts";

export interface TrafficKind {
  /** How messages name it: "Knative Service". */
  readonly title: string;
  /** API group (`serving.knative.dev`); any version of the group is accepted. */
  readonly group: string;
  /** `kind` as manifests write it. */
  readonly kind: string;
  /** Lower-case plural resource name (`services`). */
  readonly plural: string;
  /** Other lower-case names that name only this kind (kubectl short names: `ksvc`, `vs`). */
  readonly shortNames: readonly string[];
  /**
   * The weight the kind's semantics give a weight field that is absent (Istio: a destination without
   * weight gets 0 when there are several; Gateway API: a backendRef without weight has weight 1), or
   * undefined when an absent value there is an error.
   */
  absentWeight(path: readonly Segment[]): number | undefined;
  /** A compiler of this kind's objects into the router's rules, for one table build. */
  compiler(ctx: CompileContext): KindCompiler;
}

/**
 * Compiles the objects of one kind. `add` is called for every object of the kind first (in file
 * order), so kinds that other kinds' destinations name (Knative Services) can register them with
 * `ctx.addHostResolver`; then `rules` is called once, kinds in registry order.
 */
export interface KindCompiler {
  add(obj: Obj, index: number): void;
  rules(): RuleDraft[];
}
