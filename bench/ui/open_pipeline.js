#!/usr/bin/env node
/*
 * How long a large pipeline takes to open in the editor and answer a click, in headless
 * Chromium: a benchmark, not a test (see README.md beside this file).
 *
 *   node bench/ui/open_pipeline.js [--steps 500] [--repeat 5] [--port 8897] [--unplaced]
 *
 * It starts its own JupyterLab on a temporary folder holding a generated pipeline, loads
 * the lab once, then for each repetition double-clicks the pipeline in the file browser
 * and stops the clock when a click on a step has selected it (the properties panel shows
 * the step): the editor has drawn the DAG and answers input. Prints every time, the
 * median and the budget verdict (under 2 s); exits 1 when the median is over budget.
 */

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const REPO = path.resolve(__dirname, '..', '..');
// Playwright comes with the browser tests' packages (`cd ui-tests && jlpm install`).
const { chromium } = require(require.resolve('@playwright/test', {
  paths: [path.join(REPO, 'ui-tests')]
}));

const BUDGET_MS = 2000;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? fallback : Number(process.argv[index + 1]);
}

const STEPS = option('steps', 500);
const REPEAT = option('repeat', 5);
const PORT = option('port', 8897);
const UNPLACED = process.argv.includes('--unplaced');

/**
 * A layered DAG like a large real pipeline: rows of 20 steps, each step fed by one or two
 * steps of the row before. Positions are where the editor's layout would put them, unless
 * --unplaced, which makes the editor lay all the steps out as it opens the file.
 */
function pipeline(count) {
  const perRow = 20;
  const steps = {};
  for (let index = 0; index < count; index++) {
    const row = Math.floor(index / perRow);
    const column = index % perRow;
    const uuid = `step-${String(index).padStart(4, '0')}`;
    const parents = [];
    if (row > 0) {
      parents.push(`step-${String((row - 1) * perRow + column).padStart(4, '0')}`);
      if (column > 0) {
        parents.push(`step-${String((row - 1) * perRow + column - 1).padStart(4, '0')}`);
      }
    }
    steps[uuid] = {
      uuid,
      title: `Step ${index}`,
      file_path: `step_${index}.py`,
      incoming_connections: parents,
      environment: '',
      kernel: { name: 'python', display_name: 'Python 3' },
      parameters: {},
      meta_data: UNPLACED
        ? { hidden: false }
        : { hidden: false, position: [40 + row * 280, 40 + column * 112] }
    };
  }
  return {
    name: `${count} steps`,
    uuid: 'bench-pipeline',
    version: '1.0.0',
    settings: {},
    parameters: {},
    services: {},
    steps
  };
}

async function waitForServer(url, deadline) {
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url);
      if (response.ok) {
        return;
      }
    } catch {
      // not listening yet
    }
    await new Promise(resolve => setTimeout(resolve, 250));
  }
  throw new Error(`JupyterLab did not answer at ${url}`);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

async function main() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'orchest-ui-bench-'));
  fs.writeFileSync(path.join(root, 'big.orchest'), JSON.stringify(pipeline(STEPS), null, 4));
  const jupyter = path.join(REPO, '.venv', 'bin', 'jupyter');
  const server = spawn(
    fs.existsSync(jupyter) ? jupyter : 'jupyter',
    [
      'lab',
      '--no-browser',
      `--port=${PORT}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.token=',
      '--ServerApp.password=',
      '--ServerApp.disable_check_xsrf=True',
      `--ServerApp.root_dir=${root}`,
      '--LabApp.workspaces_dir=' + path.join(root, '.workspaces'),
      '--OrchestApp.environment_backend=none',
      ...(process.getuid && process.getuid() === 0 ? ['--allow-root'] : [])
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], detached: true }
  );
  let serverLog = '';
  server.stderr.on('data', chunk => (serverLog += chunk));
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update'
    ]
  });
  try {
    await waitForServer(`http://localhost:${PORT}/lab`, Date.now() + 60_000);
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://localhost:${PORT}/lab`);
    const item = page.locator('.jp-DirListing-item', { hasText: 'big.orchest' });
    await item.waitFor({ timeout: 60_000 });

    const times = [];
    // One warm-up opening loads the editor's code, as a person's first opening would.
    for (let run = 0; run <= REPEAT; run++) {
      const started = await page.evaluate(() => performance.now());
      await item.dblclick();
      const editor = page.locator('.jp-MainAreaWidget:not(.lm-mod-hidden) .jp-OrchestEditor');
      const step = editor.locator('.react-flow__node').first();
      await step.click();
      await editor.locator('[aria-label="Step properties"]').waitFor();
      const ended = await page.evaluate(() => performance.now());
      const nodes = await editor.locator('.react-flow__node').count();
      if (run > 0) {
        times.push(ended - started);
        console.log(`open ${run}: ${Math.round(ended - started)} ms (${nodes} steps drawn)`);
      }
      await page
        .locator('.lm-DockPanel-tabBar .lm-TabBar-tab', { hasText: 'big.orchest' })
        .locator('.lm-TabBar-tabCloseIcon')
        .click();
      // A click on a step changes nothing, but leave no dialog behind if it ever does.
      const discard = page.locator('.jp-Dialog button', { hasText: /Discard/ });
      if (await discard.isVisible()) {
        await discard.click();
      }
      await editor.waitFor({ state: 'detached' });
    }
    const typical = median(times);
    const verdict = typical < BUDGET_MS ? 'within' : 'OVER';
    console.log(
      `${STEPS} steps${UNPLACED ? ' without positions' : ''}: median ${Math.round(typical)} ms ` +
        `over ${times.length} openings (${verdict} the ${BUDGET_MS} ms budget)`
    );
    process.exitCode = typical < BUDGET_MS ? 0 : 1;
  } catch (error) {
    console.error(error);
    console.error(serverLog.slice(-3000));
    process.exitCode = 2;
  } finally {
    await browser.close();
    process.kill(-server.pid, 'SIGTERM');
    fs.rmSync(root, { recursive: true, force: true });
  }
}

void main();
