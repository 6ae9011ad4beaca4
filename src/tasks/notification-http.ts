// `notification/http`: a request with a JSON summary of the experiment (or a templated
// body), optional auth from a secret, 5 s timeout; failures are ignored unless `ignoreFailure: false`.
// Body and header values are interpolated with `@< >@` (`.this`, `.secret.*`, the recommended
// version's variables); the URL is not.

import { winnerName } from "../analytics/winner.ts";
import type { Experiment } from "../api/types.ts";
import { readTaskSecret } from "./bash.ts";
import { templateData } from "./data.ts";
import { notify, sendRequest } from "./http.ts";
import { type Input, InputError, optBool, optList, optString, problemsOf } from "./inputs.ts";
import { ANGLE, interpolate } from "./template.ts";
import type { TaskImpl } from "./types.ts";

export const NOTIFICATION_TIMEOUT_MS = 5000;

function url(input: Input): string {
  // The original's field is `URL`; Go's JSON decoding made `url` work too.
  const u = optString(input, "url") ?? optString(input, "URL");
  if (!u) throw new InputError("with.url is required");
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    throw new InputError(`with.url is not a valid URL: ${JSON.stringify(u)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new InputError(`with.url must be http or https, got ${u}`);
  return u;
}

function method(input: Input): "GET" | "POST" {
  const m = (optString(input, "method") ?? "POST").toUpperCase();
  if (m !== "GET" && m !== "POST") throw new InputError(`with.method must be GET or POST, got ${m}`);
  return m;
}

function authType(input: Input): "Basic" | "Bearer" | "APIKey" | undefined {
  const a = optString(input, "authType");
  if (a === undefined) return undefined;
  if (a !== "Basic" && a !== "Bearer" && a !== "APIKey")
    throw new InputError(`with.authType must be Basic, Bearer or APIKey, got ${a}`);
  return a;
}

function headers(input: Input): Array<{ name: string; value: string }> {
  return (optList(input, "headers") ?? []).map((h, i) => {
    const e = h as { name?: unknown; value?: unknown };
    if (
      !h ||
      typeof h !== "object" ||
      typeof e.name !== "string" ||
      e.name === "" ||
      typeof e.value !== "string"
    ) {
      throw new InputError(`with.headers[${i}] must be {name, value} strings`);
    }
    return { name: e.name, value: e.value };
  });
}

/** The default body: a summary plus the whole experiment (weights under key `value`, as the code did). */
export function defaultBody(exp: Experiment): string {
  const winner = exp.status?.analysis?.winnerAssessment?.data;
  const summary: Record<string, unknown> = { winnerFound: winner?.winnerFound === true };
  const name = winnerName(winner);
  if (name) summary["winner"] = name;
  if (exp.status?.versionRecommendedForPromotion) {
    summary["versionRecommendedForPromotion"] = exp.status.versionRecommendedForPromotion;
  }
  const weights = exp.status?.analysis?.weights?.data;
  if (weights && weights.length > 0)
    summary["lastRecommendedWeights"] = weights.map((w) => ({ name: w.name, value: w.value }));
  return JSON.stringify({ summary, experiment: exp });
}

export const httpNotificationTask: TaskImpl = {
  name: "notification/http",
  validate: (input) => [
    ...problemsOf(() => url(input)),
    ...problemsOf(() => method(input)),
    ...problemsOf(() => authType(input)),
    ...problemsOf(() => headers(input)),
    ...problemsOf(() => optString(input, "body")),
    ...problemsOf(() => optString(input, "secret")),
    ...problemsOf(() => optBool(input, "ignoreFailure", true)),
  ],
  timeoutMs: () => NOTIFICATION_TIMEOUT_MS + 5000,
  run: (ctx, input) =>
    notify(ctx, input, "notification", async () => {
      const secret = await readTaskSecret(ctx, input);
      const auth = authType(input);
      if ((auth === "Basic" || auth === "Bearer") && !secret)
        throw new Error(`authType ${auth} needs with.secret`);
      const data = templateData(ctx.experiment, { withThis: true, ...(secret ? { secret } : {}) });
      const h: Record<string, string> = { "Content-Type": "application/json" };
      if (auth === "Basic") {
        const token = Buffer.from(`${secret!["username"] ?? ""}:${secret!["password"] ?? ""}`).toString(
          "base64",
        );
        h["Authorization"] = `Basic ${token}`;
      } else if (auth === "Bearer") {
        h["Authorization"] = `Bearer ${secret!["token"] ?? ""}`;
      }
      for (const { name, value } of headers(input)) {
        // A user header replaces a default one whatever its case.
        for (const k of Object.keys(h)) if (k.toLowerCase() === name.toLowerCase()) delete h[k];
        h[name] = interpolate(value, data, ANGLE);
      }
      const bodyTemplate = optString(input, "body");
      const body =
        bodyTemplate === undefined ? defaultBody(ctx.experiment) : interpolate(bodyTemplate, data, ANGLE);
      const m = method(input);
      const res = await sendRequest({
        url: url(input),
        method: m,
        headers: h,
        body,
        timeoutMs: NOTIFICATION_TIMEOUT_MS,
        signal: ctx.signal,
      });
      ctx.log(`${m} ${url(input)}: HTTP ${res.status}\n`);
    }),
};
