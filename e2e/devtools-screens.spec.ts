import { expect, test, type Page } from '@playwright/test';
import { postTo as post } from './harness.js';

// The devtools panel's two modes, as pictures (e2e/devtools-screens.spec.ts-snapshots/), and the floating mode's
// state kept in localStorage across a reload. What changes from run to run (the epoch, the timeline's bar
// lengths) is masked.

const open = async (page: Page, panel: 'floating' | 'embedded' | 'element') => {
  await page.goto(`/e2e/fixture/devtools.html?panel=${panel}`);
  await page.waitForFunction(() => window.devtoolsFixture !== undefined);
};

test.beforeEach(async ({ page }) => {
  await page.goto('/e2e/stats');
  await post(page, '/e2e/reset');
});

/** Two requests, and the panel showing both keys at version 1 with their lanes free. */
async function twoRequests(page: Page) {
  expect(await page.evaluate(() => window.devtoolsFixture.inc())).toBe(200);
  expect(await page.evaluate(() => window.devtoolsFixture.log('a'))).toBe(200);
  for (const key of ['n', 'log']) {
    await expect(page.locator(`[data-testid=devtools-key][data-key=${key}] [data-testid=devtools-version]`)).toHaveText('v1');
    await expect(page.locator(`[data-testid=devtools-key][data-key=${key}] [data-testid=devtools-lane]`)).toHaveText('free');
  }
  await expect(page.locator('[data-testid=devtools-timeline] rect[data-operation]')).toHaveCount(2);
}

const masks = (page: Page) => [page.getByTestId('devtools-epoch'), page.getByTestId('devtools-timeline')];

test('embedded: the panel inside the page', async ({ page }) => {
  await open(page, 'embedded');
  await twoRequests(page);
  await expect(page.getByTestId('devtools-panel')).toHaveScreenshot('embedded.png', { mask: masks(page), maxDiffPixelRatio: 0.01 });
});

test('floating: a corner button, then the panel over the page; open and corner kept across a reload', async ({ page }) => {
  await open(page, 'floating');
  await expect(page.getByTestId('devtools-panel')).toBeHidden();
  await expect(page.getByTestId('devtools-toggle')).toHaveScreenshot('floating-closed.png');
  await page.getByTestId('devtools-toggle').click();
  await twoRequests(page);
  await expect(page.locator('[data-session-lanes-devtools]')).toHaveScreenshot('floating-open.png', { mask: masks(page), maxDiffPixelRatio: 0.01 });

  await page.getByTestId('devtools-corner').selectOption('top-left');
  await page.reload();
  await page.waitForFunction(() => window.devtoolsFixture !== undefined);
  await expect(page.getByTestId('devtools-panel')).toBeVisible();
  await expect(page.locator('[data-session-lanes-devtools]')).toHaveAttribute('data-corner', 'top-left');
  await page.getByTestId('devtools-close').click();
  await page.reload();
  await page.waitForFunction(() => window.devtoolsFixture !== undefined);
  await expect(page.getByTestId('devtools-panel')).toBeHidden();
  await expect(page.getByTestId('devtools-toggle')).toBeVisible();
});

test('the custom element: <session-lanes-devtools> with its client property shows the same panel', async ({ page }) => {
  await open(page, 'element');
  await twoRequests(page);
  await expect(page.locator('session-lanes-devtools [data-testid=devtools-panel]')).toBeVisible();
});
