import { expect, galata, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator, TestInfo } from '@playwright/test';
import * as net from 'net';
import { notebookOf } from './notebooks';

/** A notebook that prints a line. */
const NOTEBOOK = notebookOf('print("hello")');

/** A pipeline of one notebook step, with a web server as its service when `port` is given. */
function pipeline(uuid: string, port?: number): string {
  const services: Record<string, unknown> = {};
  if (port !== undefined) {
    services.web = {
      name: 'web',
      image: 'python:3.11-slim',
      command: `python3 -m http.server ${port} --bind 127.0.0.1`,
      ports: [port],
      scope: ['interactive']
    };
  }
  return JSON.stringify({
    name: 'Sessions',
    uuid,
    version: '1.0.0',
    settings: {},
    parameters: {},
    services,
    steps: {
      hello: {
        uuid: 'hello',
        title: 'hello',
        file_path: 'hello.ipynb',
        incoming_connections: [],
        environment: '',
        kernel: { name: 'python', display_name: 'Python 3' },
        parameters: {},
        meta_data: { hidden: false, position: [40, 80] }
      }
    }
  });
}

/** A port nothing listens on now, for the test's service. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The session switch in the toolbar of the pipeline editor on screen. */
function sessionSwitch(page: IJupyterLabPageFixture): Locator {
  return page
    .locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestSessionControl')
    .getByRole('switch', { name: 'Session' });
}

/** Wait until the switch shows the session running (on, green, its tooltip saying so). */
async function expectRunning(control: Locator) {
  await expect(control).toHaveClass(/jp-mod-running/, { timeout: 30_000 });
  await expect(control).toHaveAttribute('aria-checked', 'true');
  await expect(control).toHaveAttribute('title', /Session running/);
}

/** Wait until the switch shows no session. */
async function expectOff(control: Locator) {
  await expect(control).toHaveClass(/jp-mod-none/, { timeout: 30_000 });
  await expect(control).toHaveAttribute('aria-checked', 'false');
}

/** The sidebar's entry for the session of `path`. */
async function sessionEntry(page: IJupyterLabPageFixture, path: string): Promise<Locator> {
  await page.sidebar.openTab('jp-orchest-sidebar');
  return page
    .locator('#jp-orchest-sidebar section[aria-label="Sessions"]')
    .locator(`li[data-pipeline="${path}"]`);
}

/** The server's sessions of the test's pipelines. */
async function serverSessions(page: IJupyterLabPageFixture, tmpPath: string): Promise<any[]> {
  const reply = await page.request.get('/orchest/api/pipeline-sessions');
  expect(reply.ok()).toBe(true);
  const { sessions } = await reply.json();
  return sessions.filter((session: any) => session.pipeline_path.startsWith(`${tmpPath}/`));
}

// A test that fails half-way must not leave its session (and service) to the next ones.
test.afterEach(async ({ page, tmpPath }) => {
  for (const session of await serverSessions(page, tmpPath)) {
    await page.request.delete(`/orchest/api/pipeline-sessions/${session.pipeline_path}`);
  }
});

/** Whether something answers HTTP at `url` (the service's address). */
async function answers(page: IJupyterLabPageFixture, url: string): Promise<boolean> {
  try {
    return (await page.request.get(url, { timeout: 5000 })).ok();
  } catch {
    return false;
  }
}

