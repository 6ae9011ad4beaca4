// The one interpretation of weight fields (readWeights, writeWeights), against an actuator that holds
// plain objects and answers raw values, as the platform adapters do.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DeploymentPattern, Experiment, VersionDetail, WeightObjRef } from "../../../src/api/types.ts";
import type { FieldWrite, TrafficActuator, WeightField } from "../../../src/engine/ports.ts";
import { readWeights, weightFields, writeWeights } from "../../../src/engine/weights.ts";
import { getPath, parseFieldPath, setPath } from "../../../src/kinds/fieldpath.ts";

type Obj = Record<string, unknown>;

/** Objects by `kind namespace/name`; raw values at field paths, every call recorded. */
class ObjectActuator implements TrafficActuator {
  readonly objects = new Map<string, Obj>();
  readonly reads: WeightField[][] = [];
  readonly writes: FieldWrite[][] = [];

  constructor(objects: Record<string, Obj>) {
    for (const [k, o] of Object.entries(objects)) this.objects.set(k, structuredClone(o));
  }

  #object(f: WeightField): Obj {
    const o = this.objects.get(`${f.kind} ${f.namespace}/${f.name}`);
    if (!o) throw new Error(`${f.kind} ${f.namespace}/${f.name} not found`);
    return o;
  }

  async readFields(fields: readonly WeightField[]): Promise<unknown[]> {
    this.reads.push([...fields]);
    return fields.map((f) => getPath(this.#object(f), parseFieldPath(f.fieldPath)));
  }

  async writeFields(writes: readonly FieldWrite[]): Promise<void> {
    this.writes.push([...writes]);
    for (const w of writes) setPath(this.#object(w.field), parseFieldPath(w.field.fieldPath), w.value);
  }
}

const ksvc = (traffic: unknown[]): Obj => ({ spec: { traffic } });
const vs = (route: unknown[]): Obj => ({ spec: { http: [{ route }] } });
const httpRoute = (backendRefs: unknown[]): Obj => ({ spec: { rules: [{ backendRefs }] } });

const KSVC = { apiVersion: "serving.knative.dev/v1", kind: "Service", name: "app" };
const VS = { apiVersion: "networking.istio.io/v1beta1", kind: "VirtualService", name: "app" };
const ROUTE = { apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", name: "app" };

const percent = (i: number): WeightObjRef => ({ ...KSVC, fieldPath: `.spec.traffic[${i}].percent` });
const vsWeight = (i: number): WeightObjRef => ({ ...VS, fieldPath: `.spec.http[0].route[${i}].weight` });
const backendWeight = (i: number): WeightObjRef => ({
  ...ROUTE,
  fieldPath: `.spec.rules[0].backendRefs[${i}].weight`,
});

function experiment(
  refs: Array<WeightObjRef | undefined>,
  opts: { deploymentPattern?: DeploymentPattern; namespace?: string } = {},
): Experiment {
  const versions: VersionDetail[] = refs.map((ref, i) => ({
    name: `v${i + 1}`,
    ...(ref ? { weightObjRef: ref } : {}),
  }));
  return {
    apiVersion: "iter8.tools/v2alpha2",
    kind: "Experiment",
    metadata: { name: "e", ...(opts.namespace ? { namespace: opts.namespace } : {}) },
    spec: {
      target: "app",
      strategy: {
        testingPattern: versions.length > 2 ? "A/B/N" : "Canary",
        ...(opts.deploymentPattern ? { deploymentPattern: opts.deploymentPattern } : {}),
      },
      versionInfo: { baseline: versions[0]!, candidates: versions.slice(1) },
    },
  };
}

interface ReadCase {
  name: string;
  objects: Record<string, Obj>;
  exp: Experiment;
  /** The weights read, by value in order, or the error expected. */
  want: Array<[string, number]> | RegExp;
}

const readCases: ReadCase[] = [
  {
    name: "integers at both fields",
    objects: { "Service default/app": ksvc([{ percent: 70 }, { percent: 30 }]) },
    exp: experiment([percent(0), percent(1)]),
    want: [
      ["v1", 70],
      ["v2", 30],
    ],
  },
  {
    name: "an absent Knative percent is 0",
    objects: { "Service default/app": ksvc([{ percent: 100 }, { tag: "candidate" }]) },
    exp: experiment([percent(0), percent(1)]),
    want: [
      ["v1", 100],
      ["v2", 0],
    ],
  },
  {
    name: "an absent Istio route weight is 0",
    objects: { "VirtualService default/app": vs([{ destination: { host: "a" } }, { weight: 100 }]) },
    exp: experiment([vsWeight(0), vsWeight(1)]),
    want: [
      ["v1", 0],
      ["v2", 100],
    ],
  },
  {
    name: "an absent Gateway API backendRef weight is 1",
    objects: { "HTTPRoute default/app": httpRoute([{ name: "a", weight: 99 }, { name: "b" }]) },
    exp: experiment([backendWeight(0), backendWeight(1)]),
    want: [
      ["v1", 99],
      ["v2", 1],
    ],
  },
  {
    name: "an absent field the kind gives no meaning is an error",
    objects: { "Service default/app": ksvc([{ percent: 100 }, {}]) },
    exp: experiment([percent(0), { ...KSVC, fieldPath: ".spec.traffic[1].share" }]),
    want: /version v2: Service default\/app \.spec\.traffic\[1\]\.share is absent, not an integer$/,
  },
  {
    name: "a field whose entry is gone takes the kind's default too",
    objects: { "Service default/app": ksvc([{ percent: 100 }]) },
    exp: experiment([percent(0), percent(1)]),
    want: [
      ["v1", 100],
      ["v2", 0],
    ],
  },
  {
    name: "an absent field of a kind iter8 does not know is an error",
    objects: { "Rollout default/app": { spec: { steps: [{ weight: 10 }, {}] } } },
    exp: experiment([
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Rollout",
        name: "app",
        fieldPath: ".spec.steps[0].weight",
      },
      {
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Rollout",
        name: "app",
        fieldPath: ".spec.steps[1].weight",
      },
    ]),
    want: /version v2: Rollout default\/app \.spec\.steps\[1\]\.weight is absent, not an integer/,
  },
  {
    name: "numeric strings are weights",
    objects: { "VirtualService default/app": vs([{ weight: "80" }, { weight: "20" }]) },
    exp: experiment([vsWeight(0), vsWeight(1)]),
    want: [
      ["v1", 80],
      ["v2", 20],
    ],
  },
  {
    name: "a string that is not an integer is an error",
    objects: { "VirtualService default/app": vs([{ weight: "80%" }, { weight: 20 }]) },
    exp: experiment([vsWeight(0), vsWeight(1)]),
    want: /version v1: VirtualService default\/app \.spec\.http\[0\]\.route\[0\]\.weight is "80%", not an integer$/,
  },
  {
    name: "an empty string is an error, not 0",
    objects: { "VirtualService default/app": vs([{ weight: "" }, { weight: 100 }]) },
    exp: experiment([vsWeight(0), vsWeight(1)]),
    want: /route\[0\]\.weight is "", not an integer/,
  },
  {
    name: "a fraction is an error",
    objects: { "Service default/app": ksvc([{ percent: 87.5 }, { percent: 12.5 }]) },
    exp: experiment([percent(0), percent(1)]),
    want: /version v1: Service default\/app \.spec\.traffic\[0\]\.percent is 87\.5, not an integer$/,
  },
  {
    name: "a non-scalar is an error",
    objects: { "Service default/app": ksvc([{ percent: 100 }, { percent: 0 }]) },
    exp: experiment([percent(0), { ...KSVC, fieldPath: ".spec.traffic[1]" }]),
    want: /\.spec\.traffic\[1\] is \{"percent":0\}, not an integer/,
  },
  {
    name: "the one version without a fieldPath has what the others leave, listed last",
    objects: { "Service default/app": ksvc([{ percent: 100 }, { percent: 25 }]) },
    exp: experiment([undefined, percent(1)]),
    want: [
      ["v2", 25],
      ["v1", 75],
    ],
  },
  {
    name: "a weightObjRef without fieldPath counts as no field",
    objects: { "Service default/app": ksvc([{ percent: 40 }]) },
    exp: experiment([percent(0), { ...KSVC }]),
    want: [
      ["v1", 40],
      ["v2", 60],
    ],
  },
  {
    name: "two versions without fields are an error",
    objects: { "Service default/app": ksvc([{ percent: 100 }]) },
    exp: experiment([percent(0), undefined, undefined]),
    want: /versions v2, v3 have no weightObjRef\.fieldPath; at most one may omit it/,
  },
  {
    name: "in FixedSplit, versions without fields are only not reported",
    objects: { "Service default/app": ksvc([{ percent: 100 }]) },
    exp: experiment([percent(0), undefined, undefined], { deploymentPattern: "FixedSplit" }),
    want: [["v1", 100]],
  },
  {
    name: "with no field at all nothing is observable",
    objects: {},
    exp: experiment([undefined, undefined]),
    want: [],
  },
  {
    name: "a bare ref name resolves in the experiment's namespace",
    objects: { "Service team/app": ksvc([{ percent: 10 }, { percent: 90 }]) },
    exp: experiment([percent(0), percent(1)], { namespace: "team" }),
    want: [
      ["v1", 10],
      ["v2", 90],
    ],
  },
  {
    name: "a ref's own namespace wins",
    objects: { "Service other/app": ksvc([{ percent: 10 }, { percent: 90 }]) },
    exp: experiment(
      [
        { ...percent(0), namespace: "other" },
        { ...percent(1), namespace: "other" },
      ],
      {
        namespace: "team",
      },
    ),
    want: [
      ["v1", 10],
      ["v2", 90],
    ],
  },
  {
    name: "a ref without kind is an error naming the version",
    objects: {},
    exp: experiment([percent(0), { name: "app", fieldPath: ".spec.traffic[1].percent" }]),
    want: /version v2: weightObjRef needs kind and name$/,
  },
  {
    name: "a fieldPath that does not parse is an error naming the version",
    objects: {},
    exp: experiment([percent(0), { ...KSVC, fieldPath: "spec.traffic[1].percent" }]),
    want: /version v2: weightObjRef\.fieldPath: field path must start with "\."/,
  },
];

describe("readWeights", () => {
  for (const c of readCases) {
    it(c.name, async () => {
      const actuator = new ObjectActuator(c.objects);
      const read = readWeights(actuator, c.exp);
      if (c.want instanceof RegExp) {
        await assert.rejects(read, c.want);
        return;
      }
      assert.deepEqual(
        await read,
        c.want.map(([name, value]) => ({ name, value })),
      );
    });
  }

  it("reads every field in one call, in version order", async () => {
    const actuator = new ObjectActuator({ "Service default/app": ksvc([{ percent: 70 }, { percent: 30 }]) });
    await readWeights(actuator, experiment([percent(0), percent(1)]));
    assert.deepEqual(
      actuator.reads.map((r) => r.map((f) => `${f.version} ${f.fieldPath}`)),
      [["v1 .spec.traffic[0].percent", "v2 .spec.traffic[1].percent"]],
    );
  });

  it("does not ask the actuator when no version has a field", async () => {
    const actuator = new ObjectActuator({});
    await readWeights(actuator, experiment([undefined]));
    assert.equal(actuator.reads.length, 0);
  });
});

interface WriteCase {
  name: string;
  exp: Experiment;
  weights: Array<[string, number]>;
  /** The fields written, as `version fieldPath=value`, in one call; or the error expected. */
  want: string[] | RegExp;
}

const writeCases: WriteCase[] = [
  {
    name: "every field in one call",
    exp: experiment([percent(0), percent(1)]),
    weights: [
      ["v1", 60],
      ["v2", 40],
    ],
    want: ["v1 .spec.traffic[0].percent=60", "v2 .spec.traffic[1].percent=40"],
  },
  {
    name: "a version without a field is not written",
    exp: experiment([undefined, percent(1)]),
    weights: [
      ["v1", 60],
      ["v2", 40],
    ],
    want: ["v2 .spec.traffic[1].percent=40"],
  },
  {
    name: "a missing weight for a version with a field is an error before anything is written",
    exp: experiment([percent(0), percent(1)]),
    weights: [["v1", 60]],
    want: /version v2: no weight to write at Service default\/app \.spec\.traffic\[1\]\.percent$/,
  },
  {
    name: "weights of unknown versions are ignored",
    exp: experiment([percent(0), percent(1)]),
    weights: [
      ["v1", 50],
      ["v2", 50],
      ["v9", 10],
    ],
    want: ["v1 .spec.traffic[0].percent=50", "v2 .spec.traffic[1].percent=50"],
  },
];

describe("writeWeights", () => {
  for (const c of writeCases) {
    it(c.name, async () => {
      const actuator = new ObjectActuator({
        "Service default/app": ksvc([{ percent: 100 }, { percent: 0 }]),
      });
      const write = writeWeights(
        actuator,
        c.exp,
        c.weights.map(([name, value]) => ({ name, value })),
      );
      if (c.want instanceof RegExp) {
        await assert.rejects(write, c.want);
        assert.equal(actuator.writes.length, 0);
        return;
      }
      await write;
      assert.deepEqual(
        actuator.writes.map((w) => w.map((x) => `${x.field.version} ${x.field.fieldPath}=${x.value}`)),
        [c.want],
      );
    });
  }

  it("does not ask the actuator when no version has a field", async () => {
    const actuator = new ObjectActuator({});
    await writeWeights(actuator, experiment([undefined]), [{ name: "v1", value: 100 }]);
    assert.equal(actuator.writes.length, 0);
  });

  it("what is written reads back", async () => {
    const actuator = new ObjectActuator({
      "HTTPRoute default/app": httpRoute([{ name: "a", weight: 100 }, { name: "b" }]),
    });
    const exp = experiment([backendWeight(0), backendWeight(1)]);
    await writeWeights(actuator, exp, [
      { name: "v1", value: 30 },
      { name: "v2", value: 70 },
    ]);
    assert.deepEqual(await readWeights(actuator, exp), [
      { name: "v1", value: 30 },
      { name: "v2", value: 70 },
    ]);
  });
});

describe("weightFields", () => {
  it("resolves the namespace and keeps apiVersion only when the ref names one", () => {
    const exp = experiment([
      { kind: "ksvc", name: "app", fieldPath: ".spec.traffic[0].percent" },
      percent(1),
    ]);
    assert.deepEqual(weightFields(exp), [
      {
        version: "v1",
        kind: "ksvc",
        namespace: "default",
        name: "app",
        fieldPath: ".spec.traffic[0].percent",
      },
      { version: "v2", ...KSVC, namespace: "default", fieldPath: ".spec.traffic[1].percent" },
    ]);
  });
});
