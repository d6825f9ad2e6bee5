// The system chromium (Debian package) driven by playwright-core: headless, no
// sandbox (containers), nothing that phones home, a fresh empty profile. Every
// request any page makes is recorded, so a test can prove a page stayed offline.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot, tempDir } from './env.js';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = join(repoRoot, 'build', 'test-artifacts');

export interface Browser {
  context: BrowserContext;
  /** Every URL requested by any page of the context, in order. */
  requests: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(viewport = { width: 1280, height: 900 }): Promise<Browser> {
  const context = await chromium.launchPersistentContext(tempDir('rk-chromium-profile-'), {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const requests: string[] = [];
  context.on('request', (request) => requests.push(request.url()));
  return { context, requests, newPage: () => context.newPage(), close: () => context.close() };
}

export function artifactPath(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/**
 * Whether a PNG is a real picture, measured in the browser itself (a canvas, fed a data: URL, which is
 * not a network request): its size, how many distinct colours, and the share of non-white pixels.
 */
export async function pictureStats(page: Page, png: Buffer): Promise<{ width: number; height: number; colours: number; inked: number }> {
  await page.setContent('<canvas id="c"></canvas>');
  // Browser-side code as text: the project compiles without the DOM library.
  const script = `(async () => {
    const image = new Image();
    image.src = 'data:image/png;base64,${png.toString('base64')}';
    await image.decode();
    const canvas = document.getElementById('c');
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const data = context.getImageData(0, 0, image.width, image.height).data;
    const colours = new Set();
    let inked = 0;
    for (let index = 0; index < data.length; index += 4) {
      const r = data[index], g = data[index + 1], b = data[index + 2];
      colours.add((r << 16) | (g << 8) | b);
      if (r < 240 || g < 240 || b < 240) inked++;
    }
    return { width: image.width, height: image.height, colours: colours.size, inked: inked / (data.length / 4) };
  })()`;
  return page.evaluate(script) as Promise<{ width: number; height: number; colours: number; inked: number }>;
}
