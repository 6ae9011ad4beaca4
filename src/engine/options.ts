// What an Engine is built from: its four ports, the clock and logger, its limits and the platform's
// hooks. Kept apart from the engine so the platforms' composition roots read only this.

import type { Experiment } from "../api/types.ts";
import type {
  Clock,
  EngineLogger,
  ExperimentStore,
  MetricsProvider,
  ObjectKey,
  TaskRunner,
  TrafficActuator,
} from "./ports.ts";
import type { EngineEvent } from "./status.ts";

export interface RetryPolicy {
  /** Delay before the first retry; doubles with each further attempt. */
  baseMs: number;
  maxMs: number;
  /** Attempts in all before the experiment fails. */
  maxAttempts: number;
}

export interface EngineOptions {
  store: ExperimentStore;
  actuator: TrafficActuator;
  metrics: MetricsProvider;
  tasks: TaskRunner;
  clock: Clock;
  logger?: EngineLogger;
  /** Where bare metric names are looked up after the experiment's namespace. Default `iter8-system`. */
  installNamespace?: string;
  /** Deadline of one action (all its tasks). Default 300 s, like the original Job deadline. */
  actionTimeoutMs?: number;
  /** Launches of one action in all, counting relaunches after an engine restart. Default 3. */
  maxActionAttempts?: number;
  /** How often a waiting experiment re-checks its target when nobody wakes it. Default 5 s. */
  waitingPollMs?: number;
  /**
   * Write a new experiment's start-up (initialised, target acquired, Initializing, then Running or
   * its start action) in one status write when nothing makes it wait, instead of one write per step
   * as Iter8 v2 did. Every step is still an event. Saves three writes per experiment (a controller
   * running many at once); default false.
   */
  combinedStartWrite?: boolean;
  /** Backoff for failed weight changes. Default 1 s doubling to 30 s, 8 attempts. */
  weightRetry?: RetryPolicy;
  /**
   * Problems that keep iter8 from running an experiment its store accepted (rules a CRD schema cannot
   * express). The first guard of every pass: any problem ends the experiment Failed with them.
   */
  admission?: (experiment: Experiment) => string[];
  /** Called for every recorded event after its status write succeeded (Kubernetes Events, logs). */
  onEvent?: (key: ObjectKey, event: EngineEvent, experiment: Experiment) => void;
  /**
   * Called when an experiment should be reconciled again without a status change of its own: its
   * in-process action finished, or the target it waits for was released.
   */
  onWake?: (key: ObjectKey) => void;
  /**
   * Called once the experiment entered Running (the status write succeeded): the moment the
   * built-in metrics take their baseline.
   */
  onRunning?: (experiment: Experiment) => void;
}

export const DEFAULT_WEIGHT_RETRY: RetryPolicy = { baseMs: 1000, maxMs: 30_000, maxAttempts: 8 };

export const SILENT_LOGGER: EngineLogger = { debug() {}, info() {}, warn() {}, error() {} };

/** Status write conflicts one step is redone for (re-reading each time) before it fails. */
export const MAX_CONFLICT_RETRIES = 8;
