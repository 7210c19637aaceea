// Starts the system's Chromium (Debian's `chromium` package) headless through playwright-core, which never
// downloads a browser of its own. CHROMIUM_PATH overrides the executable.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** The executable to drive, or an Error that says how to get one. */
export function chromiumPath() {
  const path = process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM;
  if (!existsSync(path)) {
    throw new Error(
      `Chromium not found at ${path}: install it (Debian: apt-get install -y chromium; .ci/run does this in CI) or set CHROMIUM_PATH to a Chromium/Chrome executable`,
    );
  }
  return path;
}

/**
 * Launches headless Chromium. Flags: root cannot use Chromium's sandbox; the network is closed here, so
 * everything that phones home is switched off (otherwise it retries connections at every start).
 * @param {{ args?: string[] }} [options]
 */
export async function launchChromium(options = {}) {
  const args = [
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    ...(options.args ?? []),
  ];
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args });
}
