import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';
import { notebookOf } from './notebooks';

/** A pipeline of one notebook step, `write.ipynb`. */
const PIPELINE = JSON.stringify({
  name: 'Files',
  uuid: '7d1c5e2a-4b3f-4a6e-9c8d-0f1e2d3c4b5a',
  version: '1.0.0',
  settings: {},
  parameters: {},
  services: {},
  steps: {
    write: {
      uuid: 'write',
      title: 'write',
      file_path: 'write.ipynb',
      incoming_connections: [],
      environment: '',
      kernel: { name: 'python', display_name: 'Python 3' },
      parameters: {},
      meta_data: { hidden: false, position: [40, 80] }
    }
  }
});

const WRITE = notebookOf(
  "open('result.json', 'w').write('{\"rows\": 7}')\nprint('wrote the result')"
);

function visible(page: IJupyterLabPageFixture, selector: string): Locator {
  return page.locator(`.jp-MainAreaWidget:not(.lm-mod-hidden) ${selector}`);
}

test('the files a step wrote are listed under its output, in the editor and the run view', async ({
  page,
  tmpPath
}) => {
  test.setTimeout(120_000);
  await page.contents.uploadContent(WRITE, 'text', `${tmpPath}/write.ipynb`);
  await page.contents.uploadContent(PIPELINE, 'text', `${tmpPath}/files.orchest`);
  await page.filebrowser.open(`${tmpPath}/files.orchest`);

  await visible(page, '[data-command="orchest:run-all"]').click();
  const step = visible(page, '.jp-OrchestEditor .react-flow__node');
  await expect(step.locator('.jp-OrchestStep-state')).toHaveText('COMPUTED', {
    timeout: 60_000
  });

  // In the editor's log panel: one line saying what it wrote, the list on a click.
  await step.click({ button: 'right' });
  await page.locator('.lm-Menu-item', { hasText: 'Show Logs' }).click();
  const files = visible(page, '.jp-OrchestEditor .jp-OrchestStepFiles');
  await expect(files.locator('summary')).toHaveText('Wrote 1 file (11 B)');
  await expect(files.locator('li')).toBeHidden();
  await files.locator('summary').click();
  await expect(files.locator('li')).toHaveText('result.json 11 B');

  // In the read-only view of the run, from the sidebar.
  await page.sidebar.openTab('jp-orchest-sidebar');
  await page.locator('#jp-orchest-sidebar .jp-OrchestSidebar-runs li .jp-OrchestSidebar-item').first().click();
  const runView = visible(page, '.jp-OrchestRunView');
  await runView.locator('.react-flow__node').click();
  await runView.locator('.jp-OrchestStepFiles summary').click();
  await expect(runView.locator('.jp-OrchestStepFiles li')).toHaveText('result.json 11 B');
});
