import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

import { editor, readJsonFile, stepNode } from './editor';

/** Fails on its first try (the marker file remembers it), then prints a line. */
const FLAKY = `from pathlib import Path
marker = Path("tried")
if not marker.exists():
    marker.touch()
    raise SystemExit("the first try failed")
print("worked on a later try")
`;

/** Prints 5 MB, then a last line. */
const FLOOD = `line = "x" * 99
for _ in range(50_000):
    print(line)
print("the very end")
`;

/**
 * A pipeline of one step running `file`. Its uuids are new each time: the server's cache
 * outlives a test run, and would restore the step of an earlier one instead of running it.
 */
function pipeline(name: string, file: string): string {
  const uuid = `${name}-${Date.now()}`;
  return JSON.stringify({
    name: 'Retries',
    uuid: `pipeline-${uuid}`,
    version: '1.0.0',
    settings: {},
    parameters: {},
    services: {},
    steps: {
      [uuid]: {
        uuid,
        title: name,
        file_path: file,
        incoming_connections: [],
        environment: '',
        kernel: { name: 'python', display_name: 'Python 3' },
        parameters: {},
        meta_data: { hidden: false, position: [80, 80] }
      }
    }
  });
}

async function runAll(page: IJupyterLabPageFixture, title: string): Promise<void> {
  await page
    .locator('.jp-MainAreaWidget:not(.lm-mod-hidden) [data-command="orchest:run-all"]')
    .click();
  await expect(stepNode(page, title).locator('.jp-OrchestStep-state')).toHaveText(
    /^(COMPUTED|FAILURE|ABORTED)/,
    { timeout: 60_000 }
  );
}

async function showLogs(page: IJupyterLabPageFixture, title: string): Promise<void> {
  await stepNode(page, title).click({ button: 'right' });
  await page.locator('.lm-Menu-item', { hasText: 'Show Logs' }).click();
}

test('a step’s retries and timeout are edited in its properties, checked as typed', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(120_000);
  await page.contents.uploadContent(FLAKY, 'text', `${tmpPath}/flaky.py`);
  await page.contents.uploadContent(pipeline('flaky', 'flaky.py'), 'text', `${tmpPath}/p.orchest`);
  await page.filebrowser.open(`${tmpPath}/p.orchest`);
  await stepNode(page, 'flaky').click();
  const panel = editor(page).getByLabel('Step properties');
  const errors = panel.locator('.jp-OrchestProperties-error');

  const retries = panel.getByLabel('Retries after a failure');
  await retries.fill('two');
  await expect(retries).toHaveAttribute('aria-invalid', 'true');
  await expect(errors).toHaveText('A whole number from 0 to 100, or empty for none.');
  await retries.fill('2');
  await expect(errors).toHaveCount(0);
  const timeout = panel.getByLabel('Timeout of a try, in seconds');
  await timeout.fill('0');
  await expect(errors).toHaveText('A number of seconds above 0, or empty for no timeout.');
  await timeout.fill('30');
  await panel.getByLabel('Seconds between tries').fill('0.5');
  await expect(errors).toHaveCount(0);
  await page.keyboard.press('Control+s');
  await expect(page.activity.getTabLocator('p.orchest')).not.toHaveClass(/jp-mod-dirty/);
  const saved = await readJsonFile(page, `${tmpPath}/p.orchest`);
  const [step] = Object.values<Record<string, unknown>>(saved.steps);
  expect(step).toMatchObject({ retries: 2, retry_delay: 0.5, timeout: 30 });

  // Emptied, a field no longer sets anything.
  await timeout.fill('');
  await page.keyboard.press('Control+s');
  await expect(page.activity.getTabLocator('p.orchest')).not.toHaveClass(/jp-mod-dirty/);
  const [cleared] = Object.values<Record<string, unknown>>(
    (await readJsonFile(page, `${tmpPath}/p.orchest`)).steps
  );
  expect('timeout' in cleared).toBe(false);

  // The run: the step fails once, then succeeds on its second try, and says so.
  await runAll(page, 'flaky');
  await expect(stepNode(page, 'flaky').locator('.jp-OrchestStep-state')).toHaveText(
    'COMPUTED · try 2/3'
  );
  await showLogs(page, 'flaky');
  const log = editor(page).locator('.jp-OrchestLog-output');
  await expect(log).toContainText('[attempt 1 of 3]');
  await expect(log).toContainText('the first try failed');
  await expect(log).toContainText('[attempt 2 of 3]');
  await expect(log).toContainText('worked on a later try');
});

test('the log panel shows the end of a flood, read in pages', async ({ page, tmpPath }) => {
  test.setTimeout(120_000);
  await page.contents.uploadContent(FLOOD, 'text', `${tmpPath}/flood.py`);
  await page.contents.uploadContent(pipeline('flood', 'flood.py'), 'text', `${tmpPath}/f.orchest`);
  await page.filebrowser.open(`${tmpPath}/f.orchest`);
  await runAll(page, 'flood');
  await showLogs(page, 'flood');
  const log = editor(page).locator('.jp-OrchestLog-output');
  await expect(log).toContainText('[only the end of this log is shown: it is 5.0 MB long]');
  await expect(log).toContainText('the very end');
  const shown = (await log.textContent()) ?? '';
  expect(shown.length).toBeLessThan(300_000);
});

test('a job’s retries and timeout apply to the steps that set none', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(120_000);
  await page.contents.uploadContent(FLAKY, 'text', `${tmpPath}/flaky.py`);
  await page.contents.uploadContent(pipeline('flaky', 'flaky.py'), 'text', `${tmpPath}/j.orchest`);
  await page.filebrowser.open(`${tmpPath}/j.orchest`);
  await page
    .locator('.jp-MainAreaWidget:not(.lm-mod-hidden) [data-command="orchest:create-job"]')
    .click();
  const form = page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestJobForm-body');
  const name = `Retried ${Date.now()}`;
  await form.getByLabel('Name').fill(name);
  const create = form.getByRole('button', { name: 'Create Job' });
  const retries = form.getByLabel('Retries after a failure');
  await retries.fill('-1');
  await expect(retries).toHaveAttribute('aria-invalid', 'true');
  await expect(create).toBeDisabled();
  await retries.fill('1');
  await form.getByLabel('Timeout of a try, in seconds').fill('120');
  await expect(create).toBeEnabled();
  await create.click();

  const job = page.locator('#jp-orchest-jobs .jp-OrchestJobs-job', { hasText: name });
  await expect(job.locator('.jp-OrchestSidebar-badge').first()).toHaveText('SUCCESS', {
    timeout: 90_000
  });
  const listed = await page.request.get(`/orchest/api/jobs?pipeline=${tmpPath}/j.orchest`);
  const { id } = (await listed.json()).jobs.find((j: { name: string }) => j.name === name);
  const detail = await (await page.request.get(`/orchest/api/jobs/${id}`)).json();
  // The run's copy of the pipeline, at its path in its project: the test folder, or the
  // server's root when earlier tests left an `.orchest/` folder there.
  const runFiles = `/orchest/api/jobs/${id}/runs/${detail.runs[0].id}/files`;
  let copy = await page.request.get(`${runFiles}/j.orchest`);
  if (copy.status() === 404) {
    copy = await page.request.get(`${runFiles}/${tmpPath}/j.orchest`);
  }
  const [ran] = Object.values<Record<string, unknown>>((await copy.json()).steps);
  expect(ran).toMatchObject({ retries: 1, timeout: 120 });
});
