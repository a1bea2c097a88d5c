import { z } from 'zod';
import { MAX_VERSION } from './headers.js';
import { PROBLEM } from './problems.js';

/** A JSON value, as stored in a session key. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export const jsonSchema: z.ZodType<Json> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(jsonSchema), z.record(z.string(), jsonSchema)]),
);

export const versionSchema = z.number().int().min(0).max(MAX_VERSION);

/** A key's current state in a 412: `value` is absent when the key is (never set, or deleted). */
export const keyStateSchema = z.object({ version: versionSchema, value: jsonSchema.optional() });
export type KeyState = z.infer<typeof keyStateSchema>;

/** RFC 9457 members every problem of ours carries. */
export const problemSchema = z.looseObject({
  type: z.string(),
  title: z.string(),
  status: z.number().int().min(400).max(599),
  detail: z.string().optional(),
});
export type Problem = z.infer<typeof problemSchema>;

export const staleProblemSchema = problemSchema.extend({
  type: z.literal(PROBLEM.stale.type),
  status: z.literal(412),
  /** Current version (and value) of every key the request declared or the handler used. */
  keys: z.record(z.string(), keyStateSchema),
});
export type StaleProblem = z.infer<typeof staleProblemSchema>;

export const invalidDeclarationProblemSchema = problemSchema.extend({
  type: z.literal(PROBLEM.invalidDeclaration.type),
  status: z.literal(400),
  /** The request header at fault, lower-case. */
  header: z.string(),
});

export const invalidValueProblemSchema = problemSchema.extend({
  type: z.literal(PROBLEM.invalidValue.type),
  status: z.literal(422),
  key: z.string(),
  issues: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() })),
});

export const undeclaredKeyProblemSchema = problemSchema.extend({
  type: z.literal(PROBLEM.undeclaredKey.type),
  status: z.literal(500),
  key: z.string(),
});
