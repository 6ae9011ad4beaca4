// A minimal HTTPS client for the harness's own calls to the apiserver (readiness, CRDs,
// namespaces), authenticated with the admin client certificate. Tests use @kubernetes/client-node.
import { Agent, request } from "node:https";

export interface ApiResponse {
  status: number;
  body: string;
}

export class ApiClient {
  readonly server: string;
  readonly #agent: Agent;

  constructor(server: string, tls: { ca: string; cert: string; key: string }) {
    this.server = server;
    this.#agent = new Agent({ ...tls, keepAlive: true, maxSockets: 4 });
  }

  request(
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<ApiResponse> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const url = new URL(path, this.server);
    return new Promise((resolve, reject) => {
      const req = request(
        url,
        {
          method,
          agent: this.#agent,
          headers: {
            accept: "application/json",
            ...(payload === undefined
              ? {}
              : { "content-type": contentType, "content-length": Buffer.byteLength(payload) }),
          },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
          );
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error(`${method} ${path}: no response in 10 s`)));
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Like request(), but any status other than `expect` is an error carrying the response body. */
  async json<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    expect: number[] = [200, 201],
  ): Promise<T> {
    const res = await this.request(method, path, body);
    if (!expect.includes(res.status)) {
      throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.body.slice(0, 2000)}`);
    }
    return JSON.parse(res.body) as T;
  }

  close(): void {
    this.#agent.destroy();
  }
}

/** Polls `probe` until it returns a value other than undefined, or fails after timeoutMs. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  opts: { timeoutMs: number; intervalMs?: number; abortIf?: () => string | undefined },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError = "";
  for (;;) {
    const reason = opts.abortIf?.();
    if (reason) throw new Error(`while waiting for ${what}: ${reason}`);
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `timed out after ${opts.timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError})` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
