import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator, TestInfo } from '@playwright/test';
import { readdirSync, readFileSync, statSync } from 'fs';
import { join } from 'path';

/** The example project the README's tour uses. */
const QUICKSTART = join(__dirname, '..', '..', 'examples', 'quickstart');

/**
 * Put the example's files into `folder` on the server. The contents API does not write its
 * hidden `.orchest/` folder, so the steps use the project's default environment instead.
 */
async function uploadQuickstart(page: IJupyterLabPageFixture, folder: string) {
  for (const name of readdirSync(QUICKSTART)) {
    const path = join(QUICKSTART, name);
    if (name.startsWith('.') || !statSync(path).isFile()) {
      continue;
    }
    let text = readFileSync(path, 'utf-8');
    if (name.endsWith('.orchest')) {
      const pipeline = JSON.parse(text);
      for (const step of Object.values<{ environment: string }>(pipeline.steps)) {
        step.environment = '';
      }
      text = JSON.stringify(pipeline);
    }
    await page.contents.uploadContent(text, 'text', `${folder}/${name}`);
  }
}

/** Keep a screenshot of the page as an artifact of the test. */
async function keepScreenshot(page: IJupyterLabPageFixture, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** The new-job form of the quickstart pipeline, opened from the editor's toolbar. */
async function openJobForm(page: IJupyterLabPageFixture, folder: string): Promise<Locator> {
  await uploadQuickstart(page, folder);
  await page.filebrowser.open(`${folder}/quickstart.orchest`);
  await page
    .locator('.jp-MainAreaWidget:not(.lm-mod-hidden) [data-command="orchest:create-job"]')
    .click();
  const form = page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestJobForm-body');
  // Pre-filled from the pipeline's current parameter values.
  await expect(form.getByLabel('Values of pipeline · n_rows')).toHaveValue('[200]');
  return form;
}

test('a job sweeps a parameter from the form, and its runs open read-only', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(240_000);
  const form = await openJobForm(page, tmpPath);
  // The server's database outlives the test server: earlier runs' jobs may be listed too.
  const name = `Sweep rows ${Date.now()}`;
  await form.getByLabel('Name').fill(name);
  const values = form.getByLabel('Values of pipeline · n_rows');
  await values.fill('[10, 20');
  await expect(values).toHaveAttribute('aria-invalid', 'true');
  await expect(form.getByRole('button', { name: 'Create Job' })).toBeDisabled();
  await values.fill('[10, 20]');
  await expect(form.locator('.jp-OrchestJobForm-count')).toHaveText('2 runs');
  await expect(form.locator('.jp-OrchestJobForm-combinations li')).toHaveCount(2);
  await keepScreenshot(page, testInfo, '1-job-form');
  await form.getByRole('button', { name: 'Create Job' }).click();

  const jobs = page.locator('#jp-orchest-jobs');
  await expect(jobs).toBeVisible();
  const job = jobs.locator('.jp-OrchestJobs-job', { hasText: name });
  await job.locator('.jp-OrchestSidebar-item').first().click();
  const runs = job.locator('.jp-OrchestJobs-runs li');
  await expect(runs).toHaveCount(2, { timeout: 30_000 });
  for (const run of await runs.all()) {
    await expect(run.locator('.jp-OrchestSidebar-badge')).toHaveText('SUCCESS', {
      timeout: 180_000
    });
  }
  await expect(job.locator('.jp-OrchestSidebar-badge').first()).toHaveText('SUCCESS');
  await keepScreenshot(page, testInfo, '2-job-runs');

  await runs.first().locator('.jp-OrchestSidebar-item').click();
  const runView = page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestRunView');
  await runView.locator('.react-flow__node:has([data-step-title="Get data"])').click();
  await runView.getByRole('button', { name: 'Show the notebook’s outputs' }).click();
  // The run's own notebook, with the outputs that run wrote (not the user's notebook).
  await expect(
    runView.locator('.jp-OrchestRunView-notebook .jp-OutputArea-output').first()
  ).toContainText('sensor');
  await expect(runView.getByRole('button', { name: 'Copy into an editable folder' })).toBeVisible();
  await keepScreenshot(page, testInfo, '3-job-run-view');
});

test('a cron schedule shows its next runs, or why it is not valid', async ({
  page,
  tmpPath
}, testInfo) => {
  const form = await openJobForm(page, tmpPath);
  await form.getByRole('radio', { name: 'Schedule' }).check();
  await form.getByLabel('Cron schedule').fill('*/15 * * * *');
  await form.getByLabel('Time zone').fill('UTC');
  const preview = form.locator('.jp-OrchestJobForm-preview');
  await expect(preview.locator('li')).toHaveCount(5);
  await keepScreenshot(page, testInfo, '1-cron-preview');

  await form.getByLabel('Cron schedule').fill('every tuesday');
  await expect(preview.locator('.jp-OrchestJobForm-error')).not.toBeEmpty();
  await expect(preview.locator('li')).toHaveCount(0);
  await expect(form.getByRole('button', { name: 'Create Job' })).toBeDisabled();
  await keepScreenshot(page, testInfo, '2-cron-invalid');
});
