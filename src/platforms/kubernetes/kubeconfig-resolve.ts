// Child process of resolveConnection (kubeconfig.ts): argv[2] is the KubeconfigFlags as JSON; prints
// the ClusterConnection as JSON, or the reason it cannot on stderr (exit status 1).

import { connectionOf, loadKubeConfig } from "./kubeconfig-load.ts";

try {
  const flags = JSON.parse(process.argv[2] ?? "{}") as Record<string, string>;
  process.stdout.write(JSON.stringify(await connectionOf(loadKubeConfig(flags))));
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
