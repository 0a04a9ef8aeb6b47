import { execFileSync } from 'node:child_process';
import { cpus, totalmem, platform, release, loadavg } from 'node:os';

import { REPO_ROOT } from '../../harness/redis-server';

/** What the figures were measured on: they mean little without it. */
export interface MachineInfo {
	cpuModel: string;
	cores: number;
	memoryGb: number;
	os: string;
	node: string;
	redisServer: string;
	date: string;
	commit: string;
	loadAverage: string;
}

function run(cmd: string, args: string[]): string {
	try {
		return execFileSync(cmd, args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
	} catch {
		return 'unknown';
	}
}

export function describeMachine(redisVersion: string): MachineInfo {
	const list = cpus();
	const dirty = run('git', ['status', '--porcelain', '--untracked-files=no']) !== '';
	return {
		cpuModel: list[0]?.model.trim() ?? 'unknown',
		cores: list.length,
		memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
		os: `${platform()} ${release()}`,
		node: process.version,
		redisServer: redisVersion,
		date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
		commit: `${run('git', ['rev-parse', '--short', 'HEAD'])}${dirty ? ' (with uncommitted changes)' : ''}`,
		loadAverage: loadavg()
			.map((n) => n.toFixed(2))
			.join(' '),
	};
}
