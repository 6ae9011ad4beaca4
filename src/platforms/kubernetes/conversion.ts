// The CRD conversion webhook (`conversion.strategy: Webhook`), so the seed 004 v2alpha1 Experiment
// works when applied with kubectl: the API server stores v2alpha2 and asks this webhook to convert in
// either direction. The conversion itself is the API layer's (src/api/convert.ts: upgrade as when
// reading files, and lossless round trips through the other version); this module only answers
// ConversionReviews over HTTPS.

import { createServer, type Server } from "node:https";
import { convertExperiment, convertMetric } from "../../api/convert.ts";
import { V2ALPHA1, V2ALPHA2 } from "../../api/types.ts";

type Obj = Record<string, unknown>;

/** Converts one object to `desiredAPIVersion`; throws for kinds or versions it does not know. */
export function convert(obj: Obj, desiredAPIVersion: string): Obj {
  const kind = obj["kind"];
  if (kind !== "Experiment" && kind !== "Metric") throw new Error(`cannot convert kind ${String(kind)}`);
  const from = obj["apiVersion"];
  if (from === desiredAPIVersion) return obj;
  if (
    (from === V2ALPHA1 || from === V2ALPHA2) &&
    (desiredAPIVersion === V2ALPHA1 || desiredAPIVersion === V2ALPHA2)
  )
    return kind === "Metric"
      ? convertMetric(obj, desiredAPIVersion)
      : convertExperiment(obj, desiredAPIVersion);
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
