import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { templateData } from "../../../src/tasks/data.ts";
import { ANGLE, CURLY, interpolate, TemplateError } from "../../../src/tasks/template.ts";
import { experimentFixture, version, winnerAssessment } from "../../support/experiments.ts";

function experiment(recommended?: string): Experiment {
  return experimentFixture({
    name: "canary-progressive",
    target: "default/sample-app",
    versions: [
      version("current", { promote: "baseline" }),
      version("candidate", { promote: "candidate", query: "a=1&b=<2>" }),
    ],
    status: {
      analysis: { winnerAssessment: winnerAssessment("candidate", { provenance: "p", timestamp: "t" }) },
      ...(recommended ? { versionRecommendedForPromotion: recommended } : {}),
    },
  });
}

describe("interpolate", () => {
  const exp = experiment("candidate");
  const cases: Array<[string, string, string]> = [
    ["seed 001 values URL", "https://x/{{ .promote }}-values.yaml", "https://x/candidate-values.yaml"],
    ["no spaces", "{{.promote}}", "candidate"],
    ["name of the recommended version", "{{ .name }}", "candidate"],
    ["no HTML escaping", "{{ .query }}", "a=1&b=<2>"],
    ["missing key renders empty", "[{{ .nothing }}]", "[]"],
    ["missing nested key renders empty", "[{{ .promote.deeper }}]", "[]"],
    [
      "experiment map",
      "{{ .this.metadata.name }} on {{ .this.spec.target }}",
      "canary-progressive on default/sample-app",
    ],
    ["list index", "{{ .this.spec.versionInfo.candidates.0.name }}", "candidate"],
    ["object as JSON", "{{ .this.metadata }}", '{"name":"canary-progressive","namespace":"default"}'],
    ["trim markers", "a {{- .promote -}} b", "acandidateb"],
    ["several actions", "{{ .name }}/{{ .promote }}", "candidate/candidate"],
  ];
  for (const [label, text, want] of cases) {
    it(label, () => {
      assert.equal(interpolate(text, templateData(exp, { withThis: true }), CURLY), want);
    });
  }

  it("angle delimiters leave curly braces alone", () => {
    const data = templateData(exp, { withThis: true, goFields: true, secret: { token: "s3cr&t" } });
    assert.equal(
      interpolate(
        '{{ .x }} @< .promote >@ @< .Secret "token" >@ @< .Spec.Target >@ @< .CandidateWon >@',
        data,
        ANGLE,
      ),
      "{{ .x }} candidate s3cr&t default/sample-app true",
    );
    assert.equal(interpolate("@< .Secret 'token' >@ @< .secret.token >@", data, ANGLE), "s3cr&t s3cr&t");
    assert.equal(
      interpolate("@< .Status.VersionRecommendedForPromotion >@ @< .Name >@", data, ANGLE),
      "candidate canary-progressive",
    );
  });

  it("the baseline's variables when the baseline is recommended", () => {
    assert.equal(
      interpolate("{{ .promote }}", templateData(experiment("current"), { withThis: false }), CURLY),
      "baseline",
    );
  });

  const bad: Array<[string, RegExp]> = [
    ["{{ .promote ", /unclosed "\{\{" at position 1/],
    ["{{ .promote | quote }}", /unsupported template expression "\.promote \| quote"/],
    ["{{ if .x }}", /unsupported template expression "if \.x"/],
    ['{{ .Secret "k" }}', /the task has no secret/],
  ];
  for (const [text, err] of bad) {
    it(`rejects ${text}`, () => {
      assert.throws(
        () => interpolate(text, templateData(exp, { withThis: true }), CURLY),
        (e: Error) => {
          assert.ok(e instanceof TemplateError);
          assert.match(e.message, err);
          return true;
        },
      );
    });
  }
});
