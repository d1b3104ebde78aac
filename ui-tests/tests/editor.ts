/** Where the UI tests find the pipeline editor on the page, and how they read files. */

import { IJupyterLabPageFixture } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

/** The pipeline editor in the main area. */
export function editor(page: IJupyterLabPageFixture): Locator {
  return page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestEditor');
}

/** A step on the editor's canvas, by title. */
export function stepNode(page: IJupyterLabPageFixture, title: string): Locator {
  return editor(page).locator(`.react-flow__node:has([data-step-title="${title}"])`);
}

/** A JSON file of the server, parsed. */
export async function readJsonFile(page: IJupyterLabPageFixture, path: string): Promise<any> {
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
