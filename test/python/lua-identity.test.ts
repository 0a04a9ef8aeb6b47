/**
 * One source of truth for the Lua scripts: the Python twin runs the very scripts the node
 * runs. Checked over every script:
 * - python/redis_manager/lua/ holds exactly the built files of dist/platform/scripts/, byte
 *   for byte (the copy is committed so `pip install ./python` needs no Node build; after a
 *   script change run `npm run build && node scripts/sync-python-lua.js`);
 * - every script of the built node's registry (dist/platform/scripts.js: the Lua text and the
 *   key names ioredis is given) equals the Python copy of its file, keys included;
 * - each script Python calls has the node's SHA-1 (the EVALSHA name) and the node's keys.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ensureBuilt } from '../helpers/build';
import { REPO_ROOT } from '../helpers/redis-server';
import { describePython, pyOk, pythonEnv, PYTHON_DIR } from './python';

const BUILT = join(REPO_ROOT, 'dist', 'platform', 'scripts');
const COPY = join(PYTHON_DIR, 'redis_manager', 'lua');

const sha1 = (text: string | Buffer) => createHash('sha1').update(text).digest('hex');
const luaFiles = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.lua')).sort();

interface RegisteredScript {
	name: string;
	file: string;
	keys: readonly string[];
	lua: string;
}

/** The registry of the built package, as the node loads it at run time. */
function builtRegistry(): RegisteredScript[] {
	const { allScripts } = require(join(REPO_ROOT, 'dist', 'platform', 'scripts.js')) as { allScripts: () => RegisteredScript[] };
	return allScripts();
}

interface PythonScript {
	name: string;
	file: string;
	keys: string[];
	sha1: string;
	dir: string;
}

describePython('Lua scripts: Python runs the files the node runs', () => {
	beforeAll(() => ensureBuilt());

	it('python/redis_manager/lua is a byte-identical copy of dist/platform/scripts', () => {
		const built = luaFiles(BUILT);
		expect(built.length).toBeGreaterThan(0);
		const copied = luaFiles(COPY);
		const differing = built.filter((f) => !copied.includes(f) || !readFileSync(join(BUILT, f)).equals(readFileSync(join(COPY, f))));
		const stale = copied.filter((f) => !built.includes(f));
		if (differing.length + stale.length > 0) {
			throw new Error(
				`python/redis_manager/lua differs from the build (${[...differing, ...stale].join(', ')}): ` +
					'run `npm run build && node scripts/sync-python-lua.js` and commit the copy',
			);
		}
	});

	it("every script of the built node's registry is its Python copy, text and keys", () => {
		const registry = builtRegistry();
		expect(registry.map((s) => s.file).sort()).toEqual(luaFiles(COPY));
		for (const script of registry) {
			const copy = readFileSync(join(COPY, script.file), 'utf8');
			expect(`${script.file}: ${sha1(copy)}`).toBe(`${script.file}: ${sha1(script.lua)}`);
			expect(copy).toContain(`\n-- KEYS: ${script.keys.join(' ')}\n`);
		}
	});

	it('each script Python calls has the SHA-1 and the keys the node uses', () => {
		const loaded = pyOk({ target: 'driver', method: 'scripts' }, pythonEnv('')) as PythonScript[];
		expect(new Set(loaded.map((s) => s.dir))).toEqual(new Set([COPY]));
		const byFile = new Map(builtRegistry().map((s) => [s.file, s]));
		for (const script of loaded) {
			const node = byFile.get(script.file);
			expect(node).toBeDefined();
			expect({ file: script.file, sha1: script.sha1, keys: script.keys }).toEqual({ file: node!.file, sha1: sha1(node!.lua), keys: [...node!.keys] });
		}
		const uncalled = [...byFile.keys()].filter((file) => !loaded.some((s) => s.file === file));
		// eslint-disable-next-line no-console
		console.log(
			`lua identity: ${byFile.size} node scripts, all byte-identical in Python's copy; Python calls ${loaded.length}` +
				(uncalled.length > 0 ? `, not ${uncalled.join(', ')}` : ''),
		);
	});
});
