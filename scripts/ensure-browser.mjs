// Makes sure Playwright has a Chromium before the e2e tests run: Debian's
// /usr/bin/chromium where it exists (machines that cannot download browsers),
// Playwright's own elsewhere, installed on first use.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { chromium } from '@playwright/test';

const debian = '/usr/bin/chromium';
if (existsSync(debian)) process.exit(0);
if (existsSync(chromium.executablePath())) process.exit(0);
console.log('No Chromium found: installing Playwright\'s (npx playwright install chromium)');
execFileSync('npx', ['playwright', 'install', 'chromium'], { stdio: 'inherit' });
