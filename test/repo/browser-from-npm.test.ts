import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';
import { launchBrowser } from '../support/headless-browser.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

// `npm ci && npm test` is the whole set-up: the browser tests' Chromium comes from an npm package, not apt.
describe('the browser of the browser tests', () => {
  it('is the Chromium unpacked from @sparticuz/chromium, not a system one', async () => {
    const path = inject('chromiumPath');
    expect(path.startsWith('/usr/')).toBe(false);
    const browser = await launchBrowser();
    try {
      expect(browser.version()).toMatch(/^\d+\./);
      const page = await browser.newPage();
      await page.setContent('<p id="p">rendered</p>');
      expect(await page.textContent('#p')).toBe('rendered');
    } finally {
      await browser.close();
    }
  });

  it('.ci/run installs nothing with apt', () => {
    const ci = readFileSync(`${root}.ci/run`, 'utf8');
    expect(ci).not.toMatch(/apt-get|apt install|\/usr\/bin\/chromium/);
  });
});
