// The experiment lifecycle as a reconcile step: read the
// experiment, do the next piece of work, write status. Every piece of progress is in the status, so
// any engine, started at any time, continues exactly where the status says. The Kubernetes
// controller calls `reconcile` on watch events; the local platform calls `runExperiment`, which loops
// `reconcile` on the injected clock.
//
// Crash safety, by construction:
// - An action is recorded as Running in status *before* it is launched. A restarted engine that finds
//   a Running record it did not launch relaunches it (at most `maxActionAttempts` launches in all),
//   so an action is never silently lost nor run twice concurrently.
// - An iteration counts only when the status write that increments `completedIterations` succeeds.
//   Its side effect (the weight change) is idempotent and recomputed from the last counted state, so
//   an iteration interrupted before that write is simply redone: never skipped, never counted twice.

import { analyze, formatMessages, rollbackNeeded } from "../analytics/index.ts";
import { winnerName } from "../analytics/winner.ts";
import { DEFAULT_INSTALL_NAMESPACE } from "../api/refs.ts";
import type { Experiment, ExperimentSpec, VersionWeight } from "../api/types.ts";
import { backoffMs } from "../lib/backoff.ts";
import { errorText, isAbortError } from "../lib/errors.ts";
import { KeyedSerial } from "../lib/keyed-serial.ts";
import { Actions, hasAction } from "./actions.ts";
import { decide, plannedIterations } from "./decision.ts";
import { appendIteration } from "./history.ts";
import { readAllMetrics, resolveMetrics, withResolvedCriteria } from "./metrics.ts";
import {
  DEFAULT_WEIGHT_RETRY,
  type EngineOptions,
  MAX_CONFLICT_RETRIES,
  type RetryPolicy,
  SILENT_LOGGER,
} from "./options.ts";
import {
  type Clock,
  type EngineLogger,
  type ExperimentStore,
  isConflict,
  type MetricsProvider,
  type ObjectKey,
  type ReconcileResult,
  type TaskRunner,
  type TrafficActuator,
} from "./ports.ts";
import { effectiveSpecOf, sourceVersionOf, versionCountProblems } from "./spec.ts";
import {
  conditionIs,
  endExperiment,
  engineStatus,
  failExperiment,
  initialiseStatus,
  isCompleted,
  type RetryState,
  retryDue,
  StatusDraft,
  stageIndex,
} from "./status.ts";
import { keyOf, keyText, mayAcquire, nextInQueue } from "./target.ts";

import { Wakers } from "./wakers.ts";
import {
  allVersions,
  formatWeights,
  movesTraffic,
  readWeights,
  weightsMatch,
  writeWeights,
} from "./weights.ts";

export type { EngineOptions, RetryPolicy } from "./options.ts";
export type { EngineLogger, ReconcileResult } from "./ports.ts";

export class Engine {
  readonly #store: ExperimentStore;
  readonly #actuator: TrafficActuator;
  readonly #metrics: MetricsProvider;
  readonly #tasks: TaskRunner;
  readonly #clock: Clock;
  readonly #log: EngineLogger;
  readonly #installNamespace: string;
  readonly #actionTimeoutMs: number;
  readonly #maxActionAttempts: number;
  readonly #waitingPollMs: number;
  readonly #weightRetry: RetryPolicy;
  readonly #combinedStart: boolean;
  readonly #onEvent: EngineOptions["onEvent"];
  readonly #onRunning: EngineOptions["onRunning"];
  readonly #admission: EngineOptions["admission"];

  readonly #actions: Actions;
  /** Drivers waiting for a wake-up, by `ns/name`. */
  readonly #wakers: Wakers;
  /** Reconciles of one experiment never overlap. */
  readonly #perExperiment = new KeyedSerial();
  /** Target acquisitions in progress, by target, so that they run one at a time. */
  readonly #perTarget = new KeyedSerial();
  /** Last seen target of each experiment, to wake its queue when it is deleted. */
  readonly #targets = new Map<string, string>();

