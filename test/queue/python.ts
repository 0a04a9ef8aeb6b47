import { spawnSync } from 'node:child_process';

/**
 * A Python interpreter that can import `modules`, or null with the reason. The PATH python3
 * may be a pyenv shim without Debian's packages, so Debian's /usr/bin/python3 is tried too.
 */
export function findPython(modules: string[]): { python: string | null; reason: string } {
	const probe = `import ${modules.join(', ')}`;
	const reasons: string[] = [];
	for (const python of ['python3', '/usr/bin/python3']) {
		const result = spawnSync(python, ['-c', probe], { encoding: 'utf8', timeout: 20_000 });
		if (result.status === 0) return { python, reason: '' };
		reasons.push(`${python}: ${(result.stderr || result.error?.message || 'not found').trim().split('\n').pop()}`);
	}
	return { python: null, reason: reasons.join('; ') };
}
