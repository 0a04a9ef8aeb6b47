// Reads what `n8n execute --rawOutput` prints: log lines, then the execution as JSON.
import type { N8nCli } from '../../../scripts/lib/n8n';
import { tail } from '../../../scripts/lib/n8n';

export interface ExecutedItem {
	json: Record<string, unknown>;
}

export interface TaskData {
	executionStatus?: string;
	error?: { message?: string };
	data?: { main?: Array<ExecutedItem[] | null> };
}

export interface Execution {
	status?: string;
	finished?: boolean;
	data: { resultData: { runData: Record<string, TaskData[]>; error?: { message?: string }; lastNodeExecuted?: string } };
}

export function parseExecution(stdout: string): Execution {
	const start = stdout.search(/^\{/m);
	if (start < 0) throw new Error(`no execution JSON in the output:\n${tail(stdout, 2000)}`);
	const end = objectEnd(stdout, start);
	if (end < 0) throw new Error(`the execution JSON in the output is cut short:\n${tail(stdout, 2000)}`);
	try {
		return JSON.parse(stdout.slice(start, end)) as Execution;
	} catch (error) {
		const at = Number((error as Error).message.match(/position (\d+)/)?.[1] ?? 0) + start;
		throw new Error(`${(error as Error).message}; the output around it: ${JSON.stringify(stdout.slice(Math.max(0, at - 200), at + 200))}`);
	}
}

/**
 * Where the JSON object starting at `start` ends. n8n may print log lines after it (seen on 2.41.1 while the
 * process shuts down), so the object is cut out by its braces rather than read to the end of the output.
 */
function objectEnd(text: string, start: number): number {
	let depth = 0;
	let inString = false;
	for (let i = start; i < text.length; i++) {
		const c = text[i];
		if (inString) {
			if (c === '\\') i++;
			else if (c === '"') inString = false;
		} else if (c === '"') inString = true;
		else if (c === '{' || c === '[') depth++;
		else if (c === '}' || c === ']') {
			depth--;
			if (depth === 0) return i + 1;
		}
	}
	return -1;
}

/** The node and message of a failed `n8n execute`, instead of pages of run data. */
function failureSummary(output: string): string {
	const node = output.match(/"lastNodeExecuted": "([^"]+)"/)?.[1];
	const afterBanner = output.split('Execution error:').pop() ?? '';
	const message = afterBanner
		.split('\n')
		.map((l) => l.trim())
		.find((l) => l && !l.startsWith('====') && !l.startsWith('{'));
	if (node || message) return `${node ? `node "${node}": ` : ''}${message ?? '(no message)'}`;
	return `\n${tail(output, 3000)}`;
}

/** Runs a saved workflow through `n8n execute` and returns its run data; a failed execution throws. */
export async function executeWorkflow(cli: N8nCli, id: string): Promise<Execution> {
	const result = await cli.run(['execute', `--id=${id}`, '--rawOutput'], 180_000);
	const output = result.stdout + result.stderr;
	if (result.code !== 0) throw new Error(`n8n execute --id=${id} failed (exit ${result.code}): ${failureSummary(output)}`);
	const execution = parseExecution(result.stdout);
	const error = execution.data.resultData.error;
	if (error) throw new Error(`execution of ${id} failed: ${error.message}`);
	return execution;
}

/** The items a node sent to one of its outputs, in its first run; [] when it did not run or sent nothing. */
export function nodeItems(execution: Execution, node: string, output = 0): Array<Record<string, unknown>> {
	const run = execution.data.resultData.runData[node]?.[0];
	return (run?.data?.main?.[output] ?? []).map((item) => item.json);
}

export function ranNodes(execution: Execution): string[] {
	return Object.keys(execution.data.resultData.runData);
}
