import sparticuzChromium from '@sparticuz/chromium';
import { type Browser, chromium } from 'playwright-core';
import { inject } from 'vitest';

/**
 * Flags for the Chromium that @sparticuz/chromium ships inside its npm package (no apt, no system browser). Not the
 * package's own `args`: those turn off web security and site isolation, which would hide what the browser tests
 * check (a page that loads nothing but its own origin, under its Content-Security-Policy).
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--no-zygote',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Unpacks the packaged Chromium (brotli, ~190 MB, into the temp folder; a few seconds the first time, nothing after).
 * Called once per test run from the global setup, so test files running side by side never race on the unpacking.
 */
export function unpackChromium(): Promise<string> {
  return sparticuzChromium.executablePath();
}

/** A headless Chromium from the npm package, for the dashboard, /docs and packaged-client tests. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: inject('chromiumPath'), args: CHROMIUM_ARGS, headless: true });
}
