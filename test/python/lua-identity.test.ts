/**
 * One source of truth for the Lua scripts: the Python twin runs the very scripts the node
 * runs. Checked three ways, over every script:
 * - python/redis_manager/lua/ holds exactly the built files of dist/platform/scripts/, byte
 *   for byte (the copy is committed so `pip install ./python` needs no Node build; after a
 *   script change run `node scripts/sync-python-lua.js`);
 * - every script the built node registers (what ioredis EVALs, read off a stand-in client
 *   from dist/ itself) has a Python copy of identical text, or is composed from parts that
 *   do;
 * - the scripts Python loads have the SHA-1 (the EVALSHA name) of the node's scripts, and
 *   Python's script table names every built file.
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

/** name -> Lua text of every script the built node installs on its clients. */
function registeredByTheBuiltNode(): Map<string, string> {
	for (const node of ['MarketingRedis/MarketingRedis.node.js', 'MarketingRedisTrigger/MarketingRedisTrigger.node.js']) {
		require(join(REPO_ROOT, 'dist', 'nodes', node));
	}
	const { installScripts } = require(join(REPO_ROOT, 'dist', 'platform', 'scripts.js')) as {
		installScripts: (client: unknown) => void;
	};
	const seen = new Map<string, string>();
	installScripts({ defineCommand: (name: string, def: { lua: string }) => seen.set(name, def.lua) });
	return seen;
}

describePython('Lua scripts: Python runs the files the node runs', () => {
	beforeAll(() => ensureBuilt());

	it('python/redis_manager/lua is a byte-identical copy of dist/platform/scripts', () => {
		const built = luaFiles(BUILT);
		expect(built.length).toBeGreaterThan(0);
		expect(luaFiles(COPY)).toEqual(built);
		const differing = built.filter((f) => !readFileSync(join(BUILT, f)).equals(readFileSync(join(COPY, f))));
		expect(differing).toEqual([]);
	});

	it('every script the built node registers is a Python file, or composed only of them', () => {
		const copies = new Map(luaFiles(COPY).map((f) => [readFileSync(join(COPY, f), 'utf8'), f]));
		const registered = registeredByTheBuiltNode();
		expect(registered.size).toBeGreaterThan(0);
		const composed: string[] = [];
		const unmatched: string[] = [];
		for (const [name, lua] of registered) {
			if (copies.has(lua)) continue;
			// A composed script pastes whole files into local functions; each part must be a copy.
			const bodies = [...copies.keys()].filter((text) => lua.includes(text));
			if (bodies.length >= 2) composed.push(`${name} (${bodies.map((b) => copies.get(b)).join(' + ')})`);
			else unmatched.push(name);
		}
		expect(unmatched).toEqual([]);
		// eslint-disable-next-line no-console
		console.log(`lua identity: ${registered.size} node scripts, ${registered.size - composed.length} identical files; composed: ${composed.join(', ') || 'none'}`);
	});

	it("Python's script table covers every built file, with the node's SHA-1", () => {
		const loaded = pyOk({ target: 'driver', method: 'scripts' }, pythonEnv('')) as Array<{ file: string; sha1: string; dir: string }>;
		expect(loaded.map((s) => s.file).sort()).toEqual(luaFiles(BUILT));
		expect(new Set(loaded.map((s) => s.dir))).toEqual(new Set([COPY]));
		for (const script of loaded) expect(`${script.file} ${script.sha1}`).toBe(`${script.file} ${sha1(readFileSync(join(BUILT, script.file)))}`);
		const nodeShas = new Set([...registeredByTheBuiltNode().values()].map((lua) => sha1(lua)));
		const unused = loaded.filter((s) => !nodeShas.has(s.sha1)).map((s) => s.file);
		// A file the node does not register would be a script only Python runs: not one truth.
		expect(unused).toEqual([]);
	});
});
