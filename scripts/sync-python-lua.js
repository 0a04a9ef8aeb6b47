#!/usr/bin/env node
// Copies the built Lua scripts (dist/platform/scripts/*.lua, what the node runs) into
// python/redis_manager/lua/, which the Python twin loads and `pip install ./python` ships.
// The copy is committed, so a Python install needs no Node build; test/python/
// lua-identity.test.ts fails whenever it differs from the build, and this script fixes it:
//
//   npm run build && node scripts/sync-python-lua.js          rewrite the copy
//   node scripts/sync-python-lua.js --check                   exit 1 and list what differs
const { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const built = join(root, 'dist', 'platform', 'scripts');
const copy = join(root, 'python', 'redis_manager', 'lua');

function luaFiles(dir) {
	return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.lua')).sort() : [];
}

function differences() {
	const want = luaFiles(built);
	const have = luaFiles(copy);
	const out = [];
	for (const file of want) {
		if (!have.includes(file)) out.push(`missing ${file}`);
		else if (!readFileSync(join(built, file)).equals(readFileSync(join(copy, file)))) out.push(`differs ${file}`);
	}
	for (const file of have) if (!want.includes(file)) out.push(`stale ${file}`);
	return out;
}

if (luaFiles(built).length === 0) {
	console.error(`no built scripts in ${built}: run npm run build first`);
	process.exit(2);
}
const diff = differences();
if (process.argv.includes('--check')) {
	if (diff.length > 0) {
		console.error(`python/redis_manager/lua is out of date:\n  ${diff.join('\n  ')}\nrun: node scripts/sync-python-lua.js`);
		process.exit(1);
	}
	process.exit(0);
}
mkdirSync(copy, { recursive: true });
for (const file of luaFiles(copy)) rmSync(join(copy, file));
for (const file of luaFiles(built)) writeFileSync(join(copy, file), readFileSync(join(built, file)));
console.log(diff.length === 0 ? 'python/redis_manager/lua was up to date' : `updated: ${diff.join(', ')}`);
