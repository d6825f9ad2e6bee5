// `report --html` in a real browser (Debian chromium, headless, driven by
// playwright-core): the real expired 1.14 and 1.25 trees and a 200-node fleet.
// DOM: one bar per certificate, the today line where today is, the problems, the
// audit rows; a screenshot that is a real picture (kept in build/test-artifacts);
// and not one network request — only the file:// page itself.
import { expect } from 'chai';
import { execa } from 'execa';
import { copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createHost } from '../lib/host/host.js';
import { CheckReport, checkInventory, SEVERITY } from '../lib/ops/inventory/check.js';
import { discover } from '../lib/ops/inventory/discover.js';
import { auditHistoryRow, readAuditHistory } from '../lib/ops/report/audit-history.js';
import { artifactPath, Browser, launchBrowser, pictureStats } from './helpers/browser.js';
import { fixtureRoot, runCli, tempDir } from './helpers/env.js';

const DAY = 86_400_000;
const entriesOf = (report: CheckReport) => [...report.authorities, ...report.certificates];

/** A web server that counts every hit: a page that leaks a request is caught even past the browser. */
async function trap(): Promise<{ server: Server; url: string; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    hits.push(request.url ?? '');
    response.end('');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

/** An extra CA-signed-looking PEM in pki/ whose subject is markup that would call the trap if it were not escaped. */
async function plantHostileCertificate(root: string, trapUrl: string): Promise<string> {
  const escaped = trapUrl.replace(/\//g, '\\/');
  // (openssl caps each attribute at 64 characters.)
  const subject = `/O=<script>fetch('${escaped}\\/s')<\\/script>/CN=<img src='${escaped}\\/i'>`;
  const dir = tempDir();
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', subject, '-days', '30', '-keyout', join(dir, 'k.pem'), '-out', join(root, 'etc/kubernetes/pki/hostile.crt')]);
  return subject;
}

function writeAuditLog(root: string): void {
  mkdirSync(join(root, 'var/lib/rescue-kit'), { recursive: true });
  const lines = [
    JSON.stringify({ time: '2026-11-20T10:00:00.000Z', runId: 'run-1', command: 'renew --all', operator: 'alice (as root)', host: 'cp-1', result: 'ok', certificates: [{ name: 'apiserver', action: 'renew' }, { name: 'admin.conf', action: 'renew' }], somethingNew: { nested: true } }),
    '{"time": "2026-11-21T10:00:00Z", "command": "rollback", "operator": "bob", "result": "rolled-back", "runId": "run-1", "certificates": [], "prevHash": "ab12"}',
    'this line was edited by hand <b>not json</b>',
  ];
  writeFileSync(join(root, 'var/lib/rescue-kit/audit.log'), `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** A check report with every date (and its `now`) moved by `shiftMs`. */
function translateInTime(report: CheckReport, shiftMs: number): CheckReport {
  const move = (iso: string | null) => (iso ? new Date(Date.parse(iso) + shiftMs).toISOString() : iso);
  for (const entry of entriesOf(report)) Object.assign(entry, { notBefore: move(entry.notBefore), notAfter: move(entry.notAfter) });
  return { ...report, now: move(report.now)! };
}

async function openReport(browser: Browser, file: string) {
  const page = await browser.newPage();
  const started = Date.now();
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, loadMs: Date.now() - started };
}

function assertOffline(browser: Browser, file: string): void {
  const page = pathToFileURL(file).href;
  expect(browser.requests.length, 'the page itself was loaded').to.be.greaterThan(0);
  expect(browser.requests.filter((url) => url !== page), 'requests other than the page').to.deep.equal([]);
}

async function screenshot(browser: Browser, page: Awaited<ReturnType<Browser['newPage']>>, name: string, fullPage = true) {
  const path = artifactPath(name);
  const png = await page.screenshot({ path, fullPage });
  const checker = await browser.newPage();
  const stats = await pictureStats(checker, png);
  await checker.close();
  return { path, bytes: statSync(path).size, ...stats };
}

describe('the audit history as the report reads it', () => {
  it('keeps the known fields, ignores unknown ones, keeps an unparsable line as such (by number), says why an unreadable log cannot be read', () => {
    const root = tempDir();
    writeAuditLog(root);
    const rows = readAuditHistory(createHost({ root }));
    expect(rows.map((row) => row.line)).to.deep.equal([1, 2, 3]);
    expect(rows[0]).to.deep.equal({ line: 1, parsed: true, time: '2026-11-20T10:00:00.000Z', command: 'renew --all', operator: 'alice (as root)', result: 'ok', runId: 'run-1', certificates: ['apiserver', 'admin.conf'] });
    expect(rows[2]).to.include({ line: 3, parsed: false, raw: 'this line was edited by hand <b>not json</b>' });
    expect(auditHistoryRow('[1,2]', 7)).to.deep.equal({ line: 7, parsed: false, raw: '[1,2]', reason: 'not a JSON object' });
    expect(auditHistoryRow('{"command": 5, "certificates": "x"}', 1)).to.include({ parsed: true, command: '5', runId: null }).and.to.have.deep.property('certificates', []);
    expect(readAuditHistory(createHost({ root: tempDir() }))).to.deep.equal([]);
    const dirLog = tempDir();
    mkdirSync(join(dirLog, 'var/lib/rescue-kit/audit.log'), { recursive: true });
    const unreadable = readAuditHistory(createHost({ root: dirLog }));
    expect(unreadable).to.have.length(1);
    expect(unreadable[0]).to.include({ parsed: false });
    expect((unreadable[0] as { reason: string }).reason).to.match(/audit\.log: is a directory/);
  });

  it('--from takes no --root: a usage error that says how to make the files', async () => {
    const result = await runCli(['report', '--html', join(tempDir(), 'x.html'), '--from', 'a.json', '--root', '/tmp']);
    expect(result.exitCode).to.equal(2);
    expect(result.stderr).to.include('check --json > NODE.json');
  });
});

describe('report --html in headless chromium', function () {
  this.timeout(180_000);
  let browser: Browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => browser?.close());
  beforeEach(() => {
    browser.requests.length = 0;
  });

  for (const fixture of ['kubeadm-1.14-expired', 'kubeadm-1.25-expired'] as const) {
    describe(`one host: the real ${fixture} tree`, () => {
      let root: string;
      let out: string;
      let check: CheckReport;
      let hostile: Awaited<ReturnType<typeof trap>>;
      let subject: string;

      before(async () => {
        hostile = await trap();
        root = fixtureRoot(fixture);
        subject = await plantHostileCertificate(root, hostile.url);
        writeAuditLog(root);
        out = join(tempDir(), 'report', 'report.html');
        const result = await runCli(['report', '--html', out, '--root', root]);
        expect(result.exitCode, result.stderr).to.equal(0);
        expect(result.stdout.trim()).to.equal(out);
        check = JSON.parse((await runCli(['check', '--root', root, '--json'])).stdout) as CheckReport;
      });
      after(() => hostile.server.close());

      it('is one self-contained file: no URL, no external stylesheet, font, image or script', () => {
        const html = readFileSync(out, 'utf8');
        expect(html).to.not.match(/\b(src|href)\s*=\s*["']?(https?:|\/\/|file:)/i);
        expect(html).to.not.match(/@import|url\(|<link\b|<script\b|<img\b|<iframe\b|<object\b/i);
        expect(html).to.include("default-src 'none'");
      });

      it('DOM: one bar per certificate (CAs heading their leaves), one today line, the problems, the audit rows', async () => {
        const { page } = await openReport(browser, out);
        const entries = entriesOf(check);
        expect(entries.length).to.be.greaterThan(10);
        expect(await page.locator('.bar').count()).to.equal(entries.length);
        for (const entry of entries) expect(await page.locator(`.bar[data-name="${entry.name}"]`).count(), entry.name).to.equal(1);
        expect(await page.locator('.row.ca').count()).to.equal(check.authorities.length + (check.certificates.some((entry) => !entry.certificateAuthority) ? 1 : 0));
        // Each CA's group lists exactly its own leaves, right under it.
        for (const ca of check.authorities) {
          const group = page.locator('.group', { has: page.locator(`.row.ca .bar[data-name="${ca.name}"]`) });
          const names = await group.locator('.row:not(.ca) .bar').evaluateAll((bars) => bars.map((bar) => bar.getAttribute('data-name')));
          expect(names, ca.name).to.deep.equal(check.certificates.filter((entry) => entry.certificateAuthority === ca.name).map((entry) => entry.name));
        }
        expect(await page.locator('.today').count()).to.equal(1);
        // Colour by status: every EXPIRED leaf is red and ends left of today; the CAs are OK and cross it.
        const today = (await page.locator('.today').boundingBox())!;
        for (const entry of entries.filter((candidate) => candidate.status === 'EXPIRED')) {
          const bar = page.locator(`.bar[data-name="${entry.name}"]`);
          expect(await bar.getAttribute('class')).to.include('s-expired');
          expect(await bar.evaluate((element) => getComputedStyle(element).backgroundColor)).to.equal('rgb(208, 49, 45)');
          const box = (await bar.boundingBox())!;
          expect(box.x + box.width, entry.name).to.be.lessThan(today.x);
          expect(box.width).to.be.greaterThan(5);
        }
        // (The planted hostile certificate is self-signed, so a CA, and starts today: not this case.)
        for (const ca of check.authorities.filter((entry) => !entry.subject?.includes('<img'))) {
          const box = (await page.locator(`.bar[data-name="${ca.name}"]`).boundingBox())!;
          expect(box.x).to.be.lessThan(today.x);
          expect(box.x + box.width).to.be.greaterThan(today.x);
        }
        const withProblems = entries.filter((entry) => entry.problems.length).sort((a, b) => SEVERITY.indexOf(a.status) - SEVERITY.indexOf(b.status));
        expect(await page.locator('li.problem').count()).to.equal(withProblems.length);
        expect(await page.locator('li.problem').first().textContent()).to.include(withProblems[0]!.problems[0]!);
        expect(await page.locator('tr.audit-row').count()).to.equal(3);
        expect(await page.locator('tr.audit-row.unparsable').count()).to.equal(1);
        expect(await page.locator('tr.audit-row').nth(0).textContent()).to.include('alice (as root)');
        expect(await page.locator('tr.audit-row').nth(0).textContent()).to.include('apiserver, admin.conf');
        expect(await page.locator('tr.audit-row').nth(1).textContent()).to.include('rolled-back');
        expect(await page.locator('tr.audit-row.unparsable').textContent()).to.include('this line was edited by hand <b>not json</b>');
        assertOffline(browser, out);
        await page.close();
      });

      it('escapes certificate subjects: the hostile subject is shown as text, runs nothing and fetches nothing', async () => {
        const { page } = await openReport(browser, out);
        expect(await page.locator('img, script, iframe').count()).to.equal(0);
        const planted = entriesOf(check).find((entry) => entry.subject?.includes('<img'))!;
        expect(planted, 'check found the planted certificate').to.not.equal(undefined);
        const titles = await page.locator('.bar').evaluateAll((elements) => elements.map((element) => element.getAttribute('title') ?? ''));
        const title = titles.find((text) => text.includes(planted.name) && text.includes('<img'));
        expect(title).to.include(planted.subject!); // the subject exactly as check reads it, markup and all
        expect(title).to.match(/<img src\\?='http:\/\/127\.0\.0\.1:/);
        expect(title).to.include('<script>fetch(');
        await page.waitForTimeout(300);
        expect(hostile.hits).to.deep.equal([]);
        assertOffline(browser, out);
        await page.close();
        expect(subject).to.include('<script>');
      });

      it('a screenshot that is a real picture of sensible size (kept as a test artefact)', async () => {
        const { page } = await openReport(browser, out);
        const shot = await screenshot(browser, page, `report-${fixture}.png`);
        expect(shot.width).to.equal(1280);
        expect(shot.height).to.be.within(700, 6000);
        expect(shot.bytes).to.be.greaterThan(30_000);
        expect(shot.colours, 'distinct colours').to.be.greaterThan(50);
        expect(shot.inked, 'share of non-white pixels').to.be.within(0.05, 0.9);
        await page.close();
      });
    });
  }

  it('the offline check can fail: an unescaped page that loads an image is caught by the recorder and the trap', async () => {
    const hostile = await trap();
    try {
      const file = join(tempDir(), 'leaky.html');
      writeFileSync(file, `<!DOCTYPE html><p>leak</p><img src="${hostile.url}/leak.png">`);
      const { page } = await openReport(browser, file);
      await page.waitForTimeout(200);
      expect(browser.requests).to.include(`${hostile.url}/leak.png`);
      expect(hostile.hits).to.include('/leak.png');
      expect(() => assertOffline(browser, file)).to.throw();
      await page.close();
    } finally {
      hostile.server.close();
    }
  });

  describe('a fleet of 200 nodes from check --json files', () => {
    let out: string;
    let files: string[];
    let reports: Map<string, CheckReport>;

    before(async () => {
      // 200 real check reports: the three real kubeadm trees (one with scheduler.conf gone, one with a
      // foreign front-proxy-client) checked at different dates — expired, warning and healthy nodes.
      const trees = ['kubeadm-1.11-expired', 'kubeadm-1.14-expired', 'kubeadm-1.25-expired'] as const;
      const roots = trees.map((tree) => fixtureRoot(tree));
      const broken = fixtureRoot('kubeadm-1.14-expired');
      rmSync(join(broken, 'etc/kubernetes/scheduler.conf'));
      copyFileSync(join(broken, 'etc/kubernetes/pki/apiserver-kubelet-client.crt'), join(broken, 'etc/kubernetes/pki/front-proxy-client.crt'));
      copyFileSync(join(broken, 'etc/kubernetes/pki/apiserver-kubelet-client.key'), join(broken, 'etc/kubernetes/pki/front-proxy-client.key'));
      const inventories = [...roots, broken].map((root) => discover(createHost({ root })));
      const dir = tempDir('rk-fleet-');
      files = [];
      reports = new Map();
      const checkedAt = new Date();
      for (let index = 0; index < 200; index++) {
        const inventory = inventories[index % inventories.length]!;
        const leafExpiry = Math.min(...inventory.items.map((item) => item.certificate?.value?.notAfter.getTime() ?? Infinity));
        // Checked from 300 days before the leaves expire to well after: OK, WARN and EXPIRED nodes.
        const now = new Date(leafExpiry + ((index * 37) % 400 - 300) * DAY);
        // Then moved in time as a whole (every date and `now` by the same amount), so each node reads as
        // checked today: statuses, days left and problems stay exactly what check said.
        const report = translateInTime(checkInventory(inventory, { now, warnMs: 30 * DAY }), checkedAt.getTime() - now.getTime());
        const name = `cp-${String(index + 1).padStart(3, '0')}`;
        const file = join(dir, `${name}.json`);
        writeFileSync(file, JSON.stringify(report));
        files.push(file);
        reports.set(name, report);
      }
      out = join(tempDir(), 'fleet.html');
      const started = Date.now();
      const result = await runCli(['report', '--html', out, '--from', ...files]);
      expect(result.exitCode, result.stderr).to.equal(0);
      console.log(`      (fleet report: ${files.length} files -> ${(statSync(out).size / 1024).toFixed(0)} KiB in ${Date.now() - started} ms)`);
    });

    it('a summary table of the 200 nodes, worst status first, earliest expiry first among equals', async () => {
      const { page, loadMs } = await openReport(browser, out);
      console.log(`      (chromium load: ${loadMs} ms)`);
      expect(loadMs).to.be.lessThan(10_000);
      const rows = page.locator('table.nodes tbody tr');
      expect(await rows.count()).to.equal(200);
      const cells = await rows.evaluateAll((trs) => trs.map((tr) => [tr.children[0]!.textContent, tr.children[1]!.textContent]));
      const rank = (status: string) => SEVERITY.indexOf(status as (typeof SEVERITY)[number]);
      const order = cells.map(([node, status]) => {
        const report = reports.get(node!)!;
        const expiry = entriesOf(report).map((entry) => entry.notAfter).filter(Boolean).sort()[0]!;
        return { node, status: status!, expiry, rank: rank(status!) };
      });
      for (let index = 1; index < order.length; index++) {
        const [a, b] = [order[index - 1]!, order[index]!];
        expect(a.rank <= b.rank, `${a.node} ${a.status} before ${b.node} ${b.status}`).to.equal(true);
        if (a.rank === b.rank) expect(a.expiry <= b.expiry, `${a.node} before ${b.node}`).to.equal(true);
      }
      // The worst status shown is the worst of that node's certificates.
      for (const { node, status } of order) expect(status, node!).to.equal(SEVERITY.find((candidate) => entriesOf(reports.get(node!)!).some((entry) => entry.status === candidate)));
      const statuses = new Set(order.map((row) => row.status));
      for (const status of ['MISSING', 'UNREADABLE', 'EXPIRED', 'WARN', 'OK']) expect(statuses, status).to.include(status);
      assertOffline(browser, out);
      await page.close();
    });

    it('each node folded in <details>: closed at first, one bar per certificate, opens on a click', async () => {
      const { page } = await openReport(browser, out);
      const details = page.locator('details.node');
      expect(await details.count()).to.equal(200);
      expect(await page.locator('details.node[open]').count()).to.equal(0);
      const total = [...reports.values()].reduce((sum, report) => sum + entriesOf(report).length, 0);
      expect(await page.locator('.bar').count()).to.equal(total);
      expect(await page.locator('.today').count()).to.equal(200);
      const first = details.first();
      expect(await first.locator('.bar').first().isVisible()).to.equal(false);
      await first.locator('summary').click();
      expect(await first.getAttribute('open')).to.not.equal(null);
      expect(await first.locator('.bar').first().isVisible()).to.equal(true);
      expect(await page.locator('#audit').textContent()).to.include('Not part of check --json files');
      const shot = await screenshot(browser, page, 'report-fleet-200.png', false);
      expect(shot.width).to.equal(1280);
      expect(shot.height).to.equal(900);
      expect(shot.colours).to.be.greaterThan(50);
      expect(shot.inked).to.be.within(0.05, 0.9);
      assertOffline(browser, out);
      await page.close();
    });

    it('--from one file is still a fleet page (a summary of one node)', async () => {
      const one = join(tempDir(), 'one.html');
      expect((await runCli(['report', '--html', one, '--from', files[0]!])).exitCode).to.equal(0);
      const { page } = await openReport(browser, one);
      expect(await page.locator('table.nodes tbody tr').count()).to.equal(1);
      expect(await page.locator('details.node').count()).to.equal(1);
      assertOffline(browser, one);
      await page.close();
    });

    it('a file that is not a check --json report: exit 4 naming it, no page written', async () => {
      const bad = join(tempDir(), 'notes.json');
      writeFileSync(bad, '{"hello": 1}');
      const target = join(tempDir(), 'never.html');
      const result = await runCli(['report', '--html', target, '--from', files[0]!, bad]);
      expect(result.exitCode).to.equal(4);
      expect(result.stderr).to.include(bad);
      expect(() => statSync(target)).to.throw();
    });
  });
});