  constructor(opts: EngineOptions) {
    this.#store = opts.store;
    this.#actuator = opts.actuator;
    this.#metrics = opts.metrics;
    this.#tasks = opts.tasks;
    this.#clock = opts.clock;
    this.#log = opts.logger ?? SILENT_LOGGER;
    this.#installNamespace = opts.installNamespace ?? DEFAULT_INSTALL_NAMESPACE;
    this.#actionTimeoutMs = opts.actionTimeoutMs ?? 300_000;
    this.#maxActionAttempts = opts.maxActionAttempts ?? 3;
    this.#waitingPollMs = opts.waitingPollMs ?? 5000;
    this.#weightRetry = opts.weightRetry ?? DEFAULT_WEIGHT_RETRY;
    this.#combinedStart = opts.combinedStartWrite === true;
    this.#onEvent = opts.onEvent;
    this.#wakers = new Wakers(opts.onWake);
    this.#onRunning = opts.onRunning;
    this.#actions = new Actions({
      store: this.#store,
      tasks: this.#tasks,
      actuator: this.#actuator,
      clock: this.#clock,
      log: this.#log,
      actionTimeoutMs: this.#actionTimeoutMs,
      maxActionAttempts: this.#maxActionAttempts,
      write: (exp, draft) => this.#write(exp, draft),
      end: (key, exp, draft, apply) => this.#end(key, exp, draft, apply),
      wake: (key) => this.#wakers.wake(key),
    });
    this.#admission = opts.admission;
  }

  get installNamespace(): string {
    return this.#installNamespace;
  }

  /** One reconcile step. A status write conflict re-reads the experiment and redoes the step. */
  reconcile(key: ObjectKey): Promise<ReconcileResult> {
    return this.#perExperiment.run(keyText(key), () => this.#reconcileWithRetries(key));
  }

  async #reconcileWithRetries(key: ObjectKey): Promise<ReconcileResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#pass(key);
      } catch (err) {
        if (!isConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
        this.#log.debug("status write conflict; re-reading", { experiment: keyText(key), attempt });
      }
    }
  }

  /**
   * Drives one experiment to completion: reconcile, then wait for the requested delay, the running
   * action, or a wake-up. Errors of a step (store unreachable, ...) are retried with backoff. Resolves
   * with the completed experiment (undefined if it was deleted); rejects with an AbortError when
   * `signal` aborts, leaving any action it launched recorded as Running for the next engine.
   */
  async runExperiment(key: ObjectKey, opts: { signal?: AbortSignal } = {}): Promise<Experiment | undefined> {
    const signal = opts.signal ?? new AbortController().signal;
    let failures = 0;
    try {
      for (;;) {
        signal.throwIfAborted();
        let result: ReconcileResult;
        try {
          result = await this.reconcile(key);
          failures = 0;
        } catch (err) {
          failures++;
          const delay = backoffMs(failures, 500, 30_000);
          this.#log.warn("reconcile failed; retrying", {
            experiment: keyText(key),
            error: errorText(err),
            delay,
          });
          result = { done: false, requeueAfterMs: delay };
        }
        if (result.done) return await this.#store.get(key);
        await this.#waitForNext(key, result, signal);
      }
    } catch (err) {
      if (signal.aborted) this.#actions.abandon(key);
      throw err;
    }
  }

  /** Aborts every in-process action (shutdown). Their records stay Running, for the next engine. */
  close(): void {
    this.#actions.close();
  }

  async #waitForNext(key: ObjectKey, result: ReconcileResult, signal: AbortSignal): Promise<void> {
    if (result.requeueAfterMs === 0) return;
    const local = new AbortController();
    const both = AbortSignal.any([signal, local.signal]);
    const waits: Promise<unknown>[] = [this.#wakers.wait(key, both)];
    if (result.pending) waits.push(result.pending);
    // With nothing else to wait for, poll anyway so a lost wake-up cannot stall the driver.
    waits.push(this.#clock.sleep(result.requeueAfterMs ?? this.#waitingPollMs, both));
    try {
      await Promise.race(waits);
    } catch (err) {
      if (!isAbortError(err)) throw err;
    } finally {
      local.abort();
    }
    signal.throwIfAborted();
  }

  // ---------------------------------------------------------------------------------------------
  // The reconcile pass. Each branch writes status at most once and returns.

  async #pass(key: ObjectKey): Promise<ReconcileResult> {
    const exp = await this.#store.get(key);
    const id = keyText(key);
    if (!exp) {
      this.#actions.abandon(key);
      const target = this.#targets.get(id);
      this.#targets.delete(id);
      if (target !== undefined) await this.#wakeNext(target, key);
      return { done: true };
    }
    this.#targets.set(id, exp.spec.target);
    const draft = new StatusDraft(exp, this.#clock.now());
    const inadmissible = isCompleted(exp) ? [] : (this.#admission?.(exp) ?? []);
    if (inadmissible.length > 0) {
      if (!exp.status?.initTime) initialiseStatus(draft);
      return this.#end(key, exp, draft, () =>
        failExperiment(draft, "InvalidExperiment", `Invalid experiment: ${inadmissible.join("; ")}`),
      );
    }

    const fresh = !exp.status?.initTime;
    if (fresh) {
      initialiseStatus(draft);
      // Iter8 v2 writes each start-up step; combined, the steps that need no wait share one write.
      if (!this.#combinedStart) return this.#writeStep(exp, draft);
    }
    if (isCompleted(exp)) {
      this.#actions.abandon(key);
      return { done: true };
    }

    const running = draft.status.actions?.find((a) => a.state === "Running");
    if (running) return this.#actions.running(key, exp, draft, running);

    // Tasks are checked before anything runs, so a bad task fails the experiment up front.
    const taskProblems = this.#tasks.validate?.(exp) ?? [];
    if (taskProblems.length > 0) {
      return this.#end(key, exp, draft, () =>
        failExperiment(draft, "InvalidExperiment", `Invalid task specification: ${taskProblems.join("; ")}`),
      );
    }

    if (!conditionIs(exp, "TargetAcquired", "True")) return this.#acquireThenStep(key, exp, draft, fresh);
    return this.#step(key, exp, draft);
  }

  /** The stage's step, for an experiment that holds its target. */
  async #step(key: ObjectKey, exp: Experiment, draft: StatusDraft): Promise<ReconcileResult> {
    const spec = effectiveSpecOf(exp);
    if (stageIndex(draft.status.stage) < stageIndex("Initializing")) {
      draft.advanceStage("Initializing");
      if (!this.#combinedStart) return this.#writeStep(exp, draft);
    }
    const stage = stageIndex(draft.status.stage);
    if (stage === stageIndex("Initializing")) {
      if (hasAction(spec, "start") && !draft.action("start")) {
        return this.#actions.launch(key, exp, draft, "start", "start");
      }
      return this.#enterRunning(key, exp, spec, draft);
    }
    if (stage === stageIndex("Running")) return this.#iterate(key, exp, spec, draft);

    // Finishing without a Running finish record cannot be reached through this engine (the stage
    // and the record are written together); end cleanly rather than hang.
    return this.#end(key, exp, draft, () => endExperiment(draft, "Experiment Completed"));
  }

  /**
   * Target locking. Within this engine the passes of experiments that do not hold their target yet
   * run one at a time per target, so two of them that read each other's old status cannot both take
   * it; an experiment that takes it goes on in the same pass (and the same write).
   */
  #acquireThenStep(
    key: ObjectKey,
    exp: Experiment,
    draft: StatusDraft,
    fresh: boolean,
  ): Promise<ReconcileResult> {
    const target = exp.spec.target;
    return this.#perTarget.run(target, async () => {
      const all = await this.#store.listByTarget(target);
      if (!mayAcquire({ ...exp, status: draft.status }, all)) {
        // A new experiment is written once, so that it takes its place in the target's queue.
        if (fresh) await this.#write(exp, draft);
        return { done: false, requeueAfterMs: this.#waitingPollMs };
      }
      draft.mark("TargetAcquired", "True", "TargetAcquired");
      return this.#combinedStart ? this.#step(key, exp, draft) : this.#writeStep(exp, draft);
    });
  }

  /** After the start action: check versions, resolve metrics, observe weights, advance to Running. */
  async #enterRunning(
    key: ObjectKey,
    exp: Experiment,
    spec: ExperimentSpec,
    draft: StatusDraft,
  ): Promise<ReconcileResult> {
    const due = retryDue(draft);
    if (due !== undefined) return { done: false, requeueAfterMs: due };
    const problems = versionCountProblems(exp);
    if (problems.length > 0) {
      return this.#end(key, exp, draft, () => failExperiment(draft, "InvalidExperiment", problems[0]!));
    }
    const resolution = await resolveMetrics(exp, this.#store, this.#installNamespace);
    if (!resolution.ok) {
      return this.#end(key, exp, draft, () => failExperiment(draft, resolution.reason, resolution.message));
    }
    draft.status.metrics = resolution.metrics;

    const effective: Experiment = { ...exp, spec };
    let observed: VersionWeight[] = [];
    try {
      observed = await readWeights(this.#actuator, effective);
    } catch (err) {
      if (movesTraffic(effective)) {
        // Unreadable target objects may be a passing outage: retry before declaring the refs invalid.
        return this.#retry(key, exp, draft, "observe", errorText(err), {
          progressReason: "WeightObservationFailed",
          progress: "Failure observing weights",
          failReason: "InvalidExperiment",
          failMessage: "Specification of version weightObjectRef invalid",
        });
      }
      // Conformance and FixedSplit only report weights; an unreadable object is not fatal there.
      this.#log.warn("weights not observable", { experiment: keyText(key), error: errorText(err) });
    }
    draft.status.currentWeightDistribution = observed;
    delete draft.status.retry;
    draft.status.versionRecommendedForPromotion ??= allVersions(exp)[0]!.name;
    draft.status.startTime ??= draft.nowText;
    draft.advanceStage("Running");
    const written = await this.#write(exp, draft);
    this.#onRunning?.(written);
    return { done: false, requeueAfterMs: 0 };
  }

  /** One iteration, or the finish once all iterations are done. */
  async #iterate(
    key: ObjectKey,
    exp: Experiment,
    spec: ExperimentSpec,
    draft: StatusDraft,
  ): Promise<ReconcileResult> {
    const st = draft.status;
    const duration = spec.duration ?? {};
    const perLoop = duration.iterationsPerLoop ?? 15;
    const total = plannedIterations(spec, st);
    const intervalMs = (duration.intervalSeconds ?? 20) * 1000;
    const completed = st.completedIterations ?? 0;
    if (completed >= total) return this.#beginFinish(key, exp, spec, draft, "finish");

    const now = draft.now.getTime();
    if (completed > 0 && st.lastUpdateTime) {
      const due = Date.parse(st.lastUpdateTime) + intervalMs - 100;
      if (now < due) return { done: false, requeueAfterMs: due - now };
    }
    const retryWait = retryDue(draft);
    if (retryWait !== undefined) return { done: false, requeueAfterMs: retryWait };

    // Analysis of this iteration, on the defaulted spec with references resolved to their keys.
    const analysisExp = withResolvedCriteria({ ...exp, spec, status: st }, this.#installNamespace);
    const versions = allVersions(exp);
    const reading = await readAllMetrics(analysisExp, versions, this.#metrics, draft.now);
    let analysis: ReturnType<typeof analyze>;
    try {
      analysis = analyze(analysisExp, reading.data, draft.now, {
        aggregatedMetricsMessage: formatMessages({ errors: reading.errors, warnings: [], infos: [] }),
        sourceVersion: sourceVersionOf(exp),
      });
    } catch (err) {
      return this.#end(key, exp, draft, () =>
        failExperiment(draft, "AnalyticsServiceError", `Call to analytics engine failed: ${errorText(err)}`),
      );
    }
    const decision = decide({
      exp: analysisExp,
      analysis,
      metrics: reading.data,
      details: reading.details,
      iteration: completed + 1,
      planned: total,
      now: draft.now,
    });
    st.analysis = analysis = decision.analysis;
    if (decision.extraIterations !== undefined) st.extraIterations = decision.extraIterations;
    if (decision.summary) this.#log.info(decision.summary, { experiment: keyText(key) });
    const baseline = versions[0]!.name;

    // Only an observed violation rolls back: a version with no value yet is inconclusive.
    const verdict =
      decision.rollback ?? rollbackNeeded(analysisExp, analysis.versionAssessments?.data ?? {}, reading.data);
    if (verdict.rollback) {
      // On rollback the version to promote is the baseline.
      st.versionRecommendedForPromotion = baseline;
      delete st.retry;
      appendIteration(st, completed + 1, draft.nowText, versions, reading.errors, verdict);
      this.#log.info("rollback", {
        experiment: keyText(key),
        objective: verdict.objective,
        version: verdict.version,
      });
      return this.#beginFinish(key, exp, spec, draft, "rollback");
    }

    const stopped = await this.#moveTraffic(key, exp, spec, draft, analysis);
    if (stopped) return stopped;

    const winner = analysis.winnerAssessment?.data;
    st.versionRecommendedForPromotion = winnerName(winner) ?? baseline;
    delete st.retry;
    const n = completed + 1;
    st.completedIterations = n;
    st.lastUpdateTime = draft.nowText;
    appendIteration(st, n, draft.nowText, versions, reading.errors);
    draft.progress("IterationUpdate", `Completed Iteration ${n}`);
    if (decision.stop) return this.#beginFinish(key, exp, spec, draft, "finish");
    if (n % perLoop === 0) {
      const loop = n / perLoop;
      draft.progress("IterationUpdate", `Completed Loop ${loop}`);
      if (hasAction(spec, "loop")) return this.#actions.launch(key, exp, draft, "loop", `loop-${loop}`, loop);
    }
    await this.#write(exp, draft);
    return { done: false, requeueAfterMs: n >= plannedIterations(spec, st) ? 0 : intervalMs };
  }

  /**
   * Applies the analysis' weights and reads them back (or, where the pattern never moves traffic,
   * just observes them). Returns a result when the pass must end here: a retry or a failure.
   */
  async #moveTraffic(
    key: ObjectKey,
    exp: Experiment,
    spec: ExperimentSpec,
    draft: StatusDraft,
    analysis: ReturnType<typeof analyze>,
  ): Promise<ReconcileResult | undefined> {
    const st = draft.status;
    const effective: Experiment = { ...exp, spec };
    if (movesTraffic(effective)) {
      const wanted = analysis.weights?.data ?? [];
      if (wanted.length === 0) {
        return this.#end(key, exp, draft, () =>
          failExperiment(
            draft,
            "WeightRedistributionFailed",
            "Failure redistributing weights: no weight recommendation provided",
          ),
        );
      }
      let observed: VersionWeight[] | undefined;
      try {
        if (!weightsMatch(effective, wanted, st.currentWeightDistribution)) {
          await writeWeights(this.#actuator, effective, wanted);
        }
        observed = await readWeights(this.#actuator, effective);
        if (!weightsMatch(effective, wanted, observed)) {
          throw new Error(
            `weights read back as ${formatWeights(observed)}, expected ${formatWeights(wanted)}`,
          );
        }
      } catch (err) {
        // currentWeightDistribution is always what was observed: refresh it if the target is readable.
        if (!observed) observed = await readWeights(this.#actuator, effective).catch(() => undefined);
        if (observed) st.currentWeightDistribution = observed;
        return this.#retry(key, exp, draft, "weights", errorText(err), {
          progressReason: "WeightRedistributionFailed",
          progress: "Failure redistributing weights",
          failReason: "WeightRedistributionFailed",
          failMessage: "Failure redistributing weights",
        });
      }
      st.currentWeightDistribution = observed;
    } else {
      try {
        st.currentWeightDistribution = await readWeights(this.#actuator, effective);
      } catch (err) {
        this.#log.warn("weights not observable", { experiment: keyText(key), error: errorText(err) });
      }
    }

    return undefined;
  }

  /**
   * A step that failed but may succeed later (a weight change that failed or did not show up, an
   * unreadable target object): record it in the Completed condition and the message, retry with
   * backoff, and fail the experiment once the attempts are used up.
   */
  async #retry(
    key: ObjectKey,
    exp: Experiment,
    draft: StatusDraft,
    op: RetryState["op"],
    reason: string,
    text: { progressReason: string; progress: string; failReason: string; failMessage: string },
  ): Promise<ReconcileResult> {
    const st = draft.status;
    const attempts = (st.retry?.op === op ? st.retry.attempts : 0) + 1;
    this.#log.warn(text.progress, { experiment: keyText(key), attempts, error: reason });
    if (attempts >= this.#weightRetry.maxAttempts) {
      return this.#end(key, exp, draft, () =>
        failExperiment(draft, text.failReason, `${text.failMessage} after ${attempts} attempts: ${reason}`),
      );
    }
    const delay = backoffMs(attempts, this.#weightRetry.baseMs, this.#weightRetry.maxMs);
    st.retry = {
      op,
      attempts,
      lastError: reason,
      notBefore: new Date(draft.now.getTime() + delay).toISOString(),
    };
    draft.progress(
      text.progressReason,
      `${text.progress} (attempt ${attempts}, retrying in ${Math.ceil(delay / 1000)}s): ${reason}`,
    );
    await this.#write(exp, draft);
    return { done: false, requeueAfterMs: delay };
  }

  /** Normal end or rollback: run `finish` if there is one, else end right away. */
  async #beginFinish(
    key: ObjectKey,
    exp: Experiment,
    spec: ExperimentSpec,
    draft: StatusDraft,
    kind: "finish" | "rollback",
  ): Promise<ReconcileResult> {
    if (hasAction(spec, "finish")) {
      draft.advanceStage("Finishing", false);
      return this.#actions.launch(key, exp, draft, "finish", "finish", undefined, kind);
    }
    const message = kind === "rollback" ? "Experiment rolled back" : "Experiment completed successfully";
    return this.#end(key, exp, draft, () => endExperiment(draft, message));
  }

  // ---------------------------------------------------------------------------------------------
  // Writing

  async #write(exp: Experiment, draft: StatusDraft): Promise<Experiment> {
    const written = await this.#store.updateStatus({ ...exp, status: draft.status });
    const key = keyOf(exp);
    for (const event of draft.events) {
      this.#log.info(event.message ? `${event.reason}: ${event.message}` : event.reason, {
        experiment: keyText(key),
      });
      this.#onEvent?.(key, event, written);
    }
    draft.events.length = 0;
    return written;
  }

  /** Writes the draft and goes on to the next step at once. */
  async #writeStep(exp: Experiment, draft: StatusDraft): Promise<ReconcileResult> {
    await this.#write(exp, draft);
    return { done: false, requeueAfterMs: 0 };
  }

  /** Applies an ending to the draft, writes it, and hands the target to the next in its queue. */
  async #end(
    key: ObjectKey,
    exp: Experiment,
    draft: StatusDraft,
    apply: () => void,
  ): Promise<ReconcileResult> {
    apply();
    await this.#write(exp, draft);
    this.#actions.abandon(key);
    await this.#wakeNext(exp.spec.target, key);
    return { done: true };
  }

  async #wakeNext(target: string, except: ObjectKey): Promise<void> {
    let all: Experiment[];
    try {
      all = await this.#store.listByTarget(target);
    } catch (err) {
      // Waiting experiments also poll, so a missed wake-up only delays them.
      this.#log.warn("could not list experiments to wake the next one", { error: errorText(err) });
      return;
    }
    const next = nextInQueue(target, all, except);
    if (next) this.#wakers.wake(keyOf(next));
  }
}

/** The status fields the engine keeps beyond the original API (for describe and logs). */
export { engineStatus };
