// The pictures in the README and docs: a template open in the n8n editor with the node panel showing our
// node's actions, and the panel showing the trigger's events, taken with Debian's headless chromium through
// playwright-core. It also checks, in the real editor, that every operation's action label and every trigger
// event name of the built nodes shows in that panel as written, and that the canvas subtitle under our node
// reads as the action chosen (not internal values such as "check: rateLimit").
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { INodePropertyOptions } from 'n8n-workflow';

import type { N8nInstall } from '../../scripts/n8n-install';
import { REPO_ROOT } from '../../scripts/lib/n8n';
import { expect } from './lib/report';
import type { N8nRest } from './lib/rest';
import { loadDescriptions, OUR_TYPES } from './lib/validate';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_WORKFLOW = 'tplRateLimitApi1';
const OUT_DIR = join(REPO_ROOT, '.e2e');
const README_SHOT = join(REPO_ROOT, 'docs', 'screenshot.png');
const TRIGGERS_SHOT = join(REPO_ROOT, 'docs', 'screenshot-triggers.png');

/** Debian's chromium, installed with apt-get when we are root and it is missing. */
function ensureChromium(): void {
	if (existsSync(CHROMIUM)) return;
	const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
	const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { stdio: 'ignore' }).status === 0;
	expect(isRoot && hasApt, `${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium) or set CHROMIUM_PATH`);
	console.log('\n    installing chromium with apt-get ...');
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	spawnSync('apt-get', ['update', '-qq'], { stdio: 'ignore', env });
	const result = spawnSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'ignore', env });
	expect(result.status === 0 && existsSync(CHROMIUM), 'apt-get could not install chromium');
}

/** Every `action` label of the action node, as the node panel lists them. */
export function expectedActions(): string[] {
	const description = loadDescriptions()[OUR_TYPES.action];
	return description.properties
		.filter((p) => p.name === 'operation' && p.type === 'options')
		.flatMap((p) => (p.options as INodePropertyOptions[]).map((o) => o.action ?? o.name));
}

/** Every event of the trigger node, as the node creator names it (the option's `action`). */
export function expectedEvents(): string[] {
	const description = loadDescriptions()[OUR_TYPES.trigger];
	const selector = description.properties.find((p) => p.name === 'event');
	return ((selector?.options ?? []) as INodePropertyOptions[]).map((o) => o.action ?? o.name);
}

/** The subtitle the editor should show under the screenshot template's rate-limit node. */
const RATE_LIMIT_SUBTITLE = 'Check Rate Limit';

