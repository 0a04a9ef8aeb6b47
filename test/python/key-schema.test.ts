/**
 * Differential test of the two key schemas: platform/keys.ts (KeySchema, what the node uses)
 * and python/redis_manager/keys.py (what the Python twin uses) get the same prefixes and the
 * same identifiers, hostile ones included, and must build the same keys (or refuse the same
 * input with the same message). A builder added on either side without a row here fails.
 */
import { KeySchema, normaliseQuery, queueNameProblem, searchHash, trimIdentifier } from '../../platform/keys';
import { describePython, pyCalls, pyOk, pythonEnv, type PyCall, type PyResult } from './python';

const IDS: string[] = [
	'',
	' ',
	'user_123',
	'AI marketing trends',
	'  leading and trailing  ',
	'tab\tnew\nline\r\n',
	'colon:inside:id',
	':',
	'::',
	'brace{tag}',
	'{',
	'}',
	'{}',
	'{queue:x}',
	'Jürgen ✓ café',
	'emoji 😀👍🏽',
	'中文 日本語 한국어',
	'עברית عربى',
	'e\u0301 combining',
	'NUL\u0000byte',
	'lone \ud800 surrogate',
	'lone \udfff low',
	'glob *?[a-z]',
	'quote "\' \\ `',
	'\u2028\u2029 separators',
	'\ufeffbom',
	'\u0085nel \u001c fs \u00a0 nbsp \u3000 ideographic',
	'İstanbul ΣΟΦΟΣ Straße ǅ',
	'%s %d ${x}',
	'../../etc',
	'x'.repeat(5000),
	'😀'.repeat(2000),
];

const PREFIXES = ['', 'staging:', 'tenant {x} ü:', 'p'.repeat(300)];

/** TS builder -> Python builder and the argument lists it is called with. */
const BUILDERS: Record<string, { py: string; args: (ids: string[]) => string[][] }> = {
	raw: { py: 'raw', args: single },
	session: { py: 'session', args: single },
	content: { py: 'content', args: single },
	search: { py: 'search', args: single },
	apiCache: { py: 'api_cache', args: pairs },
	conversation: { py: 'conversation', args: pairs },
	langchain: { py: 'langchain', args: (ids) => [...single(ids), ...pairs(ids), ...ids.map((id) => [id, ''])] },
	rateLimit: { py: 'rate_limit', args: single },
	lock: { py: 'lock', args: single },
	celeryResult: { py: 'celery_result', args: single },
	queue: { py: 'queue', args: single },
	updatesStream: { py: 'updates_stream', args: single },
};

function single(ids: string[]): string[][] {
	return ids.map((id) => [id]);
}

/** Each id with itself and with its neighbour, so both argument positions see every id. */
function pairs(ids: string[]): string[][] {
	return ids.flatMap((id, i) => [
		[id, id],
		[id, ids[(i + 1) % ids.length]],
	]);
}

/** What the TS builder gives, in the shape the Python driver reports. */
function tsResult(prefix: string, builder: string, args: string[]): PyResult {
	const schema = new KeySchema(prefix) as unknown as Record<string, (...a: string[]) => unknown>;
	try {
		return { ok: schema[builder](...args) };
	} catch (error) {
		return { error: 'ValueError', message: (error as Error).message };
	}
}

describePython('key schema: platform/keys.ts and python/redis_manager/keys.py build the same keys', () => {
	const env = pythonEnv('');

	it('every builder of both sides has a row here', () => {
		const ts = Object.getOwnPropertyNames(KeySchema.prototype).filter((n) => n !== 'constructor' && n !== 'key');
		expect(ts.sort()).toEqual(Object.keys(BUILDERS).sort());
		const py = pyOk({ target: 'driver', method: 'key_builders' }, env) as string[];
		expect(py).toEqual(Object.values(BUILDERS).map((b) => b.py).sort());
	});

	it(`${IDS.length} hostile identifiers x ${PREFIXES.length} prefixes x every builder: equal keys, equal refusals`, () => {
		const cases: Array<{ builder: string; prefix: string; args: string[] }> = [];
		for (const prefix of PREFIXES) {
			for (const [builder, { args }] of Object.entries(BUILDERS)) {
				for (const a of args(IDS)) cases.push({ builder, prefix, args: a });
			}
		}
		const calls: PyCall[] = cases.map((c) => ({ target: 'keys', prefix: c.prefix, method: BUILDERS[c.builder].py, args: c.args }));
		const py = pyCalls(calls, env);
		const mismatches = cases
			.map((c, i) => ({ ...c, ts: tsResult(c.prefix, c.builder, c.args), py: py[i] }))
			.filter((c) => JSON.stringify(c.ts) !== JSON.stringify(c.py));
		expect(mismatches.slice(0, 5)).toEqual([]);
		// The hostile ids must reach the queue refusal on both sides, not only the happy path.
		const refused = cases.filter((c) => 'error' in tsResult(c.prefix, c.builder, c.args));
		expect(refused.length).toBeGreaterThan(PREFIXES.length);
		// eslint-disable-next-line no-console
		console.log(`key schema: ${cases.length} keys compared (${refused.length} refusals), 0 mismatches`);
	});

	it('query normalisation and the search hash agree on hostile queries', () => {
		const queries = [...IDS, 'AI marketing trends', '  ai  Marketing\ttrends ', '\u000b\u000c', 'A\u200bB zero-width'];
		const calls: PyCall[] = queries.flatMap((q) => [
			{ target: 'module', method: 'normalise_query', args: [q] },
			{ target: 'module', method: 'search_hash', args: [q] },
		]);
		const py = pyCalls(calls, env);
		const ts = queries.flatMap((q) => [{ ok: normaliseQuery(q) }, { ok: searchHash(q) }]);
		expect(py).toEqual(ts);
		expect(searchHash('AI marketing trends')).toBe('a46724ac99ff53c7e01d3392c3bf15065d5731dd06929b472c552c3a7de19e8a');
	});

	it('identifier trimming and the queue-name rule agree', () => {
		const calls: PyCall[] = IDS.flatMap((id) => [
			{ target: 'module', method: 'trim_identifier', args: [id] },
			{ target: 'module', method: 'queue_name_problem', args: [id] },
		]);
		const ts = IDS.flatMap((id) => {
			const problem = queueNameProblem(id);
			return [{ ok: trimIdentifier(id) }, { ok: problem ? `${problem.problem}. ${problem.fix}` : '' }];
		});
		expect(pyCalls(calls, env)).toEqual(ts);
	});
});
