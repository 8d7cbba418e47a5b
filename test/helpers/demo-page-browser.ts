/**
 * Driving the demo phone page (web/demo-phone.ts) in headless Chromium with
 * playwright-core: the launch flags, the page's `#state`, and its audio
 * statistics (`heraldDemo.stats()`).
 */
import type { Page } from 'playwright-core';

export interface AudioStats {
  packetsReceived: number;
  packetsSent: number;
  /** The selected ICE pair's remote candidate: where the page's media goes. */
  remote: { address: string; port: number; protocol: string } | null;
  /** The codec of the audio received (`audio/opus`, `audio/PCMA`…). */
  codec: string;
}

/** What the page functions below use of the browser's globals (this project's TypeScript has no DOM lib). */
export interface PageGlobals {
  document: { querySelector(selector: string): { textContent: string | null } | null };
  heraldDemo: { stats(): Promise<AudioStats>; dtmf(tones: string): boolean };
}

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Herald's media address in tests is 127.0.0.1 (HERALD_PUBLIC_HOST): Chromium gathers no loopback candidate without this, so ICE could not reach it.
  '--allow-loopback-in-peer-connection',
];

export function stateBecomes(page: Page, state: string, timeout = 20_000): Promise<unknown> {
  return page.waitForFunction((s) => (globalThis as unknown as PageGlobals).document.querySelector('#state')?.textContent === s, state, { timeout });
}

/** Waits in the page until its call has received more than `above` audio packets; resolves with the count. */
export function packetsReceivedAbove(page: Page, above: number, timeout = 20_000): Promise<number> {
  return page.evaluate(
    async ({ above, timeout }) => {
      const demo = (globalThis as unknown as PageGlobals).heraldDemo;
      const deadline = Date.now() + timeout;
      for (;;) {
        const { packetsReceived } = await demo.stats();
        if (packetsReceived > above) return packetsReceived;
        if (Date.now() > deadline) throw new Error(`inbound audio packets stayed at ${packetsReceived}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    },
    { above, timeout },
  );
}

export function statsOf(page: Page): Promise<AudioStats> {
  return page.evaluate(() => (globalThis as unknown as PageGlobals).heraldDemo.stats());
}
