// The one place that knows both data-plane engines: builds the one a router asks for.

import type { DataPlane, ProxyEngine, ProxyOptions, RouteTable } from "./dataplane.ts";
import { FastProxy } from "./fastproxy.ts";
import { NodeProxy } from "./nodeproxy.ts";

export function makeDataPlane(engine: ProxyEngine, table: RouteTable, opts: ProxyOptions): DataPlane {
  if (engine === "fast") return new FastProxy(table, opts);
  if (engine === "node") return new NodeProxy(table, opts);
  throw new Error(`engine: must be "fast" or "node" (got ${JSON.stringify(engine)})`);
}
