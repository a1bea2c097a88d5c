export { runConformance, runVector, formatConformanceReport, type ConformanceOptions, type ConformanceReport, type VectorResult } from './runner.js';
export { loadVectors, vectorsFolder } from './load.js';
export { conformanceCommand, CONFORMANCE_USAGE } from './cli.js';
export { VECTOR_FORMAT, type Vector, type VectorFile, type VectorStep, type VectorRequest, type VectorExpectation, type Matcher, type Template } from './vector.js';
