// `notification/slack`: posts a summary of the experiment to a Slack channel with
// `chat.postMessage`, the token taken from a secret's `token` key. The API base URL can be pointed
// elsewhere with ITER8_SLACK_API_URL (tests use a local server). Failures are ignored unless
// `ignoreFailure: false`.

import { winnerName } from "../analytics/winner.ts";
import type { Experiment } from "../api/types.ts";
import { readTaskSecret } from "./bash.ts";
import { notify, sendRequest } from "./http.ts";
import { type Input, InputError, optBool, problemsOf, reqString } from "./inputs.ts";
import type { TaskImpl } from "./types.ts";

export const SLACK_API_URL = "https://slack.com/api";
export const SLACK_ICON = "https://avatars.githubusercontent.com/u/53243580?s=200&v=4";
const SLACK_TIMEOUT_MS = 5000;

export function slackMessage(exp: Experiment, channel: string): Record<string, unknown> {
  const info = exp.spec.versionInfo;
  const versions = info ? [info.baseline.name, ...(info.candidates ?? []).map((c) => c.name)] : [];
  const winner = exp.status?.analysis?.winnerAssessment?.data;
  const failed = exp.status?.conditions?.find((c) => c.type === "Failed");
  const lines = [
    `*Name:* _${exp.metadata.namespace || "default"}/${exp.metadata.name}_`,
    `*Versions:* _${versions.join(", ")}_`,
    `*Stage:* _${exp.status?.stage ?? "Waiting"}_`,
    `*Winner:* _${winnerName(winner) ?? "not found"}_`,
  ];
  if (failed && failed.status !== "False") lines.push("*Failed:* _true_");
  const title = `*${exp.spec.strategy.testingPattern} experiment on ${exp.spec.target}*`;
  return {
    channel,
    text: title,
    icon_url: SLACK_ICON,
    blocks: [{ type: "section", text: { type: "mrkdwn", text: title } }],
    attachments: [{ blocks: [{ type: "section", text: { type: "mrkdwn", text: lines.join("\n") } }] }],
  };
}

function secretRef(input: Input): string {
  const s = reqString(input, "secret");
  if (s.split("/").length > 2)
    throw new InputError(`with.secret must be "name" or "namespace/name", got ${s}`);
  return s;
}

export const slackNotificationTask: TaskImpl = {
  name: "notification/slack",
  validate: (input) => [
    ...problemsOf(() => reqString(input, "channel")),
    ...problemsOf(() => secretRef(input)),
    ...problemsOf(() => optBool(input, "ignoreFailure", true)),
  ],
  timeoutMs: () => SLACK_TIMEOUT_MS + 5000,
  run: (ctx, input) =>
    notify(ctx, input, "Slack notification", async () => {
      const secret = await readTaskSecret(ctx, input);
      const token = secret?.["token"];
      if (!token) throw new Error(`secret ${secretRef(input)} has no "token" key`);
      const base = (ctx.env["ITER8_SLACK_API_URL"] || SLACK_API_URL).replace(/\/+$/, "");
      const res = await sendRequest({
        url: `${base}/chat.postMessage`,
        method: "POST",
        headers: { "Content-Type": "application/json; charset=utf-8", Authorization: `Bearer ${token}` },
        body: JSON.stringify(slackMessage(ctx.experiment, reqString(input, "channel"))),
        timeoutMs: SLACK_TIMEOUT_MS,
        signal: ctx.signal,
      });
      // Slack answers 200 with {"ok": false, "error": ...} for most failures.
      let parsed: { ok?: unknown; error?: unknown };
      try {
        parsed = JSON.parse(res.body) as { ok?: unknown; error?: unknown };
      } catch {
        throw new Error(`Slack answered with a body that is not JSON: ${res.body.slice(0, 200)}`);
      }
      if (parsed.ok !== true)
        throw new Error(`Slack refused the message: ${String(parsed.error ?? "unknown error")}`);
      ctx.log(`posted to Slack channel ${reqString(input, "channel")}\n`);
    }),
};
