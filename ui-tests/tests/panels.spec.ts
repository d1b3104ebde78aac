import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import { notebookOf } from './notebooks';

const PIPELINE_UUID = '3f0a2d5c-1b7e-4c8a-9d6f-2e4b8a1c7d90';

/** A notebook that prints `text`. */
function notebook(text: string): string {
  return notebookOf(`print(${JSON.stringify(text)})`);
}

/** A pipeline of steps that run `<title>.ipynb`, each after the one before it. */
function pipeline(titles: string[]): string {
  const steps: Record<string, unknown> = {};
  titles.forEach((title, index) => {
    steps[title] = {
      uuid: title,
      title,
      file_path: `${title}.ipynb`,
      incoming_connections: index === 0 ? [] : [titles[index - 1]],
      environment: '',
      kernel: { name: 'python', display_name: 'Python 3' },
      parameters: {},
      meta_data: { hidden: false, position: [40 + 260 * index, 80] }
    };
  });
  return JSON.stringify({
    name: 'Panels',
    uuid: PIPELINE_UUID,
    version: '1.0.0',
    settings: {},
    parameters: {},
    services: {},
    steps
  });
}

function editor(page: IJupyterLabPageFixture): Locator {
  return page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestEditor');
}

function stepNode(page: IJupyterLabPageFixture, title: string): Locator {
  return editor(page).locator(`.react-flow__node:has([data-step-title="${title}"])`);
}

async function readFile(page: IJupyterLabPageFixture, path: string): Promise<any> {
  return JSON.parse(
    await page.evaluate(
      file =>
        window.jupyterapp.serviceManager.contents
          .get(file, { content: true, format: 'text' })
          .then(model => model.content as string),
      path
    )
  );
}

test('the properties panel edits a step and refuses parameters that are not an object', async ({
  page,
  tmpPath
}) => {
  await page.contents.uploadContent(pipeline(['load']), 'text', `${tmpPath}/p.orchest`);
  await page.filebrowser.open(`${tmpPath}/p.orchest`);

  await stepNode(page, 'load').click();
  const panel = editor(page).getByLabel('Step properties');
  await panel.getByLabel('Title').fill('Load data');
  await expect(stepNode(page, 'Load data')).toBeVisible();

  const parameters = panel.getByLabel('Parameters (JSON)');
  await parameters.fill('{"rows": ');
  await expect(panel.locator('.jp-OrchestProperties-error')).toContainText('Not valid JSON');
  await parameters.fill('[1, 2]');
  await expect(panel.locator('.jp-OrchestProperties-error')).toContainText(
    'must be a JSON object'
  );
  await parameters.fill('{"rows": 100}');
  await expect(panel.locator('.jp-OrchestProperties-error')).toHaveCount(0);

  await page.keyboard.press('Control+s');
  await expect(page.activity.getTabLocator('p.orchest')).not.toHaveClass(/jp-mod-dirty/);
  const saved = await readFile(page, `${tmpPath}/p.orchest`);
  expect(saved.steps.load.title).toBe('Load data');
  expect(saved.steps.load.parameters).toEqual({ rows: 100 });
});

test('the editor follows its file when it changes on disk', async ({ page, tmpPath }) => {
  await page.contents.uploadContent(pipeline(['load']), 'text', `${tmpPath}/p.orchest`);
  await page.filebrowser.open(`${tmpPath}/p.orchest`);
  await expect(stepNode(page, 'load')).toBeVisible();

  // Another program (here: the REST API) rewrites the file.
  await page.contents.uploadContent(
    pipeline(['load', 'clean']),
    'text',
    `${tmpPath}/p.orchest`
  );

  await expect(stepNode(page, 'clean')).toBeVisible({ timeout: 15_000 });
  await expect(editor(page).locator('.react-flow__edge')).toHaveCount(1);
  await expect(page.activity.getTabLocator('p.orchest')).not.toHaveClass(/jp-mod-dirty/);
});

