// Small process and network helpers shared by `npm start` and the e2e suite.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface CommandResult {
	code: number | null;
	stdout: string;
	stderr: string;
}

/** Runs a command to completion and collects its output (never throws on a non-zero exit). */
export function runCommand(
	cmd: string,
	args: string[],
	options: SpawnOptions & { timeoutMs?: number } = {},
): Promise<CommandResult> {
	return new Promise((resolveRun, reject) => {
		const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
		let stdout = '';
		let stderr = '';
		child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
		child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
		const timer = options.timeoutMs
			? setTimeout(() => {
					stderr += `\n[killed after ${options.timeoutMs} ms]`;
					child.kill('SIGKILL');
				}, options.timeoutMs)
			: undefined;
		child.on('error', reject);
		child.on('close', (code) => {
			if (timer) clearTimeout(timer);
			resolveRun({ code, stdout, stderr });
		});
	});
}

// The port helpers live in the harness, shared with the tests and the bench.
export { freePort, portIsFree } from '../../harness/net';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves after ms without keeping the process alive (for races against a deadline). */
export const deadline = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());

/** Waits until the child exits, killing it harder if it does not stop in time. */
export async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise<void>((r) => child.once('exit', () => r()));
	child.kill('SIGTERM');
	const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
	await exited;
	clearTimeout(timer);
}

/** Polls an HTTP URL until it answers with the wanted status. */
export async function waitForHttp(
	url: string,
	{ timeoutMs = 120_000, status = 200, alive }: { timeoutMs?: number; status?: number; alive?: () => string | undefined } = {},
): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	let last = '';
	while (Date.now() < deadline) {
		const dead = alive?.();
		if (dead) throw new Error(dead);
		try {
			const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
			if (res.status === status) return;
			last = `HTTP ${res.status}`;
		} catch (error) {
			last = (error as Error).message;
		}
		await sleep(500);
	}
	throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${last})`);
}
