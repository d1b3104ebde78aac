import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';

const PLUGIN_ID = 'jupyter-orchest:plugin';

/** The editor of the pipeline file open in the main area. */
function pipelineView(page: IJupyterLabPageFixture) {
  return page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestEditor');
}

test.describe('without the page loaded first', () => {
  // Load JupyterLab inside the test, so that no console message escapes it.
  test.use({ autoGoto: false });

  test('JupyterLab loads the extension without console errors', async ({ page }) => {
    const errors: string[] = [];
    page.on('console', message => {
      if (message.type() === 'error') {
        errors.push(message.text());
      }
    });
    page.on('pageerror', error => errors.push(error.message));

    await page.goto();

    expect(
      await page.evaluate(id => window.jupyterapp.isPluginActivated(id), PLUGIN_ID)
    ).toBe(true);
    expect(errors).toEqual([]);
  });
});

test('New Pipeline from the command palette creates and opens untitled.orchest', async ({
  page
}) => {
  await page.keyboard.press('Control+Shift+C');
  await page.locator('#modal-command-palette input').fill('New Pipeline');
  await page
    .locator('#modal-command-palette .lm-CommandPalette-item', { hasText: 'New Pipeline' })
    .click();

  await expect(page.activity.getTabLocator('untitled.orchest')).toBeVisible();
  expect(await page.filebrowser.isFileListedInBrowser('untitled.orchest')).toBe(true);
  const view = pipelineView(page);
  await expect(view.getByLabel('Name')).toHaveValue('Untitled');
  await expect(view.locator('.jp-OrchestEditor-empty')).toContainText('Drag notebooks');
  // The server's validation found nothing to report.
  await expect(view.locator('.jp-OrchestEditor-issues')).toHaveCount(0);
});

test('the file browser context menu offers New Pipeline after New Folder', async ({
  page
}) => {
  const menu = await page.menu.openContextMenuLocator('.jp-DirListing-content');
  const labels = await menu.locator('.lm-Menu-itemLabel').allTextContents();
  expect(labels).toContain('New Pipeline');
  expect(labels.indexOf('New Pipeline')).toBe(labels.indexOf('New Folder') + 1);

  await menu.getByText('New Pipeline', { exact: true }).click();

  await expect(page.activity.getTabLocator('untitled.orchest')).toBeVisible();
  expect(await page.filebrowser.isFileListedInBrowser('untitled.orchest')).toBe(true);
});

test('File > New and the launcher offer a Pipeline', async ({ page }) => {
  await page.menu.openLocator('File>New');
  await expect(
    page.locator('.lm-Menu').last().locator('.lm-Menu-itemLabel', { hasText: /^Pipeline$/ })
  ).toBeVisible();
  await page.menu.closeAll();

  // JupyterLab opens a launcher when the main area is empty, as it is here.
  const otherSection = page.locator('.jp-Launcher-section', { hasText: 'Other' });
  await expect(otherSection.getByRole('button', { name: 'Pipeline', exact: true })).toBeVisible();
});

/** An Orchest step whose outputs go to the steps that list it among `parents`. */
function orchestStep(title: string, parents: string[]) {
  return {
    uuid: title,
    title,
    file_path: `${title}.ipynb`,
    incoming_connections: parents,
    environment: '',
    kernel: { name: 'python', display_name: 'Python 3' },
    parameters: {},
    meta_data: { hidden: false }
  };
}

function orchestFile(name: string, steps: ReturnType<typeof orchestStep>[]): string {
  const byUuid: Record<string, ReturnType<typeof orchestStep>> = {};
  for (const step of steps) {
    byUuid[step.uuid] = step;
  }
  return JSON.stringify({
    name,
    uuid: '8c5b4c34-9a3e-4bd6-9d6e-0b3f0e1f7b11',
    version: '1.0.0',
    settings: {},
    parameters: {},
    services: {},
    steps: byUuid
  });
}

test('a pipeline file opens in the editor with its steps and connections', async ({
  page,
  tmpPath
}) => {
  const diamond = orchestFile('Diamond', [
    orchestStep('report', ['clean', 'features']),
    orchestStep('clean', ['load']),
    orchestStep('features', ['load']),
    orchestStep('load', [])
  ]);
  await page.contents.uploadContent(diamond, 'text', `${tmpPath}/diamond.orchest`);

  await page.filebrowser.open(`${tmpPath}/diamond.orchest`);

  const view = pipelineView(page);
  await expect(view.locator('.jp-OrchestStep')).toHaveCount(4);
  await expect(view.locator('.react-flow__edge')).toHaveCount(4);
  await expect(view.getByLabel('Name')).toHaveValue('Diamond');
  // Steps without positions are laid out parents first, left to right.
  const x = async (title: string) =>
    (await view.locator(`[data-step-title="${title}"]`).boundingBox())?.x ?? NaN;
  expect(await x('load')).toBeLessThan(await x('clean'));
  expect(await x('clean')).toBeLessThan(await x('report'));
});

test('the server\'s issues with a file are listed over the canvas', async ({
  page,
  tmpPath
}) => {
  const loop = orchestFile('Loop', [orchestStep('ping', ['pong']), orchestStep('pong', ['ping'])]);
  await page.contents.uploadContent(loop, 'text', `${tmpPath}/loop.orchest`);

  await page.filebrowser.open(`${tmpPath}/loop.orchest`);

  await expect(pipelineView(page).locator('.jp-OrchestEditor-issues')).toContainText('cycle');
});

test('a malformed pipeline file shows what is wrong instead of breaking', async ({
  page,
  tmpPath
}) => {
  await page.contents.uploadContent('{"name": "broken", ', 'text', `${tmpPath}/broken.orchest`);

  await page.filebrowser.open(`${tmpPath}/broken.orchest`);

  await expect(pipelineView(page)).toContainText('This pipeline cannot be shown');
  await expect(pipelineView(page)).toContainText('The file is not valid JSON');
});

test('an error from the server is shown in a dialog', async ({ page }) => {
  void page.evaluate(() =>
    window.jupyterapp.commands.execute('orchest:new-pipeline', { cwd: 'no-such-folder' })
  );

  const dialog = page.locator('.jp-Dialog');
  await expect(dialog).toContainText('Cannot create a pipeline');
  await expect(dialog).toContainText("The folder 'no-such-folder' does not exist.");
  await dialog.getByRole('button', { name: 'Close' }).click();
  await expect(dialog).toHaveCount(0);
});
