/**
 * Every documentation link the editor shows lands on a real heading: the credential's "Open docs"
 * link, each node's Docs link and the codex files' documentation links. A link names a markdown
 * file of this repository (the repository page itself is its README) and optionally a heading by
 * GitHub's generated anchor; the test reads whichever file the link names, so moving a section
 * into docs/ only needs the link changed.
 *
 * How n8n opens them (n8n-editor-ui, 2.8 and 2.41): a credential's documentationUrl outside
 * docs.n8n.io and a node's `documentationUrl` starting with "http" are opened as they are; the
 * codex primaryDocumentation URL gets "?utm_source=...&utm_campaign=<node>" appended, which after a
 * "#heading" would end up inside the fragment, so codex links must name a page without one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { MarketingRedisApi } from '../../credentials/MarketingRedisApi.credentials';
import { MarketingRedis } from '../../nodes/MarketingRedis/MarketingRedis.node';
import { MarketingRedisTrigger } from '../../nodes/MarketingRedisTrigger/MarketingRedisTrigger.node';
import { markdownAnchors } from '../helpers/markdown-anchors';
import { REPO_ROOT } from '../helpers/redis-server';

const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { homepage: string };
const HOME = pkg.homepage.replace(/\/$/, '');

/** The repository file a link names, and the heading anchor if it has one. */
function target(url: string): { file: string; anchor?: string } {
	expect(url.startsWith(HOME)).toBe(true);
	const [location, anchor] = url.slice(HOME.length).split('#');
	const path = location.replace(/^\/(blob|tree)\/[^/]+\//, '').replace(/^\//, '');
	return { file: path === '' ? 'README.md' : path, anchor };
}

function codexLinks(node: string): string[] {
	const codex = JSON.parse(readFileSync(join(REPO_ROOT, 'nodes', node, `${node}.node.json`), 'utf8')) as {
		resources: { primaryDocumentation: Array<{ url: string }> };
	};
	return codex.resources.primaryDocumentation.map((doc) => doc.url);
}

const OPENED_AS_GIVEN: Array<[string, string | undefined]> = [
	['credential Marketing Redis API', new MarketingRedisApi().documentationUrl],
	['node Marketing Redis', new MarketingRedis().description.documentationUrl],
	['node Marketing Redis Trigger', new MarketingRedisTrigger().description.documentationUrl],
];

const CODEX: Array<[string, string]> = ['MarketingRedis', 'MarketingRedisTrigger'].flatMap((node) =>
	codexLinks(node).map((url): [string, string] => [`codex of ${node}`, url]),
);

describe('documentation links', () => {
	it.each(OPENED_AS_GIVEN)('%s: an absolute link n8n opens as it is, to a heading that exists', (_what, url) => {
		expect(url).toMatch(/^https:\/\//);
		// n8n rewrites docs.n8n.io links (adds its tracking query); ours must stay as written.
		expect(new URL(url!).hostname).not.toBe('docs.n8n.io');
		const { file, anchor } = target(url!);
		expect(existsSync(join(REPO_ROOT, file))).toBe(true);
		expect(anchor).toBeTruthy();
		expect([...markdownAnchors(readFileSync(join(REPO_ROOT, file), 'utf8'))]).toContain(anchor);
	});

	it.each(CODEX)('%s: names a page without a fragment, so the query n8n appends keeps it working', (_what, url) => {
		expect(url).not.toContain('#');
		expect(url).not.toContain('?');
		const { file } = target(url);
		expect(existsSync(join(REPO_ROOT, file))).toBe(true);
		// What the editor opens: still the same page once the query is on.
		const opened = new URL(`${url}?utm_source=n8n_app&utm_medium=node_settings_modal-credential_link&utm_campaign=x`);
		expect(opened.hash).toBe('');
		expect(`${opened.origin}${opened.pathname}`).toBe(url);
	});

	it('the anchor reader follows GitHub: punctuation dropped, code ticks and links by their text, repeats numbered', () => {
		const anchors = markdownAnchors(
			[
				'# Credentials: Marketing Redis API',
				'### What `npm start` does',
				'## Job queue (at least once)',
				'## [Locks](x.md) (leases)',
				'## Fields',
				'```bash',
				'# not a heading',
				'```',
				'## Fields',
				'<a id="custom-anchor"></a>',
			].join('\n'),
		);
		expect([...anchors].sort()).toEqual(
			['credentials-marketing-redis-api', 'custom-anchor', 'fields', 'fields-1', 'job-queue-at-least-once', 'locks-leases', 'what-npm-start-does'].sort(),
		);
	});
});
