/**
 * The anchors GitHub gives a markdown file's headings, so tests can check that a "#heading" link
 * lands somewhere. GitHub slugs a heading's rendered text: lower case, every character that is not
 * a letter, digit, mark, connector (_), space or hyphen dropped, spaces turned into hyphens, and
 * "-1", "-2" ... added to repeats. Explicit `<a id>` / `<a name>` anchors count too.
 */
export function markdownAnchors(markdown: string): Set<string> {
	const anchors = new Set<string>();
	const seen = new Map<string, number>();
	let fence: string | undefined;
	for (const line of markdown.split('\n')) {
		const fenceMark = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
		if (fenceMark && (!fence || fenceMark.startsWith(fence))) {
			fence = fence ? undefined : fenceMark;
			continue;
		}
		if (fence) continue;
		for (const explicit of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(explicit[1]);
		const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
		if (!heading) continue;
		const slug = slugOf(renderedText(heading[1]));
		const repeat = seen.get(slug) ?? 0;
		seen.set(slug, repeat + 1);
		anchors.add(repeat === 0 ? slug : `${slug}-${repeat}`);
	}
	return anchors;
}

/** The text a heading renders to: links and images by their text, no code ticks, emphasis or tags. */
function renderedText(source: string): string {
	return source
		.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
		.replace(/<[^>]+>/g, '')
		.replace(/`/g, '')
		.replace(/\*+/g, '');
}

function slugOf(text: string): string {
	return text
		.toLowerCase()
		.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
		.replace(/ /g, '-');
}

/**
 * The targets of a markdown file's links and images: inline `[text](target "title")` and reference
 * definitions `[name]: target`, outside fenced code blocks and code spans.
 */
export function markdownLinks(markdown: string): string[] {
	const links: string[] = [];
	let fence: string | undefined;
	for (const line of markdown.split('\n')) {
		const fenceMark = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
		if (fenceMark && (!fence || fenceMark.startsWith(fence))) {
			fence = fence ? undefined : fenceMark;
			continue;
		}
		if (fence) continue;
		const text = line.replace(/(`+)[^`]*?\1/g, '');
		const definition = /^\s{0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(text);
		if (definition) {
			links.push(definition[1]);
			continue;
		}
		for (const inline of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push(inline[1]);
	}
	return links;
}
