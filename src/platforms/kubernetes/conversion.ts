// CRD conversion between iter8.tools/v2alpha1 and v2alpha2 (`conversion.strategy: Webhook`), so the
// seed 004 v2alpha1 Experiment works when applied with kubectl: the API server stores v2alpha2 and
// asks this webhook to convert in either direction.
//
// Upgrade reuses `src/api` (the same code that reads v2alpha1 files). Downgrade writes what v2alpha1
// can express. What it cannot (run: tasks, several rewards, a v2alpha2-only Metric's query fields, or
// a v2alpha2 object without the v2alpha1 source mark) is kept in an annotation, and restored on the way
// back as long as the v2alpha1 spec was not changed meanwhile, so read-modify-write through v2alpha1
// never loses v2alpha2 content it did not touch.

import { createServer, type Server } from "node:https";
import { V2ALPHA1, V2ALPHA2 } from "../../api/types.ts";
import { SOURCE_VERSION_ANNOTATION, upgradeExperiment, upgradeMetric } from "../../api/upgrade.ts";
import { fieldPathToPointer } from "./actuator.ts";

type Obj = Record<string, unknown>;

/** The upgrade's replacement for v2alpha1's `$interval` (a metric template placeholder). */
const ELAPSED_SECONDS = "$" + "{elapsedTime}s";

/** Annotation holding the v2alpha2 spec a v2alpha1 view could not express. */
export const STASH_ANNOTATION = "conversion.iter8.tools/v2alpha2";

const isObj = (x: unknown): x is Obj => x !== null && typeof x === "object" && !Array.isArray(x);

