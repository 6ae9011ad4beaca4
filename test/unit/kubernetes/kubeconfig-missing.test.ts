// With no kubeconfig anywhere and not in a pod, the reason names every place that was looked at;
// any one of them present means there is a configuration to load.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { missingConfigReason, SERVICE_ACCOUNT_DIR } from "../../../src/platforms/kubernetes/kubeconfig.ts";

const nothing = () => false;

describe("missingConfigReason", () => {
  test("names $KUBECONFIG, ~/.kube/config and the service account", () => {
    const reason = missingConfigReason({}, "/home/u", nothing);
    assert.match(reason ?? "", /\$KUBECONFIG is not set/);
    assert.match(reason ?? "", /\/home\/u\/\.kube\/config does not exist/);
    assert.match(reason ?? "", new RegExp(`${SERVICE_ACCOUNT_DIR}/token`));
    assert.doesNotMatch(reason ?? "", /localhost:8080|loaded-context/);
  });

  test("$KUBECONFIG, ~/.kube/config, or a pod's service account each count", () => {
    assert.equal(missingConfigReason({ KUBECONFIG: "/x" }, "/home/u", nothing), undefined);
    assert.equal(
      missingConfigReason({}, "/home/u", (p) => p === "/home/u/.kube/config"),
      undefined,
    );
    const token = `${SERVICE_ACCOUNT_DIR}/token`;
    assert.equal(
      missingConfigReason({ KUBERNETES_SERVICE_HOST: "10.0.0.1" }, "/home/u", (p) => p === token),
      undefined,
    );
    // A token without the service host (or the reverse) is not a pod.
    assert.notEqual(
      missingConfigReason({}, "/home/u", (p) => p === token),
      undefined,
    );
    assert.notEqual(
      missingConfigReason({ KUBERNETES_SERVICE_HOST: "10.0.0.1" }, "/home/u", nothing),
      undefined,
    );
  });
});