export async function checkEditor(url: string, rest: N8nRest, install: N8nInstall): Promise<string> {
	ensureChromium();
	// Loaded lazily so the rest of the suite does not depend on it.
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	const { chromium } = require('playwright-core') as typeof import('playwright-core');
	const profile = mkdtempSync(join(tmpdir(), 'marketing-redis-chromium-'));
	const context = await chromium.launchPersistentContext(profile, {
		executablePath: CHROMIUM,
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
		viewport: { width: 1400, height: 850 },
	});
	try {
		const cookie = rest.cookie.split('=').slice(1).join('=');
		await context.addCookies([{ name: 'n8n-auth', value: cookie, domain: new URL(url).hostname, path: '/' }]);
		const page = context.pages()[0] ?? (await context.newPage());
		await page.goto(`${url}/workflow/${SCREENSHOT_WORKFLOW}`, { waitUntil: 'domcontentloaded' });
		const ourNode = page.locator(`[data-test-id="canvas-node"][data-node-type="${OUR_TYPES.action}"]`).first();
		await ourNode.waitFor({ timeout: 90_000 });
		// The node is named "Check Rate Limit" too, so the subtitle is the second line with that text.
		const nodeLines = (await ourNode.innerText()).split('\n').map((line) => line.trim());
		expect(!nodeLines.some((line) => /:\s*rateLimit/.test(line)), `the canvas shows an internal subtitle: ${nodeLines.join(' | ')}`);
		expect(
			nodeLines.filter((line) => line === RATE_LIMIT_SUBTITLE).length >= 2,
			`canvas subtitle "${RATE_LIMIT_SUBTITLE}" missing under the node: ${nodeLines.join(' | ')}`,
		);

		// The node panel ("+"), searched for our node, opened on its actions.
		await page.locator('[data-test-id="node-creator-plus-button"]').click();
		const search = page.locator('input[data-test-id="node-creator-search-bar"], [data-test-id="node-creator-search-bar"] input').first();
		await search.waitFor({ timeout: 20_000 });
		await search.fill('Marketing Redis');
		await page.locator('[data-test-id="node-creator-item-name"]', { hasText: /^Marketing Redis$/ }).first().click();
		const panel = page.locator('[data-test-id="node-creator"]');
		await panel.getByText(/Actions \(\d+\)/).first().waitFor({ timeout: 20_000 });
		await page.waitForTimeout(800); // let the panel's slide-in animation finish before the picture
		const text = await panel.innerText();
		const wanted = expectedActions();
		const missing = wanted.filter((action) => !text.toLowerCase().includes(action.toLowerCase()));
		expect(missing.length === 0, `actions missing from the node panel: ${missing.join('; ')}`);

		mkdirSync(OUT_DIR, { recursive: true });
		const shot = join(OUT_DIR, `screenshot-n8n-${install.version}.png`);
		await page.screenshot({ path: shot });

		// The trigger's events: a node panel opened from "+" in a workflow that has a trigger lists actions only, so a
		// new workflow's "Add first step" opens it in trigger mode, searched for our node (n8n may list the trigger
		// as "Marketing Redis Trigger" or, merged with the action node, as "Marketing Redis").
		await page.goto(`${url}/workflow/new`, { waitUntil: 'domcontentloaded' });
		const addFirst = page.locator('[data-test-id="canvas-add-button"]').or(page.getByText('Add first step', { exact: true }));
		await addFirst.first().click({ timeout: 60_000 });
		await search.waitFor({ timeout: 20_000 });
		await search.fill('Marketing Redis');
		const events = expectedEvents();
		const ourItem = page.locator('[data-test-id="node-creator-item-name"]', { hasText: /^Marketing Redis( Trigger)?$/ }).first();
		await ourItem.click({ timeout: 20_000 });
		try {
			await panel.getByText(events[0] ?? 'On ', { exact: true }).first().waitFor({ timeout: 20_000 });
		} catch (error) {
			await page.screenshot({ path: join(OUT_DIR, `screenshot-triggers-failed-n8n-${install.version}.png`) });
			const seen = (await panel.innerText().catch(() => '')).replace(/\s+/g, ' ').slice(0, 600);
			throw new Error(`trigger event "${events[0]}" not shown in the node panel; it shows: ${seen} (${(error as Error).message.split('\n')[0]})`);
		}
		await page.waitForTimeout(800);
		const triggerText = await panel.innerText();
		const missingEvents = events.filter((event) => !triggerText.includes(event));
		expect(missingEvents.length === 0, `trigger events missing or reworded in the node panel: ${missingEvents.join('; ')}`);
		const triggersShot = join(OUT_DIR, `screenshot-triggers-n8n-${install.version}.png`);
		await page.screenshot({ path: triggersShot });

		// The README's pictures come from the newest line, the editor most users see; missing ones are filled from any line.
		const update = (process.env.E2E_UPDATE_SCREENSHOT === '1' && install.line === 'newest') || !existsSync(README_SHOT);
		if (update) {
			mkdirSync(join(REPO_ROOT, 'docs'), { recursive: true });
			copyFileSync(shot, README_SHOT);
			copyFileSync(triggersShot, TRIGGERS_SHOT);
		}
		return (
			`${wanted.length} actions and ${events.length} trigger events listed as written in the node panel, subtitle ` +
			`"${RATE_LIMIT_SUBTITLE}" on the canvas; screenshots ${shot}, ${triggersShot}${update ? ' (copied to docs/)' : ''}`
		);
	} finally {
		await context.close();
		rmSync(profile, { recursive: true, force: true });
	}
}