test('the sidebar lists pipelines and runs, and opens a past run read-only', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(120_000);
  await page.contents.uploadContent(notebook('loaded 7 rows'), 'text', `${tmpPath}/load.ipynb`);
  await page.contents.uploadContent(pipeline(['load']), 'text', `${tmpPath}/p.orchest`);
  await page.filebrowser.open(`${tmpPath}/p.orchest`);

  await page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) [data-command="orchest:run-all"]').click();
  await expect(stepNode(page, 'load').locator('.jp-OrchestStep-state')).toHaveText(
    /^(COMPUTED|FAILURE|ABORTED)$/,
    { timeout: 60_000 }
  );

  await page.sidebar.openTab('jp-orchest-sidebar');
  const sidebar = page.locator('#jp-orchest-sidebar');
  await expect(sidebar.getByRole('region', { name: 'Pipelines' })).toContainText(
    `${tmpPath}/p.orchest`
  );
  const runs = sidebar.locator('.jp-OrchestSidebar-runs li');
  await expect(runs.first()).toContainText('SUCCESS');
  await expect(sidebar.getByRole('region', { name: 'Environments' })).toBeVisible();

  await runs.first().locator('.jp-OrchestSidebar-item').click();
  const runView = page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestRunView');
  await expect(runView.locator('.jp-OrchestStep-state')).toHaveText('COMPUTED');
  await runView.locator('.react-flow__node').click();
  await expect(runView.locator('.jp-OrchestLog-output')).toContainText('loaded 7 rows');
  // A notebook step also shows the outputs its notebook holds, rendered.
  await runView.getByRole('button', { name: 'Show the notebook’s outputs' }).click();
  await expect(runView.locator('.jp-OrchestRunView-notebook .jp-OutputArea-output')).toContainText(
    'loaded 7 rows'
  );
});

test('a notebook that is a step can be run from the file browser', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(120_000);
  await page.contents.uploadContent(notebook('from the browser'), 'text', `${tmpPath}/load.ipynb`);
  await page.contents.uploadContent(pipeline(['load']), 'text', `${tmpPath}/p.orchest`);
  // Coming back into the folder makes the extension read which files are steps.
  await page.filebrowser.openHomeDirectory();
  await page.filebrowser.openDirectory(tmpPath);

  const item = page.locator('.jp-DirListing-item', { hasText: 'load.ipynb' });
  await expect(async () => {
    await page.keyboard.press('Escape');
    await item.click({ button: 'right' });
    await expect(page.locator('.lm-Menu-item', { hasText: 'Run Step of Panels' })).toBeVisible({
      timeout: 1000
    });
  }).toPass({ timeout: 15_000 });
  await page.locator('.lm-Menu-item', { hasText: 'Run Step of Panels' }).click();

  await expect(page.locator('.jp-toast-message')).toContainText('Running step "load"');
});

