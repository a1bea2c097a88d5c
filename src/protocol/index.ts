export { HEADER, IDEMPOTENCY_KEY_MIN_LENGTH, IDEMPOTENCY_KEY_MAX_LENGTH, MAX_VERSION, type HeaderName } from './headers.js';
export { PROBLEM, PROBLEM_CONTENT_TYPE, type ProblemName, type ProblemType } from './problems.js';
export {
  DeclarationSyntaxError,
  parseKeyVersions,
  serializeKeyVersions,
  parseStringItem,
  serializeStringItem,
  type KeyVersion,
} from './versions.js';
export {
  jsonSchema,
  versionSchema,
  keyStateSchema,
  problemSchema,
  staleProblemSchema,
  invalidDeclarationProblemSchema,
  invalidValueProblemSchema,
  undeclaredKeyProblemSchema,
  type Json,
  type KeyState,
  type Problem,
  type StaleProblem,
} from './schemas.js';
