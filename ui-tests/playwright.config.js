/**
 * Playwright configuration: Galata's defaults for JupyterLab, run in Debian's Chromium.
 *
 * Playwright drives the system's Chromium (`apt-get install chromium`) instead of a
 * browser build of its own, so no browser download is ever needed.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

// The port of the JupyterLab server under test; another one lets two checkouts test at once.
const port = process.env.UI_TEST_PORT || '8888';

module.exports = {
  ...baseConfig,
  // Never open the HTML report in a browser: runs are headless and unattended.
  reporter: [['list'], ['html', { open: 'never' }]],
  use: {
    ...baseConfig.use,
    baseURL: `http://localhost:${port}`,
    // Recording video needs Playwright's own ffmpeg build, which cannot be downloaded;
    // traces (kept on retries) hold screenshots and DOM snapshots instead.
    video: 'off',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        // Without these, Chromium tries to reach Google's services and hangs offline.
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run'
      ]
    }
  },
  webServer: {
    command: `jlpm start --port ${port}`,
    url: `http://localhost:${port}/lab`,
    timeout: 120 * 1000,
    reuseExistingServer: !process.env.CI
  }
};