test('several steps are selected with shift-click or a box, and deleted and restored together', async ({
  page,
  tmpPath
}) => {
  await page.contents.uploadContent(pipeline(['a', 'b', 'c']), 'text', `${tmpPath}/p.orchest`);
  await page.filebrowser.open(`${tmpPath}/p.orchest`);
  const selected = editor(page).locator('.jp-OrchestStep.jp-mod-selected');

  await stepNode(page, 'a').click();
  await stepNode(page, 'b').click({ modifiers: ['Shift'] });
  await expect(selected).toHaveCount(2);
  await expect(editor(page).getByLabel('Pipeline properties')).toContainText(
    '2 steps selected'
  );

  // A box drawn with Shift held around every step selects them all.
  const first = await stepNode(page, 'a').boundingBox();
  const last = await stepNode(page, 'c').boundingBox();
  if (first === null || last === null) {
    throw new Error('the steps are not on screen');
  }
  await page.keyboard.down('Shift');
  await page.mouse.move(first.x - 20, first.y - 20);
  await page.mouse.down();
  await page.mouse.move(last.x + last.width + 20, last.y + last.height + 20, { steps: 8 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  await expect(selected).toHaveCount(3);

  await page.keyboard.press('Delete');
  await expect(editor(page).locator('.jp-OrchestStep')).toHaveCount(0);
  await page.keyboard.press('Control+z');
  await expect(editor(page).locator('.jp-OrchestStep')).toHaveCount(3);
  await expect(editor(page).locator('.react-flow__edge')).toHaveCount(2);
  await page.keyboard.press('Control+Shift+z');
  await expect(editor(page).locator('.jp-OrchestStep')).toHaveCount(0);
  await page.keyboard.press('Control+z');
  await expect(editor(page).locator('.jp-OrchestStep')).toHaveCount(3);
});

test('the file picker sets the file a step runs', async ({ page, tmpPath }) => {
  await page.contents.uploadContent(notebook('clean'), 'text', `${tmpPath}/clean.ipynb`);
  await page.contents.uploadContent(pipeline(['load']), 'text', `${tmpPath}/p.orchest`);
  await page.filebrowser.open(`${tmpPath}/p.orchest`);

  await stepNode(page, 'load').click();
  const panel = editor(page).getByLabel('Step properties');
  await panel.getByRole('button', { name: 'Choose…' }).click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.locator('.jp-DirListing-item', { hasText: 'clean.ipynb' }).click();
  await dialog.getByRole('button', { name: 'Select' }).click();

  await expect(panel.getByLabel('File path')).toHaveValue('clean.ipynb');
  await expect(stepNode(page, 'load').locator('.jp-OrchestStep-file')).toHaveText(
    'clean.ipynb'
  );
});

test('a running step shows its elapsed seconds, and Cancel stops the run', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(120_000);
  await page.contents.uploadContent(
    JSON.stringify({
      ...JSON.parse(notebook('')),
      cells: [
        {
          cell_type: 'code',
          execution_count: null,
          id: 'sl33p000',
          metadata: {},
          outputs: [],
          source: ['import time\n', 'time.sleep(60)']
        }
      ]
    }),
    'text',
    `${tmpPath}/load.ipynb`
  );
  await page.contents.uploadContent(pipeline(['load']), 'text', `${tmpPath}/p.orchest`);
  await page.filebrowser.open(`${tmpPath}/p.orchest`);

  await page
    .locator('.jp-MainAreaWidget:not(.lm-mod-hidden) [data-command="orchest:run-all"]')
    .click();
  const state = stepNode(page, 'load').locator('.jp-OrchestStep-state');
  await expect(state).toHaveText(/^RUNNING [1-9]\d* s$/, { timeout: 60_000 });

  await page
    .locator('.jp-MainAreaWidget:not(.lm-mod-hidden) [data-command="orchest:cancel-run"]')
    .click();
  await expect(state).toHaveText('ABORTED', { timeout: 30_000 });
  await expect(editor(page).locator('.jp-OrchestEditor-runStatus')).toContainText(
    'Latest run: ABORTED'
  );
});

test('Save As writes a valid copy of the pipeline under a new name', async ({
  page,
  tmpPath
}) => {
  await page.contents.uploadContent(pipeline(['load']), 'text', `${tmpPath}/p.orchest`);
  await page.filebrowser.open(`${tmpPath}/p.orchest`);
  await stepNode(page, 'load').click();
  await page.keyboard.press('Delete');

  await page.evaluate(() => window.jupyterapp.commands.execute('docmanager:save-as'));
  const dialog = page.locator('.jp-Dialog');
  await dialog.locator('input').fill(`${tmpPath}/copy.orchest`);
  await dialog.getByRole('button', { name: 'Save' }).click();

  await expect(page.activity.getTabLocator('copy.orchest')).toBeVisible();
  await expect(page.activity.getTabLocator('copy.orchest')).not.toHaveClass(/jp-mod-dirty/);
  const copy = await readFile(page, `${tmpPath}/copy.orchest`);
  expect(copy.steps).toEqual({});
  expect(copy.uuid).toBe(PIPELINE_UUID);
});

test('the Edit and Run menus undo and run in the pipeline editor', async ({ page, tmpPath }) => {
  test.setTimeout(120_000);
  await page.contents.uploadContent(notebook('from the menu'), 'text', `${tmpPath}/load.ipynb`);
  await page.contents.uploadContent(pipeline(['load']), 'text', `${tmpPath}/p.orchest`);
  await page.filebrowser.open(`${tmpPath}/p.orchest`);
  await stepNode(page, 'load').click();
  await page.keyboard.press('Delete');
  await expect(stepNode(page, 'load')).toHaveCount(0);

  await page.menu.clickMenuItem('Edit>Undo Pipeline Edit');
  await expect(stepNode(page, 'load')).toBeVisible();

  // The Run menu lists the command under more than one of its entries.
  const runMenu = await page.menu.openLocator('Run');
  await runMenu!.locator('.lm-Menu-item', { hasText: 'Run All Steps' }).first().click();
  await expect(stepNode(page, 'load').locator('.jp-OrchestStep-state')).toHaveText(
    /^(COMPUTED|FAILURE|ABORTED)$/,
    { timeout: 60_000 }
  );
});
