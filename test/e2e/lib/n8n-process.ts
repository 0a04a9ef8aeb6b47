// One long-running n8n command (`start`, `worker`) in a process group of its own, so a crash can be
// simulated the way an OOM kill or a lost container does it: SIGKILL to n8n and everything it spawned
// (its task runners), with no chance to clean up.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

import { installEnv, type N8nInstall } from '../../../scripts/n8n-install';
import { tail } from '../../../scripts/lib/n8n';
import { sleep, waitForHttp } from '../../../scripts/lib/process';

/** Pids of the live (not zombie) members of a process group, read from /proc. */
export function groupMembers(pgid: number): number[] {
	const pids: number[] = [];
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			// The command name may hold spaces and parentheses; the fields after the last ')' do not.
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			if (fields[0] !== 'Z' && Number(fields[2]) === pgid) pids.push(Number(entry));
		} catch {
			// The process ended while we looked.
		}
	}
	return pids;
}

export class N8nProcess {
	readonly child: ChildProcess;

	readonly startedAt = Date.now();

	private log = '';

	constructor(
		readonly label: string,
		install: N8nInstall,
		args: string[],
		env: NodeJS.ProcessEnv,
	) {
		this.child = spawn(install.node, [install.bin, ...args], {
			// installEnv puts the install's Node first on PATH: n8n spawns its task runner as plain `node`.
			env: installEnv(install, env),
			stdio: ['ignore', 'pipe', 'pipe'],
			detached: true,
		});
		const collect = (d: Buffer) => {
			this.log = (this.log + d.toString()).slice(-400_000);
		};
		this.child.stdout?.on('data', collect);
		this.child.stderr?.on('data', collect);
	}

	/** The group id: the detached n8n process leads its own group. */
	get pid(): number {
		return this.child.pid ?? -1;
	}

	get running(): boolean {
		return this.child.exitCode === null && this.child.signalCode === null;
	}

	logs(): string {
		return this.log;
	}

	private dead(): string | undefined {
		return this.running ? undefined : `${this.label} exited (${this.child.exitCode ?? this.child.signalCode}):\n${tail(this.log, 3000)}`;
	}

	/** Waits for an HTTP endpoint of this process to answer 200 (fails at once if the process exits). */
	async waitForHttp(url: string, timeoutMs: number): Promise<void> {
		await waitForHttp(url, { timeoutMs, alive: () => this.dead() });
	}

	async waitForLog(pattern: RegExp, timeoutMs: number, from = 0): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (!pattern.test(this.log.slice(from))) {
			const dead = this.dead();
			if (dead) throw new Error(dead);
			if (Date.now() > deadline) throw new Error(`${this.label}: no log line ${pattern} within ${timeoutMs / 1000} s:\n${tail(this.log, 3000)}`);
			await sleep(250);
		}
	}

	/** SIGKILL to the whole group (n8n and its task runners); resolves once none of them is left. */
	async crash(timeoutMs = 15_000): Promise<void> {
		const exited = new Promise<void>((r) => (this.running ? this.child.once('exit', () => r()) : r()));
		try {
			process.kill(-this.pid, 'SIGKILL');
		} catch {
			// The group is already gone.
		}
		await exited;
		const deadline = Date.now() + timeoutMs;
		while (groupMembers(this.pid).length > 0) {
			if (Date.now() > deadline) throw new Error(`${this.label}: processes ${groupMembers(this.pid).join(', ')} survived SIGKILL`);
			await sleep(100);
		}
	}

	/** SIGTERM (n8n shuts its runners down itself), then SIGKILL for whatever is left after the grace time. */
	async stop(graceMs = 30_000): Promise<void> {
		if (this.running) {
			const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
			this.child.kill('SIGTERM');
			const timer = setTimeout(() => void this.crash(), graceMs);
			await exited;
			clearTimeout(timer);
		}
		if (groupMembers(this.pid).length > 0) await this.crash();
	}
}
