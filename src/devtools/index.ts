export { mountDevtools, type DevtoolsOptions } from './mount.js';
export { defineDevtoolsElement, SessionLanesDevtoolsElement } from './element.js';
export { devtoolsFetch, armFault, armedFaults, disarmFault, type DevtoolsFetchOptions, type FaultAnswer, type FaultTarget, type ArmedFault } from './faults.js';
export { toHistory, type HistoryOptions } from './history.js';
export type { InspectedClient } from './views.js';
export type { Corner } from './state.js';
