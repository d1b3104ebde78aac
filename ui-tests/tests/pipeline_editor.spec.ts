import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator, TestInfo } from '@playwright/test';
import { notebookOf as notebook } from './notebooks';

/** The pipeline editor on screen. */
function editor(page: IJupyterLabPageFixture): Locator {
  return page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestEditor');
}

function stepNode(page: IJupyterLabPageFixture, title: string): Locator {
  return editor(page).locator(`.react-flow__node:has([data-step-title="${title}"])`);
}

/** Keep a screenshot of the page as an artifact of the test. */
async function keepScreenshot(page: IJupyterLabPageFixture, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/** Drag a file from the file browser and drop it on the canvas, `y` pixels from its top. */
async function dragFileToCanvas(page: IJupyterLabPageFixture, name: string, y: number) {
  const item = page.locator('.jp-DirListing-item', { hasText: name });
  const from = await item.boundingBox();
  const canvas = await editor(page).locator('.jp-OrchestEditor-canvas').boundingBox();
  if (from === null || canvas === null) {
    throw new Error(`${name} or the canvas is not on screen`);
  }
  await page.mouse.move(from.x + from.width / 3, from.y + from.height / 2);
  await page.mouse.down();
  // Past the file browser's drag threshold, then over to the canvas.
  await page.mouse.move(from.x + from.width / 3 + 20, from.y + from.height / 2 + 10, {
    steps: 4
  });
  await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + y, { steps: 10 });
  await page.mouse.up();
}

/** Drag from one step's output handle to another step's input handle. */
async function connectSteps(page: IJupyterLabPageFixture, parent: string, child: string) {
  const source = await stepNode(page, parent).locator('.react-flow__handle.source').boundingBox();
  const target = await stepNode(page, child).locator('.react-flow__handle.target').boundingBox();
  if (source === null || target === null) {
    throw new Error('a handle is not on screen');
  }
  await page.mouse.move(source.x + source.width / 2, source.y + source.height / 2);
  await page.mouse.down();
  await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2, {
    steps: 10
  });
  await page.mouse.up();
}

test('build, run and edit a pipeline without touching JSON', async ({
  page,
  tmpPath
}, testInfo) => {
  test.setTimeout(180_000);
  await page.contents.uploadContent(
    notebook('print("hello from first")'),
    'text',
    `${tmpPath}/first.ipynb`
  );
  await page.contents.uploadContent(
    notebook('print("child output", 6 * 7)'),
    'text',
    `${tmpPath}/second.ipynb`
  );
  await page.filebrowser.refresh();

  // Create a pipeline: it opens in the editor.
  await page.evaluate(() => window.jupyterapp.commands.execute('orchest:new-pipeline'));
  await expect(page.activity.getTabLocator('untitled.orchest')).toBeVisible();
  await expect(editor(page).locator('.jp-OrchestEditor-empty')).toBeVisible();

  // Two notebook steps, dragged in from the file browser.
  await dragFileToCanvas(page, 'first.ipynb', 100);
  await expect(stepNode(page, 'first')).toBeVisible();
  await dragFileToCanvas(page, 'second.ipynb', 300);
  await expect(stepNode(page, 'second')).toBeVisible();

  // Connect them; the reverse connection would make a cycle and is refused.
  await connectSteps(page, 'first', 'second');
  await expect(editor(page).locator('.react-flow__edge')).toHaveCount(1);
  await connectSteps(page, 'second', 'first');
  await expect(editor(page).locator('.jp-OrchestEditor-notice')).toContainText(
    'would make a cycle'
  );
  await expect(editor(page).locator('.react-flow__edge')).toHaveCount(1);
  await keepScreenshot(page, testInfo, '1-cycle-refused');

  // Save: the file holds the two steps and their connection.
  await expect(page.activity.getTabLocator('untitled.orchest')).toHaveClass(/jp-mod-dirty/);
  await page.keyboard.press('Control+s');
  await expect(page.activity.getTabLocator('untitled.orchest')).not.toHaveClass(
    /jp-mod-dirty/
  );
  const saved = JSON.parse(
    await page.evaluate(
      path =>
        window.jupyterapp.serviceManager.contents
          .get(path, { content: true, format: 'text' })
          .then(model => model.content as string),
      `${tmpPath}/untitled.orchest`
    )
  );
  const steps = Object.values(saved.steps) as {
    uuid: string;
    title: string;
    file_path: string;
    incoming_connections: string[];
  }[];
  const first = steps.find(step => step.title === 'first');
  const second = steps.find(step => step.title === 'second');
  expect(first?.file_path).toBe('first.ipynb');
  expect(second?.incoming_connections).toEqual([first?.uuid]);

  // Open the child's notebook before the run, so it must show the outputs as they come.
  await stepNode(page, 'second').dblclick();
  await expect(page.activity.getTabLocator('second.ipynb')).toBeVisible();
  await page.activity.activateTab('untitled.orchest');

  // Run everything; both steps end COMPUTED.
  await page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) [data-command="orchest:run-all"]').click();
  for (const title of ['first', 'second']) {
    const state = stepNode(page, title).locator('.jp-OrchestStep-state');
    await expect(state).toHaveText(/^(COMPUTED|FAILURE|ABORTED)$/, { timeout: 120_000 });
    await expect(state, await stepNode(page, title).locator('.jp-OrchestStep').getAttribute('title') ?? '').toHaveText('COMPUTED');
  }
  await keepScreenshot(page, testInfo, '2-computed');

  // The child's output, in the log panel (from its context menu)...
  await stepNode(page, 'second').click({ button: 'right' });
  await page.locator('.lm-Menu-item', { hasText: 'Show Logs' }).click();
  await expect(editor(page).locator('.jp-OrchestLog-output')).toContainText(
    'child output 42'
  );
  await keepScreenshot(page, testInfo, '3-logs');

  // ... and in its notebook, which reloaded the outputs the run wrote into it.
  await page.activity.activateTab('second.ipynb');
  await expect(
    page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output')
  ).toContainText('child output 42');
  await keepScreenshot(page, testInfo, '4-notebook-outputs');
  await page.activity.activateTab('untitled.orchest');

  // Delete a step, then undo: the step and its connection come back.
  await stepNode(page, 'first').click();
  await page.keyboard.press('Delete');
  await expect(stepNode(page, 'first')).toHaveCount(0);
  await expect(editor(page).locator('.react-flow__edge')).toHaveCount(0);
  await page.keyboard.press('Control+z');
  await expect(stepNode(page, 'first')).toBeVisible();
  await expect(editor(page).locator('.react-flow__edge')).toHaveCount(1);
});
