/** One section of the report: a table plus notes, printed to the console and written to BENCHMARKS.md. */
export interface Section {
	title: string;
	intro?: string;
	head: string[];
	rows: string[][];
	notes?: string[];
}

/** A target from the issue, met or not, with the figure that decides it. */
export interface Target {
	name: string;
	met: boolean | undefined;
	figure: string;
}

export function markdownTable(head: string[], rows: string[][]): string {
	const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
	const align = head.map((_, i) => (i === 0 ? '---' : '---:'));
	return [line(head), line(align), ...rows.map(line)].join('\n');
}

export function renderSection(section: Section): string {
	const parts = [`## ${section.title}`, ''];
	if (section.intro) parts.push(section.intro, '');
	if (section.rows.length > 0) parts.push(markdownTable(section.head, section.rows), '');
	for (const note of section.notes ?? []) parts.push(`- ${note}`);
	if (section.notes?.length) parts.push('');
	return parts.join('\n');
}

export function metLabel(met: boolean | undefined): string {
	if (met === undefined) return 'not measured';
	return met ? 'met' : 'NOT met';
}
