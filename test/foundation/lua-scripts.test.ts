/**
 * The Lua sources as a whole: every script is registered, receives exactly the keys it uses,
 * shares the queue's formulas through includes instead of copies, and is shipped exactly as
 * the registry loads it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { declaredKeys, expandLua, readLuaScript } from '../../platform/lua-source';
import { MAX_PRIORITY } from '../../platform/queue';
import { allScripts, scriptCommands, scriptsDir } from '../../platform/scripts';
import { ensureBuilt } from '../helpers/build';
import { REPO_ROOT } from '../helpers/redis-server';

const SOURCES = join(REPO_ROOT, 'platform/scripts');
const INCLUDES = join(SOURCES, 'includes');

function sources(): Array<{ file: string; text: string }> {
	const top = readdirSync(SOURCES).filter((f) => f.endsWith('.lua'));
	const fragments = readdirSync(INCLUDES).filter((f) => f.endsWith('.lua'));
	return [
		...top.map((f) => ({ file: f, text: readFileSync(join(SOURCES, f), 'utf8') })),
		...fragments.map((f) => ({ file: `includes/${f}`, text: readFileSync(join(INCLUDES, f), 'utf8') })),
	];
}

/** Lines of Lua code, comments dropped, so prose about a formula does not count as a copy. */
function code(text: string): string {
	return text
		.split('\n')
		.map((line) => line.replace(/--.*$/, ''))
		.join('\n');
}

function filesContaining(pattern: RegExp): string[] {
	return sources()
		.filter(({ text }) => pattern.test(code(text)))
		.map(({ file }) => file);
}

describe('Lua scripts', () => {
	it('registers every script file, and only those', () => {
		const files = readdirSync(SOURCES).filter((f) => f.endsWith('.lua')).sort();
		expect(allScripts().map((s) => s.file).sort()).toEqual(files);
		expect(Object.keys(scriptCommands()).sort()).toEqual(allScripts().map((s) => s.name).sort());
	});

	it('gives each script exactly the keys it uses: every declared key is used, every key used is declared', () => {
		for (const script of allScripts()) {
			const binding = /^local (K_\w+(?:, K_\w+)*) = KEYS\[1\].*$/gm;
			expect(script.lua.match(binding)).toHaveLength(1);
			const body = code(script.lua).replace(binding, '');
			const used = [...new Set([...body.matchAll(/\bK_(\w+)/g)].map((m) => m[1]))].sort();
			expect({ script: script.name, keys: [...script.keys].sort() }).toEqual({ script: script.name, keys: used });
			// Keys are reached by name only, so a script cannot read one it did not declare.
			expect({ script: script.name, raw: /KEYS\[/.test(body) }).toEqual({ script: script.name, raw: false });
			expect(scriptCommands()[script.name].numberOfKeys).toBe(script.keys.length);
		}
	});

	it('has the priority formula, the clamp and the server-time conversion once each', () => {
		expect(filesContaining(/4294967296/)).toEqual(['includes/priority.lua']);
		expect(filesContaining(/MAX_PRIORITY\s*=/)).toEqual(['includes/priority.lua']);
		expect(filesContaining(/\b100\b/)).toEqual(['includes/priority.lua']);
		expect(filesContaining(/\*\s*1000\s*\+\s*math\.floor/)).toEqual(['includes/server-time.lua']);
		expect(filesContaining(/'TIME'/)).toEqual(['includes/server-time.lua']);
		expect(filesContaining(/'LPUSH', K_dead/)).toEqual(['includes/dead-letter.lua']);
	});

	it('keeps MAX_PRIORITY the same in Lua and TypeScript', () => {
		const lua = readFileSync(join(INCLUDES, 'priority.lua'), 'utf8');
		expect(Number(/^local MAX_PRIORITY = (\d+)$/m.exec(lua)?.[1])).toBe(MAX_PRIORITY);
	});

	it('expands each fragment once per script, and expanding again changes nothing', () => {
		for (const script of allScripts()) {
			const pasted = [...script.lua.matchAll(/^-- >>> (\S+)$/gm)].map((m) => m[1]);
			expect(new Set(pasted).size).toBe(pasted.length);
			expect(script.lua).not.toMatch(/^--@(keys|include)/m);
			const noFragments = (name: string): string => {
				throw new Error(`an expanded script asked for ${name}`);
			};
			expect(expandLua(script.lua, script.file, noFragments)).toBe(script.lua);
		}
	});

	it('refuses an include before the keys, a fragment that declares keys, and an include cycle', () => {
		const fragments: Record<string, string> = {
			'a.lua': '--@include b.lua\nlocal a = 1',
			'b.lua': '--@include a.lua',
			'keys.lua': '--@keys x',
		};
		const read = (name: string) => fragments[name];
		expect(() => expandLua('--@include a.lua', 's.lua', read)).toThrow(/--@keys must come before --@include/);
		expect(() => expandLua('--@keys x\n--@include keys.lua', 's.lua', read)).toThrow(/only a script declares its keys/);
		expect(() => expandLua('--@keys x\n--@include a.lua', 's.lua', read)).toThrow(/a\.lua -> b\.lua -> a\.lua includes itself/);
		expect(declaredKeys(expandLua('--@keys x y', 's.lua', read), 's.lua')).toEqual(['x', 'y']);
	});

	it('ships in dist exactly what the registry loads from the sources', () => {
		ensureBuilt();
		expect(scriptsDir()).toBe(SOURCES);
		for (const script of allScripts()) {
			const built = readFileSync(join(REPO_ROOT, 'dist/platform/scripts', script.file), 'utf8');
			expect({ file: script.file, same: built === script.lua }).toEqual({ file: script.file, same: true });
			expect(readLuaScript(join(REPO_ROOT, 'dist/platform/scripts', script.file))).toBe(built);
		}
	});
});
