/**
 * Runs conformance vectors against a server over HTTP (global `fetch`), one
 * vector at a time, each with its own cookie jar of one cookie: the session
 * cookie. Nothing here knows our validator: it is what a Django, Rails or
 * Laravel middleware is proven with.
 */
import { randomBytes } from 'node:crypto';
import type { Matcher, Template, Vector, VectorExpectation, VectorStep } from './vector.js';

export interface ConformanceOptions {
  /** The server's base URL; vectors' paths are resolved against it. */
  readonly baseUrl: string;
  /** The session cookie's name on that server. @default 'sl_session' */
  readonly cookieName?: string;
  /** Whether the server has the clock route (test mode); vectors that need it are skipped otherwise. @default true */
  readonly clock?: boolean;
  /** Only the vectors whose id starts with one of these. @default every vector */
  readonly only?: readonly string[];
}

export interface VectorResult {
  readonly id: string;
  readonly title: string;
  readonly requirements: readonly string[];
  readonly outcome: 'passed' | 'failed' | 'skipped';
  /** For a failure: which step, and every mismatch found in it. */
  readonly step?: number;
  readonly failures?: readonly string[];
}

export interface ConformanceReport {
  readonly baseUrl: string;
  readonly results: readonly VectorResult[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

/** A fresh value shaped like a reference client's Idempotency-Key (22+ base64url characters from a CSPRNG). */
// 43 characters: also the shape of a well-formed session cookie that names no session.
const freshKey = () => randomBytes(32).toString('base64url');

class Mismatch extends Error {}

interface VectorRun {
  readonly variables: Map<string, string>;
  /** The session cookie's value, or undefined when the jar holds none. */
  jar: string | undefined;
}

function fill(template: Template, run: VectorRun): string {
  return template.replace(/\{\{(new:)?([A-Za-z0-9_]+)\}\}/g, (_, fresh: string | undefined, name: string) => {
    if (fresh) {
      if (!run.variables.has(name)) run.variables.set(name, freshKey());
    }
    const value = run.variables.get(name);
    if (value === undefined) throw new Mismatch(`the vector uses {{${name}}} before any step saved it`);
    return value;
  });
}

/** The session cookie as one Set-Cookie line sets it: its value, and whether the line removes it. */
function sessionCookieOf(response: Response, cookieName: string): { value: string; clears: boolean } | undefined {
  for (const line of response.headers.getSetCookie()) {
    const [pair = '', ...attributes] = line.split(';');
    const equals = pair.indexOf('=');
    if (equals < 0 || pair.slice(0, equals).trim() !== cookieName) continue;
    const value = pair.slice(equals + 1).trim();
    const clears =
      value === '' ||
      attributes.some((attribute) => {
        const [name = '', argument = ''] = attribute.split('=').map((part) => part.trim());
        if (name.toLowerCase() === 'max-age') return Number(argument) <= 0;
        if (name.toLowerCase() === 'expires') return Date.parse(argument) <= Date.now();
        return false;
      });
    return { value, clears };
  }
  return undefined;
}

/** Checks one value against a matcher; returns what is wrong, or undefined. */
function mismatch(what: string, actual: unknown, matcher: Matcher, run: VectorRun): string | undefined {
  const shown = actual === undefined ? 'absent' : JSON.stringify(actual);
  if (typeof matcher === 'string') return actual === fill(matcher, run) ? undefined : `${what}: expected ${JSON.stringify(fill(matcher, run))}, got ${shown}`;
  if ('absent' in matcher) return actual === undefined ? undefined : `${what}: expected absent, got ${shown}`;
  if ('present' in matcher) return actual !== undefined ? undefined : `${what}: expected present, got absent`;
  if ('pattern' in matcher) {
    // Placeholders in a pattern are filled as they are: the values vectors save (epochs, cookies, keys) hold no regex syntax.
    const pattern = fill(matcher.pattern, run);
    return typeof actual === 'string' && new RegExp(`^(?:${pattern})$`).test(actual) ? undefined : `${what}: expected to match /${pattern}/, got ${shown}`;
  }
  if ('not' in matcher) return actual !== fill(matcher.not, run) ? undefined : `${what}: expected anything but ${JSON.stringify(fill(matcher.not, run))}`;
  return JSON.stringify(actual) === JSON.stringify(matcher.equals) ? undefined : `${what}: expected ${JSON.stringify(matcher.equals)}, got ${shown}`;
}

function fieldAt(body: unknown, path: string): unknown {
  let value = body;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, part)) return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

interface Answer {
  readonly response: Response;
  readonly text: string;
  readonly json: unknown;
}

async function send(step: VectorStep, run: VectorRun, options: Required<Omit<ConformanceOptions, 'only'>>): Promise<Answer> {
  const { request } = step;
  const headers = new Headers();
  for (const [name, value] of Object.entries(request.headers ?? {})) headers.set(name, fill(value, run));
  const cookie = request.cookie ?? 'jar';
  if (cookie === 'jar') {
    if (run.jar !== undefined) headers.set('cookie', `${options.cookieName}=${run.jar}`);
  } else if (cookie !== 'none') {
    headers.set('cookie', fill(cookie.header, run));
  }
  let body: string | undefined;
  if (request.bodyBytes !== undefined) {
    body = 'x'.repeat(request.bodyBytes);
    headers.set('content-type', 'text/plain');
  } else if (request.body !== undefined) {
    body = typeof request.body === 'string' ? fill(request.body, run) : JSON.stringify(request.body);
    if (!headers.has('content-type')) headers.set('content-type', typeof request.body === 'string' ? 'text/plain' : 'application/json');
  }
  const response = await fetch(new URL(fill(request.path, run), options.baseUrl), { method: request.method, headers, body: body ?? null, redirect: 'manual' });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (cookie === 'jar') {
    const set = sessionCookieOf(response, options.cookieName);
    if (set) run.jar = set.clears ? undefined : set.value;
  }
  return { response, text, json };
}

function check(expect: VectorExpectation, answer: Answer, run: VectorRun, cookieName: string): string[] {
  const failures: string[] = [];
  const statuses = typeof expect.status === 'number' ? [expect.status] : expect.status;
  if (!statuses.includes(answer.response.status)) failures.push(`status: expected ${statuses.join(' or ')}, got ${answer.response.status} ${answer.text.slice(0, 300)}`);
  for (const [name, matcher] of Object.entries(expect.headers ?? {})) {
    const fault = mismatch(`header ${name}`, answer.response.headers.get(name) ?? undefined, matcher, run);
    if (fault) failures.push(fault);
  }
  if (expect.cookie) {
    const set = sessionCookieOf(answer.response, cookieName);
    const actual = set === undefined ? 'untouched' : set.clears ? 'cleared' : 'set';
    if (actual !== expect.cookie) failures.push(`session cookie: expected ${expect.cookie}, got ${actual}`);
  }
  for (const [path, matcher] of Object.entries(expect.body ?? {})) {
    const fault = mismatch(`body ${path}`, fieldAt(answer.json, path), matcher, run);
    if (fault) failures.push(fault);
  }
  return failures;
}

function save(step: VectorStep, answer: Answer, run: VectorRun, cookieName: string): void {
  for (const [name, source] of Object.entries(step.save ?? {})) {
    let value: string | undefined;
    if (source === 'cookie') value = sessionCookieOf(answer.response, cookieName)?.value ?? run.jar;
    else if (source.startsWith('header:')) value = answer.response.headers.get(source.slice('header:'.length)) ?? undefined;
    else if (source.startsWith('body:')) {
      const field = fieldAt(answer.json, source.slice('body:'.length));
      value = typeof field === 'string' ? field : field === undefined ? undefined : JSON.stringify(field);
    } else throw new Mismatch(`save ${name}: unknown source ${JSON.stringify(source)}`);
    if (value === undefined) throw new Mismatch(`save ${name}: the answer has no ${source}`);
    run.variables.set(name, value);
  }
}

async function advanceClock(ms: number, baseUrl: string): Promise<void> {
  const response = await fetch(new URL('/__conformance/clock', baseUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advanceMs: ms }) });
  await response.body?.cancel();
  if (response.status !== 204) throw new Mismatch(`the clock route answered ${response.status}, not 204: is the server in test mode?`);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs one vector; a thrown error (a refused connection) is a failure of its step too. */