/** Keep a screenshot of the page as an artifact of the test. */
async function keepScreenshot(page: IJupyterLabPageFixture, testInfo: TestInfo, name: string) {
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

test.describe('sessions started when a pipeline opens (the default)', () => {
  test('the toolbar and the sidebar show the session, its service, and stop and start it', async ({
    page,
    tmpPath
  }, testInfo) => {
    const port = await freePort();
    const path = `${tmpPath}/served.orchest`;
    await page.contents.uploadContent(NOTEBOOK, 'text', `${tmpPath}/hello.ipynb`);
    await page.contents.uploadContent(
      pipeline('7d1e2f30-0a4b-4c5d-8e9f-a0b1c2d3e4f5', port),
      'text',
      path
    );
    await page.filebrowser.open(path);

    const control = sessionSwitch(page);
    await expectRunning(control);

    const entry = await sessionEntry(page, path);
    await expect(entry.locator('.jp-OrchestSidebar-badge').first()).toHaveText('RUNNING');
    const web = entry.locator('li', { hasText: 'web' });
    await expect(web).toContainText('RUNNING', { timeout: 30_000 });
    const url = `http://localhost:${port}/`;
    await expect(web.getByRole('link', { name: url })).toBeVisible();
    // The link leads to the service itself, serving the project folder.
    expect(await answers(page, url)).toBe(true);
    await keepScreenshot(page, testInfo, 'session-running');

    // Stop from the toolbar: the session, its service and its entry are gone.
    await control.click();
    await expectOff(control);
    await expect(entry).toHaveCount(0);
    expect(await serverSessions(page, tmpPath)).toEqual([]);
    expect(await answers(page, url)).toBe(false);

    // And start it again from the toolbar.
    await control.click();
    await expectRunning(control);
    await expect(entry.locator('li', { hasText: 'web' })).toContainText('RUNNING', {
      timeout: 30_000
    });

    // Stop from the sidebar.
    await entry.getByRole('button', { name: 'Stop', exact: true }).click();
    await expect(entry).toHaveCount(0, { timeout: 30_000 });
    await expectOff(control);
    expect(await serverSessions(page, tmpPath)).toEqual([]);
  });

  test('a pipeline whose session cannot start says why in the toolbar', async ({
    page,
    tmpPath
  }) => {
    const path = `${tmpPath}/broken.orchest`;
    // Valid JSON, but a step without a file: the server refuses to start its session.
    const definition = JSON.parse(pipeline('8e2f3a41-1b5c-4d6e-9fa0-b1c2d3e4f5a6'));
    delete definition.steps.hello.file_path;
    await page.contents.uploadContent(JSON.stringify(definition), 'text', path);
    await page.filebrowser.open(path);

    const control = sessionSwitch(page);
    await expect(control).toContainText('not started', { timeout: 30_000 });
    await expect(control).toHaveAttribute('aria-checked', 'false');
    await expect(control).toHaveAttribute('title', /file_path/);
    expect(await serverSessions(page, tmpPath)).toEqual([]);
  });
});

test.describe('with "start a session when a pipeline opens" off', () => {
  test.use({
    mockSettings: {
      ...galata.DEFAULT_SETTINGS,
      'jupyter-orchest:plugin': { startSessionOnOpen: false }
    }
  });

  test('opening a pipeline starts no session; the sidebar and the commands do', async ({
    page,
    tmpPath
  }) => {
    const path = `${tmpPath}/quiet.orchest`;
    await page.contents.uploadContent(NOTEBOOK, 'text', `${tmpPath}/hello.ipynb`);
    await page.contents.uploadContent(
      pipeline('9f3a4b52-2c6d-4e7f-a0b1-c2d3e4f5a6b7'),
      'text',
      path
    );
    await page.filebrowser.open(path);
    await expect(
      page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .react-flow__node')
    ).toHaveCount(1);

    const control = sessionSwitch(page);
    await expectOff(control);
    // Give a start that should not happen the time to show up.
    await page.waitForTimeout(1000);
    expect(await serverSessions(page, tmpPath)).toEqual([]);

    // Start from the sidebar: the session holds a warm kernel for the notebook step.
    await page.sidebar.openTab('jp-orchest-sidebar');
    const sessions = page.locator('#jp-orchest-sidebar section[aria-label="Sessions"]');
    await sessions.getByRole('button', { name: `Start session of ${path}` }).click();
    await expectRunning(control);
    const entry = sessions.locator(`li[data-pipeline="${path}"]`);
    await expect(entry).toContainText('1 warm kernel', { timeout: 30_000 });
    const [session] = await serverSessions(page, tmpPath);
    expect(session.pipeline_path).toBe(path);
    expect(session.state).toBe('RUNNING');

    // Stop with the command (as from the palette): the editor is the current widget.
    await page.evaluate(() =>
      window.jupyterapp.commands.execute('orchest:stop-session')
    );
    await expectOff(control);
    await expect(entry).toHaveCount(0);
    expect(await serverSessions(page, tmpPath)).toEqual([]);
  });
});
