// The committed CRDs are exactly what scripts/gen-crds.ts generates from the API schemas, and they
// carry what kubectl and the controller rely on: versions, status subresource, printer columns.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { chartFiles } from "../../../src/platforms/kubernetes/chart.ts";
import { crdFiles, experimentCrd, metricCrd } from "../../../src/platforms/kubernetes/crds.ts";

const DEPLOY = join(import.meta.dirname, "..", "..", "..", "deploy");
const DIR = join(DEPLOY, "crds");

type Version = {
  name: string;
  served: boolean;
  storage: boolean;
  subresources?: unknown;
  additionalPrinterColumns: { name: string; jsonPath: string }[];
  schema: { openAPIV3Schema: { properties: Record<string, { properties?: Record<string, unknown> }> } };
};

describe("deploy/crds", () => {
  for (const [name, text] of Object.entries(crdFiles())) {
    test(`${name} is up to date (run node scripts/gen-crds.ts)`, () => {
      assert.equal(readFileSync(join(DIR, name), "utf8"), text);
    });
  }

  test("Experiment: v2alpha2 stored, v2alpha1 served, status subresource, kubectl columns", () => {
    const crd = experimentCrd() as { spec: { versions: Version[]; conversion: { strategy: string } } };
    const [v2, v1] = crd.spec.versions;
    assert.deepEqual([v2!.name, v2!.storage, v2!.served], ["v2alpha2", true, true]);
    assert.deepEqual([v1!.name, v1!.storage, v1!.served], ["v2alpha1", false, true]);
    assert.equal(crd.spec.conversion.strategy, "Webhook");
    for (const v of [v2!, v1!]) {
      assert.deepEqual(v.subresources, { status: {} });
      assert.deepEqual(
        v.additionalPrinterColumns.map((c) => c.name.toUpperCase()),
        ["TYPE", "TARGET", "STAGE", "COMPLETED ITERATIONS", "MESSAGE"],
      );
      // The engine's resumption records survive pruning.
      const status = v.schema.openAPIV3Schema.properties["status"]!.properties!;
      assert.ok("actions" in status && "retry" in status);
    }
  });

  test("Metric columns are TYPE DESCRIPTION; no status subresource", () => {
    const crd = metricCrd() as { spec: { versions: Version[] } };
    for (const v of crd.spec.versions) {
      assert.deepEqual(
        v.additionalPrinterColumns.map((c) => [c.name.toUpperCase(), c.jsonPath]),
        [
          ["TYPE", ".spec.type"],
          ["DESCRIPTION", ".spec.description"],
        ],
      );
      assert.equal(v.subresources, undefined);
    }
  });

  test("a conversion client URL and CA bundle replace the in-cluster service", () => {
    const crd = experimentCrd({ url: "https://127.0.0.1:1/convert", caBundlePem: "PEM" }) as {
      spec: { conversion: { webhook: { clientConfig: Record<string, unknown> } } };
    };
    assert.deepEqual(crd.spec.conversion.webhook.clientConfig, {
      url: "https://127.0.0.1:1/convert",
      caBundle: Buffer.from("PEM").toString("base64"),
    });
    const committed = parse(readFileSync(join(DIR, "iter8.tools_experiments.yaml"), "utf8"));
    assert.deepEqual(committed.spec.conversion.webhook.clientConfig.service, {
      namespace: "iter8-system",
      name: "iter8-controller",
      path: "/convert",
      port: 443,
    });
  });

  for (const [name, text] of Object.entries(chartFiles(DEPLOY))) {
    test(`helm chart ${name} is up to date (run node scripts/gen-crds.ts)`, () => {
      assert.equal(readFileSync(join(DEPLOY, "helm", "iter8", name), "utf8"), text);
    });
  }

  test("the chart templates only the namespace, the documented values and the webhook certificate", () => {
    const allowed = new Set([
      "{{ .Release.Namespace }}",
      "{{ $.Release.Namespace }}",
      "{{ .Values.image.repository }}",
      "{{ .Values.image.tag | default .Chart.AppVersion }}",
      "{{ .Values.image.pullPolicy }}",
      "{{ .Values.replicas }}",
      "{{ .Values.nodeOptions | quote }}",
      "{{- with .Values.watchNamespaces }}",
      '{{ join "," . }}',
      "{{- end }}",
      "{{- if .Values.sampleMetrics }}",
      '{{ .Values.metrics.prometheusUrl | trimSuffix "/" }}',
      ...[
        "podSecurityContext",
        "imagePullSecrets",
        "nodeSelector",
        "tolerations",
        "affinity",
        "resources",
      ].map((v) => `{{- with .Values.${v} }}`),
      "{{- toYaml . | nindent 8 }}",
      "{{- toYaml . | nindent 12 }}",
      // rbac.extraTargets; Secrets cluster-wide only without watchNamespaces, else a Role per namespace.
      "{{- range .Values.rbac.extraTargets }}",
      "{{ toJson .apiGroups }}",
      "{{ toJson .resources }}",
      '{{ toJson (.verbs | default (list "get" "patch")) }}',
      "{{- if not .Values.watchNamespaces }}",
      "{{- if .Values.watchNamespaces }}",
      "{{- range concat .Values.watchNamespaces .Values.rbac.secretNamespaces (list .Release.Namespace) | uniq }}",
      "{{ . }}",
      // The webhook certificate: the existing Secret's, else a new CA and certificate.
      '{{- $existing := (lookup "v1" "Secret" .Release.Namespace "iter8-controller-webhook").data | default dict }}',
      '{{- $crt := index $existing "tls.crt" }}',
      '{{- $key := index $existing "tls.key" }}',
      '{{- $caCrt := index $existing "ca.crt" }}',
      "{{- if not (and $crt $key $caCrt) }}",
      '{{- $ca := genCA "iter8-webhook-ca" 3650 }}',
      '{{- $host := printf "iter8-controller.%s.svc" .Release.Namespace }}',
      "{{- $cert := genSignedCert $host nil (list $host) 3650 $ca }}",
      "{{- $crt = $cert.Cert | b64enc }}",
      "{{- $key = $cert.Key | b64enc }}",
      "{{- $caCrt = $ca.Cert | b64enc }}",
      "{{ $crt }}",
      "{{ $key }}",
      "{{ $caCrt }}",
    ]);
    // Helm does not template crds/ (they are deploy/crds verbatim; the controller sets their namespace).
    const templates = Object.entries(chartFiles(DEPLOY)).filter(([name]) => name.startsWith("templates/"));
    for (const [name, text] of templates) {
      for (const action of text.match(/\{\{[^}]*\}\}/g) ?? []) {
        assert.ok(allowed.has(action), `${name}: unexpected template action ${action}`);
      }
      // Once the actions are removed, what is left is the plain manifests' YAML.
      assert.ok(
        !/(namespace|sampleSize): iter8-system/.test(text),
        `${name} hard-codes the install namespace`,
      );
    }
  });

  test("the chart's crds/ are deploy/crds verbatim", () => {
    for (const name of Object.keys(crdFiles())) {
      assert.equal(chartFiles(DEPLOY)[`crds/${name}`], readFileSync(join(DIR, name), "utf8"));
    }
  });

  test("the chart creates the sample Metrics in a post-install hook (their kind exists only after the CRDs)", () => {
    const text = chartFiles(DEPLOY)["templates/metrics.yaml"]!.replace(/^\{\{[^\n]*\}\}\n/gm, "");
    const docs = parseAllDocuments(text.replaceAll("{{ .Release.Namespace }}", "iter8-system")).map((d) =>
      d.toJS(),
    );
    const metrics = docs.filter((d) => d?.kind === "Metric");
    assert.equal(metrics.length, 10);
    for (const m of metrics) {
      assert.equal(m.metadata.annotations["helm.sh/hook"], "post-install,post-upgrade", m.metadata.name);
    }
  });
});
