/**
 * The Python twin's own suite (python/tests, pytest) against the redis-server this jest run
 * started, so `npm test` and CI run it with the rest. Needs Debian's python3-redis and
 * python3-pytest; REQUIRE_PYTHON=1 turns their absence into a failure.
 */
import { hasPytest, PYTHON_DIR, pythonEnv, requirePython, runPython } from './python';

const available = hasPytest();
if (!available && !requirePython) {
	// eslint-disable-next-line no-console
	console.log('pytest suite: skipped, python3 with redis-py and pytest is missing; apt-get install python3-redis python3-pytest enables it');
}

(available || requirePython ? describe : describe.skip)('python/tests (pytest)', () => {
	it('passes against the test Redis', () => {
		const run = runPython(
			['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--rootdir', PYTHON_DIR, PYTHON_DIR],
			pythonEnv(''),
			undefined,
			300_000,
		);
		const summary = run.stdout.trim().split('\n').pop() ?? '';
		// eslint-disable-next-line no-console
		console.log(`pytest: ${summary}`);
		if (run.status !== 0) throw new Error(`pytest failed:\n${run.stdout}\n${run.stderr}`);
		expect(summary).toMatch(/passed/);
		expect(summary).not.toMatch(/skipped|failed|error/);
	});
});
