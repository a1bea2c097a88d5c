#!/usr/bin/env node
import { mkdir, realpath, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { checkHistory } from './checker.js';
import { loadRaceConfig } from './load-config.js';
import { runNodeRace } from './node-driver.js';
import { renderHtmlReport } from './report-html.js';
import { formatReport } from './report-text.js';
import { SCENARIOS } from './scenarios.js';

/**
 * `session-lanes <command>`: `race` runs a scenario against a server and
 * checks the history. Exit status: 0 no anomaly, 1 an anomaly, 2 a usage or
 * config error, or a run in which no write was acknowledged (it could not judge anything).
 */
export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly cwd: string;
}

const USAGE = `Usage:
  session-lanes race --config race.config.ts --scenario <name> [--seed N] [--driver http1|http2] [--report dir] [--clients N] [--operations N]

Scenarios: ${Object.keys(SCENARIOS).join(', ')}
Exit status: 0 no anomaly, 1 an anomaly found, 2 a usage or config error, or no write acknowledged.`;

class UsageError extends Error {
  override name = 'UsageError';
}

function integer(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0) throw new UsageError(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return parsed;
}

async function race(args: string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', short: 'c' },
      scenario: { type: 'string', short: 's' },
      seed: { type: 'string' },
      driver: { type: 'string', default: 'http1' },
      report: { type: 'string', default: 'race-report' },
      clients: { type: 'string' },
      operations: { type: 'string' },
    },
    strict: true,
  });
  if (values.config === undefined) throw new UsageError('--config is required (a race.config.ts or .js)');
  if (values.scenario === undefined) throw new UsageError(`--scenario is required: one of ${Object.keys(SCENARIOS).join(', ')}`);
  if (values.driver !== 'http1' && values.driver !== 'http2') throw new UsageError(`--driver must be http1 or http2, got ${JSON.stringify(values.driver)}`);
  const seed = integer(values.seed, '--seed');
  const clients = integer(values.clients, '--clients');
  const operations = integer(values.operations, '--operations');
  const loaded = await loadRaceConfig(values.config, io.cwd);
  const config = { ...loaded, ...(clients === undefined ? {} : { clients }), ...(operations === undefined ? {} : { operations }) };
  const history = await runNodeRace({
    config,
    scenario: values.scenario,
    transport: values.driver,
    ...(seed === undefined ? {} : { seed }),
    onSeed: (used) => io.out(`session-lanes race ${values.scenario}: seed ${used}`),
  });
  const result = checkHistory(history);
  io.out(formatReport(history, result));
  const directory = join(io.cwd, values.report);
  await mkdir(directory, { recursive: true });
  const base = join(directory, `race-${history.scenario}-${history.seed}`);
  await writeFile(`${base}.json`, `${JSON.stringify({ history, result }, null, 2)}\n`);
  await writeFile(`${base}.html`, renderHtmlReport(history, result));
  io.out(`Report: ${base}.json, ${base}.html`);
  if (!result.valid) return 1;
  if (result.counts.acknowledged === 0) {
    // Nothing acknowledged, nothing to lose: a config whose writes are all refused must not pass.
    io.err('session-lanes race: no write was acknowledged (2xx), so nothing was checked: are the writer\'s path, body and headers what the server expects?');
    return 2;
  }
  return 0;
}

const COMMANDS: Record<string, (args: string[], io: CliIo) => Promise<number>> = { race };

/** Run the CLI; resolves to the exit status. */
export async function main(argv: readonly string[], io: CliIo = { out: (text) => console.log(text), err: (text) => console.error(text), cwd: process.cwd() }): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    io.out(USAGE);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  if (run === undefined) {
    io.err(`session-lanes: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(args, io);
  } catch (error) {
    const usage = error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
    io.err(`session-lanes ${command}: ${(error as Error).message}${usage ? `\n\n${USAGE}` : ''}`);
    return 2;
  }
}

// Run when executed as the bin (through npx's symlink too), not when imported.
const self = fileURLToPath(import.meta.url);
if (process.argv[1] !== undefined && (await realpath(process.argv[1]).catch(() => process.argv[1])) === self) {
  process.exitCode = await main(process.argv.slice(2));
}
