import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import { notebookOf } from './notebooks';

const PIPELINE_UUID = '7c1e4b2a-9d3f-4e8a-b6c5-1a2b3c4d5e6f';
const SECRET = 's3cret-token-4711';

/** A pipeline of one notebook step that prints the variables it gets. */
function pipeline(): string {
  return JSON.stringify({
    name: 'Variables',
    uuid: PIPELINE_UUID,
    version: '1.0.0',
    settings: {},
    parameters: {},
    services: {},
    steps: {
      show: {
        uuid: 'show',
        title: 'show',
        file_path: 'show.ipynb',
        incoming_connections: [],
        environment: '',
        kernel: { name: 'python', display_name: 'Python 3' },
        parameters: {},
        meta_data: { hidden: false, position: [40, 80] }
      }
    }
  });
}

const SHOW = [
  'import os',
  'print("mode", os.environ["MODE"], "type", os.environ["ORCHEST_SESSION_TYPE"])',
  'print("token", os.environ["TOKEN"])'
].join('\n');

function variablesOf(page: IJupyterLabPageFixture): Locator {
  return page
    .locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestEditor')
    .getByLabel('Environment variables');
}

test('the pipeline panel sets project and pipeline variables that steps get, masked in logs', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(120_000);
  const path = `${tmpPath}/p.orchest`;
  await page.contents.uploadContent(notebookOf(SHOW), 'text', `${tmpPath}/show.ipynb`);
  await page.contents.uploadContent(pipeline(), 'text', path);
  await page.filebrowser.open(path);

  const variables = variablesOf(page);
  const project = variables.getByRole('group', { name: /^Project/ });
  const own = variables.getByRole('group', { name: 'This pipeline' });
  const save = variables.getByRole('button', { name: 'Save variables' });
  await expect(save).toBeDisabled();

  await project.getByRole('button', { name: 'Add a variable' }).click();
  await project.getByLabel('Name of new variable').fill('TOKEN');
  const token = project.getByLabel('Value of TOKEN');
  await token.fill(SECRET);
  await expect(token).toHaveAttribute('type', 'password');
  await project.getByRole('button', { name: 'Show TOKEN' }).click();
  await expect(token).toHaveAttribute('type', 'text');
  await project.getByRole('button', { name: 'Hide TOKEN' }).click();
  await expect(token).toHaveAttribute('type', 'password');

  await own.getByRole('button', { name: 'Add a variable' }).click();
  await own.getByLabel('Name of new variable').fill('1MODE');
  await expect(own.locator('.jp-OrchestProperties-error')).toContainText('letters, digits');
  await expect(save).toBeDisabled();
  await own.getByLabel('Name of 1MODE').fill('MODE');
  await own.getByLabel('Value of MODE').fill('dev');
  await expect(own.locator('.jp-OrchestProperties-error')).toHaveCount(0);
  await save.click();
  await expect(variables.getByRole('status')).toContainText('Saved');
  await expect(save).toBeDisabled();

  const stored = await (
    await page.request.get(`/orchest/api/env-variables?pipeline=${encodeURIComponent(path)}`)
  ).json();
  expect(stored.project_env_variables).toEqual({ TOKEN: SECRET });
  expect(stored.pipeline_env_variables).toEqual({ MODE: 'dev' });
  const file = await page.request.get(`/api/contents/${path}?content=1&format=text`);
  expect(await file.text()).not.toContain(SECRET);

  // A run: the step gets both, and its log shows the secret masked. (The database keeps runs
  // of earlier test sessions of this pipeline: this run is the one that was not there.)
  const runsUrl = `/orchest/api/runs?pipeline=${encodeURIComponent(path)}`;
  const earlier = new Set(
    (await (await page.request.get(runsUrl)).json()).runs.map((run: any) => run.id)
  );
  const runMenu = await page.menu.openLocator('Run');
  await runMenu!.locator('.lm-Menu-item', { hasText: 'Run All Steps' }).first().click();
  let run: any = undefined;
  await expect(async () => {
    const runs = (await (await page.request.get(runsUrl)).json()).runs;
    run = runs.find((candidate: any) => !earlier.has(candidate.id));
    expect(run?.state).toBe('SUCCESS');
  }).toPass({ timeout: 60_000 });
  const step = page.locator(
    '.jp-MainAreaWidget:not(.lm-mod-hidden) .react-flow__node:has([data-step-title="show"])'
  );
  await expect(step.locator('.jp-OrchestStep-state')).toHaveText('COMPUTED');
  const log = await (
    await page.request.get(`/orchest/api/runs/${run.id}/steps/show/log`)
  ).text();
  expect(log).toContain('mode dev type interactive');
  expect(log).toContain('token ***');
  expect(log).not.toContain(SECRET);

  // Opened again, the panel shows what was saved, values hidden.
  await page.activity.closeAll();
  await page.filebrowser.open(path);
  const again = variablesOf(page);
  await expect(again.getByLabel('Value of TOKEN')).toHaveValue(SECRET);
  await expect(again.getByLabel('Value of TOKEN')).toHaveAttribute('type', 'password');
  await again.getByRole('button', { name: 'Remove MODE' }).click();
  await again.getByRole('button', { name: 'Save variables' }).click();
  await expect(again.getByRole('status')).toContainText('Saved');
  const after = await (
    await page.request.get(`/orchest/api/env-variables?pipeline=${encodeURIComponent(path)}`)
  ).json();
  expect(after.pipeline_env_variables).toEqual({});
});
