export { checkHistory, type CheckOptions, type CheckCounts, type CheckResult } from './checker.js';
export { ANOMALY_KINDS, type Anomaly, type AnomalyKind, type Witness, type WitnessStep, type WitnessRole } from './anomaly.js';
export { classifyStatus, type Outcome, type OutcomeOptions } from './outcome.js';
export { HISTORY_FORMAT, type History, type Operation, type OperationEvent, type OperationKind } from './history.js';
