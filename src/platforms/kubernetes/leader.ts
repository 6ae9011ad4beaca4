// Leader election with a coordination.k8s.io/v1 Lease, the way client-go's leaderelection does it:
// a candidate takes the Lease only when it is free or its holder let it expire, updates carry the
// resourceVersion (so of two racing candidates exactly one wins), and the leader renews well before
// expiry. A leader that cannot renew within `renewDeadlineMs` steps down *before* its Lease can
// expire, so two replicas never act at the same time.

import { isAlreadyExists, isConflictError, isNotFound, type KubeClient } from "./rest.ts";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

/** MicroTime as the API server expects it (RFC 3339 with microseconds). */
function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

export class LeaderElector {
  readonly #client: KubeClient;
  readonly #opts: Required<Omit<LeaderElectionOptions, "log">> & Pick<LeaderElectionOptions, "log">;
  #leading = false;

  constructor(client: KubeClient, opts: LeaderElectionOptions) {
    this.#client = client;
    const leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.#opts = {
      leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs ?? Math.floor((leaseDurationMs * 2) / 3),
      retryPeriodMs: opts.retryPeriodMs ?? Math.max(200, Math.floor(leaseDurationMs / 7.5)),
      ...opts,
    };
  }

  get leading(): boolean {
    return this.#leading;
  }

  get #path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.#opts.namespace}/leases/${this.#opts.name}`;
  }

  /** One attempt to take or renew the Lease; true when this identity holds it afterwards. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const { identity, leaseDurationMs, namespace, name } = this.#opts;
    const now = new Date();
    let lease: Lease | undefined;
    try {
      lease = await this.#client.get<Lease>(this.#path, {
        timeoutMs: this.#opts.retryPeriodMs * 2 + 1000,
        unthrottled: true,
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(leaseDurationMs / 1000)),
      renewTime: microTime(now),
    };
    if (!lease) {
      try {
        await this.#client.request("POST", `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
          unthrottled: true,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name, namespace },
            spec: { ...spec, acquireTime: microTime(now), leaseTransitions: 0 },
          },
        });
        return true;
      } catch (err) {
        if (isAlreadyExists(err) || isConflictError(err)) return false;
        throw err;
      }
    }
    const holder = lease.spec.holderIdentity;
    if (holder && holder !== identity) {
      const renewed = Date.parse(lease.spec.renewTime ?? lease.spec.acquireTime ?? "");
      const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
      if (Number.isFinite(renewed) && renewed + duration > now.getTime()) return false;
    }
    const taking = holder !== identity;
    const updated: Lease = {
      ...lease,
      spec: {
        ...lease.spec,
        ...spec,
        ...(taking
          ? { acquireTime: microTime(now), leaseTransitions: (lease.spec.leaseTransitions ?? 0) + 1 }
          : {}),
      },
    };
    try {
      await this.#client.request("PUT", this.#path, {
        unthrottled: true,
        body: updated,
        timeoutMs: this.#opts.retryPeriodMs * 2 + 1000,
      });
      return true;
    } catch (err) {
      if (isConflictError(err)) return false;
      throw err;
    }
  }

  /**
   * Campaigns until elected, calls `lead(signal)`, and keeps renewing; the signal aborts when
   * leadership is lost or `stop` aborts. Resolves after leadership ended (lost or stopped).
   */
  async run(stop: AbortSignal, lead: (signal: AbortSignal) => Promise<void> | void): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs, log } = this.#opts;
    let electedAt = Date.now();
    while (!stop.aborted) {
      let ok = false;
      electedAt = Date.now();
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (err) {
        log?.("leader election: lease request failed", { error: (err as Error).message });
      }
      if (ok) break;
      await sleep(retryPeriodMs, stop);
    }
    if (stop.aborted) return;
    this.#leading = true;
    log?.("leader election: became leader", { identity: this.#opts.identity });
    const term = new AbortController();
    const onStop = () => term.abort();
    stop.addEventListener("abort", onStop, { once: true });
    const leading = Promise.resolve().then(() => lead(term.signal));
    // Step down when no renewal succeeded for renewDeadlineMs, whatever the requests are doing: a
    // timer, not a check between requests, so a hanging request cannot keep us acting too long.
    let deadline: NodeJS.Timeout | undefined;
    // Measured from when the renewing request was sent: that is the renewTime the others see.
    const armDeadline = (sentAt: number) => {
      if (deadline) clearTimeout(deadline);
      deadline = setTimeout(
        () => {
          log?.("leader election: could not renew in time; stepping down", { identity: this.#opts.identity });
          term.abort();
        },
        Math.max(0, sentAt + renewDeadlineMs - Date.now()),
      );
    };
    armDeadline(electedAt);
    try {
      while (!term.signal.aborted) {
        await sleep(retryPeriodMs, term.signal);
        if (term.signal.aborted) break;
        let outcome: "renewed" | "lost" | "error";
        const sentAt = Date.now();
        try {
          outcome = (await this.tryAcquireOrRenew()) ? "renewed" : "lost";
        } catch (err) {
          log?.("leader election: renew failed", { error: (err as Error).message });
          outcome = "error";
        }
        if (term.signal.aborted) break;
        if (outcome === "renewed") armDeadline(sentAt);
        else if (outcome === "lost") {
          // Someone else holds the Lease: stop acting now.
          log?.("leader election: lost leadership", { identity: this.#opts.identity });
          term.abort();
        }
      }
    } finally {
      if (deadline) clearTimeout(deadline);
      stop.removeEventListener("abort", onStop);
      this.#leading = false;
      await leading.catch(() => {});
      if (stop.aborted) await this.release().catch(() => {});
    }
  }

  /** Gives the Lease up on clean shutdown so a standby takes over without waiting for expiry. */
  async release(): Promise<void> {
    const lease = await this.#client.get<Lease>(this.#path, { unthrottled: true });
    if (lease.spec.holderIdentity !== this.#opts.identity) return;
    await this.#client.request("PUT", this.#path, {
      unthrottled: true,
      body: { ...lease, spec: { ...lease.spec, holderIdentity: "", renewTime: microTime(new Date()) } },
    });
  }
}
