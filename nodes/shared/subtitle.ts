/**
 * A node subtitle that reads as what the user chose ("Check Rate Limit") instead of internal
 * values. n8n evaluates `subtitle` as an expression on the canvas, with `$parameter`, so the
 * text is looked up in a literal table keyed by the parameters' values; an unknown value (a
 * node saved by a newer version) shows no subtitle rather than an error.
 */
export type SubtitleTable = { [value: string]: string | SubtitleTable };

export function lookupSubtitle(parameters: readonly string[], table: SubtitleTable): string {
	const literal = JSON.stringify(table);
	if (texts(table).some((text) => /[{}]/.test(text))) {
		throw new Error('Subtitle texts must not contain braces: they would end the expression');
	}
	// n8n ends an expression at the first "}}", and nested objects close with one: keep them apart.
	const spaced = literal.replace(/\}/g, ' }');
	const lookup = parameters.reduce((expr, name, i) => {
		const step = `${expr}[$parameter[${JSON.stringify(name)}]]`;
		return i < parameters.length - 1 ? `(${step} || {})` : step;
	}, `(${spaced})`);
	return `={{ ${lookup} || "" }}`;
}

function texts(table: SubtitleTable): string[] {
	return Object.values(table).flatMap((value) => (typeof value === 'string' ? [value] : texts(value)));
}
