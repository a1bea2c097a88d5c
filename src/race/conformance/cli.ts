/**
 * `session-lanes conformance <base-url>`: runs the shipped vectors against a
 * server and exits 1 when any fails. The race kit's CLI dispatches here.
 */
import { loadVectors } from './load.js';
import { formatConformanceReport, runConformance } from './runner.js';

export const CONFORMANCE_USAGE: string = `usage: session-lanes conformance <base-url> [--cookie-name NAME] [--no-clock] [--only ID-PREFIX]... [--json]

Runs PROTOCOL.md's required behaviours, as JSON vectors, against a server that
exposes the test routes listed in the package's conformance/README.md.
  --cookie-name NAME   the server's session cookie (default sl_session)
  --no-clock           the server has no clock route: skip the vectors that need one
  --only PREFIX        run only the vectors whose id starts with PREFIX (repeatable)
  --json               print the report as JSON`;

/** Runs the command; returns the exit status (0 all passed, 1 a vector failed, 2 bad usage). */
export async function conformanceCommand(args: readonly string[], print: (text: string) => void = console.log): Promise<number> {
  let baseUrl: string | undefined;
  let cookieName: string | undefined;
  let clock = true;
  let json = false;
  const only: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--cookie-name') cookieName = args[++index];
    else if (arg === '--only') only.push(args[++index] ?? '');
    else if (arg === '--no-clock') clock = false;
    else if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') {
      print(CONFORMANCE_USAGE);
      return 0;
    } else if (!arg.startsWith('-') && baseUrl === undefined) baseUrl = arg;
    else {
      print(`session-lanes conformance: unknown argument ${JSON.stringify(arg)}\n\n${CONFORMANCE_USAGE}`);
      return 2;
    }
  }
  if (!baseUrl || !URL.canParse(baseUrl) || !/^https?:$/.test(new URL(baseUrl).protocol)) {
    print(`session-lanes conformance: give the server's base URL, such as http://127.0.0.1:3000 (got ${JSON.stringify(baseUrl ?? '')})\n\n${CONFORMANCE_USAGE}`);
    return 2;
  }
  if (cookieName !== undefined && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(cookieName)) {
    print(`session-lanes conformance: --cookie-name must be a cookie name (got ${JSON.stringify(cookieName)})`);
    return 2;
  }
  const report = await runConformance(loadVectors(), { baseUrl, clock, ...(cookieName ? { cookieName } : {}), ...(only.length ? { only } : {}) });
  print(json ? JSON.stringify(report, null, 2) : formatConformanceReport(report));
  return report.failed > 0 ? 1 : 0;
}
