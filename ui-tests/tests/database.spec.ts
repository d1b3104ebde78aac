import { expect, test } from '@jupyterlab/galata';
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/**
 * A JupyterLab whose database is damaged, started by this file on a port of its own (the
 * other tests' server keeps its healthy database).
 */
const port = Number(process.env.UI_TEST_PORT || '8888') + 1000;
const folder = mkdtempSync(join(tmpdir(), 'orchest-damaged-'));
const database = join(folder, 'orchest.db');
let server: ChildProcess;

test.use({ baseURL: `http://localhost:${port}` });

test.beforeAll(async () => {
  test.setTimeout(120_000);
  writeFileSync(database, 'this is no database'.repeat(100));
  server = spawn(
    'jupyter',
    [
      'lab',
      '--config',
      'jupyter_server_test_config.py',
      `--port=${port}`,
      '--ServerApp.port_retries=0',
      `--OrchestApp.database_url=sqlite:///${database}`
    ],
    { cwd: join(__dirname, '..'), stdio: 'ignore' }
  );
  const deadline = Date.now() + 100_000;
  for (;;) {
    try {
      if ((await fetch(`http://localhost:${port}/lab`)).ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || server.exitCode !== null) {
      throw new Error(`the server on port ${port} did not start`);
    }
    await new Promise(resolve => setTimeout(resolve, 250));
  }
});

test.afterAll(() => {
  server?.kill('SIGTERM');
  rmSync(folder, { recursive: true, force: true });
});

test('a damaged database: the sidebar names the file and says what to do', async ({
  page
}) => {
  await page.sidebar.openTab('jp-orchest-sidebar');
  const pipelines = page
    .locator('#jp-orchest-sidebar')
    .getByRole('region', { name: 'Pipelines' });
  await expect(pipelines.locator('.jp-OrchestSidebar-error')).toContainText(
    `The database ${database} is damaged`
  );
  await expect(pipelines).toContainText(`mv '${database}' '${database}.damaged'`);
});
