export { checkHistory, type CheckOptions, type CheckCounts, type CheckResult } from './checker.js';
export { ANOMALY_KINDS, type Anomaly, type AnomalyKind, type Witness, type WitnessStep, type WitnessRole } from './anomaly.js';
export { classifyStatus, type Outcome, type OutcomeOptions } from './outcome.js';
export { HISTORY_FORMAT, type History, type Operation, type OperationEvent, type OperationKind } from './history.js';
export {
  defineRaceConfig,
  resolveRaceConfig,
  type RaceConfig,
  type ResolvedRaceConfig,
  type RequestTemplate,
  type WriterConfig,
  type ReaderConfig,
  type JsonBody,
} from './config.js';
export { runNodeRace, type NodeRaceOptions } from './node-driver.js';
export { SCENARIOS, scenarioFor, type Scenario, type ScenarioName } from './scenarios.js';
export type { PlannedAction, PlannedStep, ScenarioPlan } from './plan.js';
export { runPlan, type Executor, type Recorded, type RunPlanOptions } from './run-plan.js';
export { createRandom, randomSeed, type Random } from './prng.js';
export { createCookieJar, sessionName, type CookieJar } from './cookie-jar.js';
export type { TransportKind } from './transport.js';
export { renderTimelineSvg, type TimelineOptions } from './timeline-svg.js';
export { formatReport, formatAnomaly, formatWitness, formatSummary } from './report-text.js';
export { renderHtmlReport } from './report-html.js';
export { loadRaceConfig } from './load-config.js';
