// Collects the suite's checks: each one is named, timed and either passes or fails with a reason.
export interface CheckResult {
	name: string;
	ok: boolean;
	ms: number;
	detail: string;
}

export class Report {
	readonly results: CheckResult[] = [];
	private readonly started = Date.now();

	/** Runs one check; a thrown error is a failure, never a crash of the suite. Returns whether it passed. */
	async check(name: string, fn: () => Promise<string | void>): Promise<boolean> {
		const t0 = Date.now();
		process.stdout.write(`- ${name} ... `);
		try {
			const detail = (await fn()) ?? '';
			const ms = Date.now() - t0;
			this.results.push({ name, ok: true, ms, detail });
			console.log(`ok (${(ms / 1000).toFixed(1)} s)${detail ? `: ${detail}` : ''}`);
			return true;
		} catch (error) {
			const ms = Date.now() - t0;
			const detail = (error as Error).message ?? String(error);
			this.results.push({ name, ok: false, ms, detail });
			console.log(`FAILED (${(ms / 1000).toFixed(1)} s)\n    ${detail.split('\n').join('\n    ')}`);
			return false;
		}
	}

	fail(name: string, detail: string): void {
		this.results.push({ name, ok: false, ms: 0, detail });
		console.log(`- ${name} ... FAILED\n    ${detail}`);
	}

	get failed(): CheckResult[] {
		return this.results.filter((r) => !r.ok);
	}

	summary(header: string): string {
		const total = (Date.now() - this.started) / 1000;
		const lines = [
			'',
			'='.repeat(78),
			header,
			`${this.results.length - this.failed.length} of ${this.results.length} checks passed in ${total.toFixed(0)} s`,
			'-'.repeat(78),
			...this.results.map((r) => `${r.ok ? 'PASS' : 'FAIL'}  ${(r.ms / 1000).toFixed(1).padStart(6)} s  ${r.name}`),
		];
		if (this.failed.length > 0) {
			lines.push('-'.repeat(78), 'Failures:');
			for (const r of this.failed) lines.push(`* ${r.name}: ${r.detail.split('\n').slice(0, 12).join('\n    ')}`);
		}
		lines.push('='.repeat(78));
		return lines.join('\n');
	}
}

/** Throws with a message that says what was expected and what was seen. */
export function expect(condition: unknown, message: string): asserts condition {
	if (!condition) throw new Error(message);
}

export function expectEqual<T>(actual: T, expected: T, what: string): void {
	const a = JSON.stringify(actual);
	const e = JSON.stringify(expected);
	if (a !== e) throw new Error(`${what}: expected ${e}, got ${a}`);
}
