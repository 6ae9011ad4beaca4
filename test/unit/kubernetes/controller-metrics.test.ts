// /metrics of the controller: the Prometheus text of its registry, served next to the probes.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Experiment } from "../../../src/api/types.ts";
import { ControllerMetrics } from "../../../src/platforms/kubernetes/controller-metrics.ts";
import { startHealthServer } from "../../../src/platforms/kubernetes/health.ts";

const exp = (stage?: string) =>
  ({ metadata: { name: "e" }, status: stage ? { stage } : undefined }) as Experiment;

describe("controller /metrics", () => {
  it("serves experiments by stage, requests by verb and resource, queue depth and leader status", async () => {
    const metrics = new ControllerMetrics();
    metrics.bind({
      experiments: () => [exp("Running"), exp("Running"), exp()],
      queueDepth: () => 7,
      queueDue: () => 2,
      leading: () => true,
      throttled: () => 0,
    });
    metrics.observeRequest({ verb: "update", resource: "experiments/status", code: 200, seconds: 0.02 });
    metrics.observeRequest({ verb: "patch", resource: "virtualservices", code: 200, seconds: 0.01 });
    metrics.iterations.inc(3);
    metrics.lateness.observe(0.2);
    const { server, port } = await startHealthServer(() => true, {
      port: 0,
      host: "127.0.0.1",
      metrics: () => metrics.text(),
    });
    try {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
      const text = await res.text();
      assert.match(text, /^iter8_controller_experiments\{stage="Running"\} 2$/m);
      assert.match(text, /^iter8_controller_experiments\{stage="New"\} 1$/m);
      assert.match(text, /^iter8_controller_queue_depth 7$/m);
      assert.match(text, /^iter8_controller_queue_due 2$/m);
      assert.match(text, /^iter8_controller_leader 1$/m);
      assert.match(text, /^iter8_controller_iterations_total 3$/m);
      assert.match(text, /^iter8_controller_iteration_lateness_seconds_count 1$/m);
      assert.match(
        text,
        /^iter8_controller_api_requests_total\{verb="update",resource="experiments\/status",code="200"\} 1$/m,
      );
      assert.match(
        text,
        /^iter8_controller_api_request_duration_seconds_count\{verb="patch",resource="virtualservices"\} 1$/m,
      );
      assert.match(text, /^iter8_controller_process_cpu_seconds_total /m);
      assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    } finally {
      server.close();
    }
  });
});