export async function runVector(vector: Vector, options: ConformanceOptions): Promise<VectorResult> {
  const resolved = { baseUrl: options.baseUrl, cookieName: options.cookieName ?? 'sl_session', clock: options.clock ?? true };
  const { id, title } = vector;
  const requirements = vector.requirements ?? [];
  if (vector.needsClock && !resolved.clock) return { id, title, requirements, outcome: 'skipped' };
  const run: VectorRun = { variables: new Map([['cookieName', resolved.cookieName]]), jar: undefined };
  const steps = vector.steps;
  for (let index = 0; index < steps.length; index++) {
    const step = steps[index]!;
    const first = index;
    try {
      if (step.advanceClockMs) await advanceClock(step.advanceClockMs, resolved.baseUrl);
      const group: VectorStep[] = [step];
      while (group.at(-1)!.concurrentWithNext && index + 1 < steps.length) group.push(steps[++index]!);
      const answers = await Promise.all(
        group.map(async (member, position) => {
          for (let before = 0; before < position; before++) await pause(group[before]!.concurrentWithNext!.afterMs);
          return send(member, run, resolved);
        }),
      );
      for (const [position, member] of group.entries()) {
        const answer = answers[position]!;
        const failures = member.expect ? check(member.expect, answer, run, resolved.cookieName) : [];
        if (failures.length > 0) return { id, title, requirements, outcome: 'failed', step: first + position + 1, failures };
        save(member, answer, run, resolved.cookieName);
      }
    } catch (error) {
      return { id, title, requirements, outcome: 'failed', step: index + 1, failures: [error instanceof Error ? error.message : String(error)] };
    }
  }
  return { id, title, requirements, outcome: 'passed' };
}

/** Runs every vector (or those of `only`), one after another. */
export async function runConformance(vectors: readonly Vector[], options: ConformanceOptions): Promise<ConformanceReport> {
  const chosen = options.only ? vectors.filter((vector) => options.only!.some((prefix) => vector.id.startsWith(prefix))) : vectors;
  const results: VectorResult[] = [];
  for (const vector of chosen) results.push(await runVector(vector, options));
  return {
    baseUrl: options.baseUrl,
    results,
    passed: results.filter((result) => result.outcome === 'passed').length,
    failed: results.filter((result) => result.outcome === 'failed').length,
    skipped: results.filter((result) => result.outcome === 'skipped').length,
  };
}

/** The report as lines a person reads: one per vector, each failure's mismatches below it. */
export function formatConformanceReport(report: ConformanceReport): string {
  const lines = [`session-lanes conformance against ${report.baseUrl}`];
  for (const result of report.results) {
    const mark = result.outcome === 'passed' ? 'ok  ' : result.outcome === 'skipped' ? 'skip' : 'FAIL';
    lines.push(`${mark} ${result.id}  ${result.title}${result.requirements.length ? `  [${result.requirements.join(', ')}]` : ''}`);
    if (result.failures) for (const failure of result.failures) lines.push(`       step ${result.step}: ${failure}`);
  }
  lines.push(`${report.passed} passed, ${report.failed} failed${report.skipped ? `, ${report.skipped} skipped` : ''}`);
  return lines.join('\n');
}
