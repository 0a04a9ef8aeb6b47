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
 *
 * The pages themselves: every relative link in README.md, BENCHMARKS.md and docs/*.md names a file or folder
 * that exists in the repository, and its "#heading", if any, is an anchor of that markdown file (or of the
 * page itself for a bare "#heading").
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

import { MarketingRedisApi } from '../../credentials/MarketingRedisApi.credentials';
import { MarketingRedis } from '../../nodes/MarketingRedis/MarketingRedis.node';
import { MarketingRedisTrigger } from '../../nodes/MarketingRedisTrigger/MarketingRedisTrigger.node';
import { markdownAnchors, markdownLinks } from '../helpers/markdown-anchors';
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

const PAGES = ['README.md', 'BENCHMARKS.md', ...readdirSync(join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** Every relative link of a page, resolved against the page's folder, as [page, link, file, anchor]. */
const RELATIVE_LINKS: Array<[string, string, string, string | undefined]> = PAGES.flatMap((page) =>
	markdownLinks(readFileSync(join(REPO_ROOT, page), 'utf8'))
		.filter((link) => !/^[a-z][a-z0-9+.-]*:/i.test(link))
		.map((link): [string, string, string, string | undefined] => {
			const [location, anchor] = link.split('#');
			const file = location === '' ? page : normalize(join(dirname(page), decodeURIComponent(location)));
			return [page, link, file, anchor];
		}),
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

	it('the pages link to each other (README to every docs page), so the link check below covers something', () => {
		expect(RELATIVE_LINKS.length).toBeGreaterThan(20);
		for (const page of PAGES.filter((p) => p.startsWith('docs/'))) {
			expect(RELATIVE_LINKS.some(([from, , file]) => from === 'README.md' && file === page)).toBe(true);
		}
	});

	it.each(RELATIVE_LINKS)('%s links to %s: the file exists and so does the heading', (_page, _link, file, anchor) => {
		expect(relative(REPO_ROOT, join(REPO_ROOT, file)).startsWith('..')).toBe(false);
		expect(existsSync(join(REPO_ROOT, file))).toBe(true);
		if (anchor === undefined || anchor === '') return;
		expect(statSync(join(REPO_ROOT, file)).isFile() && file.endsWith('.md')).toBe(true);
		expect([...markdownAnchors(readFileSync(join(REPO_ROOT, file), 'utf8'))]).toContain(anchor);
	});

	it('the link reader finds inline links and images outside code, with or without a title', () => {
		expect(
			markdownLinks(
				[
					'See [the schema](docs/KEY-SCHEMA.md#key-schema) and ![a picture](docs/screenshot.png "title").',
					'`[not](a-link.md)` in code, and [absolute](https://example.com/x#y).',
					'```md',
					'[fenced](nowhere.md)',
					'```',
					'[ref]: docs/REF.md',
				].join('\n'),
			),
		).toEqual(['docs/KEY-SCHEMA.md#key-schema', 'docs/screenshot.png', 'https://example.com/x#y', 'docs/REF.md']);
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