/** JSON with sorted keys, for structural equality. */
export function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    isObj(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function annotations(obj: Obj): Record<string, string> {
  const md = isObj(obj["metadata"]) ? obj["metadata"] : {};
  obj["metadata"] = md;
  const ann = isObj(md["annotations"]) ? (md["annotations"] as Record<string, string>) : {};
  md["annotations"] = ann;
  return ann;
}

function tidyAnnotations(obj: Obj): void {
  const md = obj["metadata"] as Obj | undefined;
  if (md && isObj(md["annotations"]) && Object.keys(md["annotations"]).length === 0) delete md["annotations"];
}

// ---- downgrade (v2alpha2 -> v2alpha1) ------------------------------------------------------------

function downgradeExperimentBody(input: Obj): Obj {
  const exp = structuredClone(input);
  exp["apiVersion"] = V2ALPHA1;
  delete annotations(exp)[SOURCE_VERSION_ANNOTATION];
  tidyAnnotations(exp);
  const spec = isObj(exp["spec"]) ? exp["spec"] : undefined;
  if (spec) {
    const strategy = isObj(spec["strategy"]) ? spec["strategy"] : undefined;
    const actions = strategy && isObj(strategy["actions"]) ? strategy["actions"] : undefined;
    if (actions) {
      for (const [name, tasks] of Object.entries(actions)) {
        if (!Array.isArray(tasks)) continue;
        actions[name] = tasks
          .filter((t) => isObj(t) && typeof t["task"] === "string" && t["task"].includes("/"))
          .map((t) => {
            const { task, run: _run, if: _if, ...rest } = t as Obj;
            const [library, ...name] = String(task).split("/");
            return { ...rest, library, task: name.join("/") };
          });
      }
    }
    const criteria = isObj(spec["criteria"]) ? spec["criteria"] : undefined;
    if (criteria) {
      if (Array.isArray(criteria["rewards"])) {
        if (criteria["rewards"].length > 0) criteria["reward"] = criteria["rewards"][0];
        delete criteria["rewards"];
      }
      delete criteria["strength"];
    }
    const vi = isObj(spec["versionInfo"]) ? spec["versionInfo"] : undefined;
    if (vi) {
      for (const v of [vi["baseline"], ...(Array.isArray(vi["candidates"]) ? vi["candidates"] : [])]) {
        const ref = isObj(v) && isObj(v["weightObjRef"]) ? v["weightObjRef"] : undefined;
        if (ref && typeof ref["fieldPath"] === "string" && ref["fieldPath"].startsWith(".")) {
          ref["fieldPath"] = fieldPathToPointer(ref["fieldPath"]);
        }
      }
    }
  }
  const status = isObj(exp["status"]) ? exp["status"] : undefined;
  if (status) {
    if ("versionRecommendedForPromotion" in status) {
      status["recommendedBaseline"] = status["versionRecommendedForPromotion"];
      delete status["versionRecommendedForPromotion"];
    }
    if (Array.isArray(status["metrics"]) && spec) {
      spec["metrics"] = status["metrics"];
      delete status["metrics"];
    }
    const analysis = isObj(status["analysis"]) ? status["analysis"] : undefined;
    if (analysis) delete analysis["aggregatedBuiltinHists"];
  }
  return exp;
}

function downgradeMetricBody(input: Obj): Obj {
  const metric = structuredClone(input);
  metric["apiVersion"] = V2ALPHA1;
  delete annotations(metric)[SOURCE_VERSION_ANNOTATION];
  tidyAnnotations(metric);
  const spec = isObj(metric["spec"]) ? metric["spec"] : undefined;
  if (spec) {
    if (spec["type"] === "Counter") spec["type"] = "counter";
    else if (spec["type"] === "Gauge") spec["type"] = "gauge";
    if (typeof spec["sampleSize"] === "string") {
      const parts = spec["sampleSize"].split("/");
      spec["sampleSize"] = parts.length === 2 ? { namespace: parts[0], name: parts[1] } : { name: parts[0] };
    }
    if (Array.isArray(spec["params"])) {
      // The inverse of the upgrade's `$interval` -> `${elapsedTime}s`.
      spec["params"] = spec["params"].map((p) =>
        isObj(p) && typeof p["value"] === "string"
          ? { ...p, value: p["value"].replaceAll(ELAPSED_SECONDS, "$interval") }
          : p,
      );
    }
    for (const k of [
      "method",
      "body",
      "urlTemplate",
      "headerTemplates",
      "authType",
      "secret",
      "jqExpression",
      "mock",
    ]) {
      delete spec[k];
    }
    if (typeof spec["provider"] !== "string" || spec["provider"] === "") spec["provider"] = "prometheus";
  }
  return metric;
}

// ---- the two directions, with the stash --------------------------------------------------------

interface Stash {
  spec: unknown;
  /** The v2alpha2 object's source-version mark (absent when it was written in v2alpha2). */
  source?: string;
}

function upgradeBody(kind: string, obj: Obj): Obj {
  return (kind === "Metric" ? upgradeMetric(obj) : upgradeExperiment(obj)).object;
}
function downgradeBody(kind: string, obj: Obj): Obj {
  return kind === "Metric" ? downgradeMetricBody(obj) : downgradeExperimentBody(obj);
}

/** v2alpha2 -> v2alpha1, stashing what the v2alpha1 view would lose. */
export function downgrade(input: Obj): Obj {
  const kind = String(input["kind"]);
  const down = downgradeBody(kind, input);
  const back = upgradeBody(kind, down);
  const ann =
    isObj(input["metadata"]) && isObj((input["metadata"] as Obj)["annotations"])
      ? ((input["metadata"] as Obj)["annotations"] as Record<string, string>)
      : {};
  const source = ann[SOURCE_VERSION_ANNOTATION];
  const backSource = annotations(back)[SOURCE_VERSION_ANNOTATION];
  if (canonical(back["spec"]) !== canonical(input["spec"]) || backSource !== source) {
    const stash: Stash = { spec: input["spec"], ...(source !== undefined ? { source } : {}) };
    annotations(down)[STASH_ANNOTATION] = JSON.stringify(stash);
  }
  return down;
}

/** v2alpha1 -> v2alpha2, restoring stashed v2alpha2 content if the v2alpha1 spec is unchanged. */
export function upgrade(input: Obj): Obj {
  const kind = String(input["kind"]);
  const copy = structuredClone(input);
  const stashText = annotations(copy)[STASH_ANNOTATION];
  delete annotations(copy)[STASH_ANNOTATION];
  tidyAnnotations(copy);
  const up = upgradeBody(kind, copy);
  if (stashText === undefined) return up;
  let stash: Stash;
  try {
    stash = JSON.parse(stashText) as Stash;
  } catch {
    return up;
  }
  const expected = downgradeBody(kind, { ...up, apiVersion: V2ALPHA2, spec: stash.spec });
  if (canonical(expected["spec"]) !== canonical(copy["spec"])) return up; // edited in v2alpha1: it wins
  up["spec"] = stash.spec;
  const ann = annotations(up);
  if (stash.source === undefined) delete ann[SOURCE_VERSION_ANNOTATION];
  else ann[SOURCE_VERSION_ANNOTATION] = stash.source;
  tidyAnnotations(up);
  return up;
}

/** Converts one object to `desiredAPIVersion`; throws for kinds or versions it does not know. */
export function convert(obj: Obj, desiredAPIVersion: string): Obj {
  const kind = obj["kind"];
  if (kind !== "Experiment" && kind !== "Metric") throw new Error(`cannot convert kind ${String(kind)}`);
  const from = obj["apiVersion"];
  if (from === desiredAPIVersion) return obj;
  if (from === V2ALPHA1 && desiredAPIVersion === V2ALPHA2) return upgrade(obj);
  if (from === V2ALPHA2 && desiredAPIVersion === V2ALPHA1) return downgrade(obj);
  throw new Error(`cannot convert ${String(kind)} from ${String(from)} to ${desiredAPIVersion}`);
}

interface ConversionReview {
  apiVersion: string;
  kind: "ConversionReview";
  request?: { uid: string; desiredAPIVersion: string; objects: Obj[] };
}

/** Answers an apiextensions.k8s.io/v1 ConversionReview. */
export function reviewConversion(review: ConversionReview): Obj {
  const req = review.request;
  if (!req) throw new Error("ConversionReview has no request");
  try {
    const convertedObjects = req.objects.map((o) => convert(o, req.desiredAPIVersion));
    return {
      apiVersion: review.apiVersion,
      kind: "ConversionReview",
      response: { uid: req.uid, result: { status: "Success" }, convertedObjects },
    };
  } catch (err) {
    return {
      apiVersion: review.apiVersion,
      kind: "ConversionReview",
      response: {
        uid: req.uid,
        result: { status: "Failure", message: err instanceof Error ? err.message : String(err) },
        convertedObjects: [],
      },
    };
  }
}

export interface ConversionServerOptions {
  certPem: string;
  keyPem: string;
  port?: number;
  host?: string;
}

/** An HTTPS server answering ConversionReviews on `/convert`. */
export async function startConversionServer(
  opts: ConversionServerOptions,
): Promise<{ server: Server; port: number }> {
  const server = createServer({ cert: opts.certPem, key: opts.keyPem }, (req, res) => {
    if (req.method !== "POST" || req.url?.split("?")[0] !== "/convert") {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > 16 * 1024 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on("end", () => {
      try {
        const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ConversionReview;
        const body = JSON.stringify(reviewConversion(review));
        res.writeHead(200, { "content-type": "application/json" }).end(body);
      } catch (err) {
        res
          .writeHead(400, { "content-type": "text/plain" })
          .end(err instanceof Error ? err.message : String(err));
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { server, port };
}
