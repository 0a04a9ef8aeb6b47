import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * The one expansion of our Lua sources, used by the build (gulpfile.js writes its output to
 * dist/platform/scripts/) and by the script registry (which runs it again on what it reads,
 * so tests and tsx load the sources exactly as the build would ship them). Two directives:
 *
 *   --@keys waiting inflight   the keys the script receives, in order. Becomes a `-- KEYS:`
 *                              line (read by the registry for ioredis' numberOfKeys and by
 *                              callers who pass keys by name) and `local K_waiting,
 *                              K_inflight = KEYS[1], KEYS[2]`, so the body names every key
 *                              it touches.
 *   --@include server-time.lua a fragment from includes/ next to the script, pasted in place
 *                              between marker comments, once per script however often asked
 *                              for (fragments may include fragments).
 *
 * The output keeps every comment and line break, so the built files stay readable for the
 * Python services that load them with redis-py's register_script. Expanding an expanded
 * script changes nothing.
 */

const KEYS_DIRECTIVE = /^--@keys\s+(.+?)\s*$/;
const INCLUDE_DIRECTIVE = /^--@include\s+([\w.-]+\.lua)\s*$/;
const KEYS_LINE = /^-- KEYS: ([\w ]+)$/gm;
const KEY_NAME = /^[a-z][A-Za-z0-9]*$/;

export const INCLUDES_DIR = 'includes';

function keyLines(names: string[], file: string): string[] {
	for (const name of names) {
		if (!KEY_NAME.test(name)) throw new Error(`${file}: "${name}" is not a key name for --@keys`);
	}
	// Locals, not a table: a table would be built on every call of a script that runs per job.
	const locals = names.map((name) => `K_${name}`).join(', ');
	const keys = names.map((_, i) => `KEYS[${i + 1}]`).join(', ');
	return [`-- KEYS: ${names.join(' ')}`, `local ${locals} = ${keys}`];
}

/**
 * Expands the directives of one script. `readInclude` returns a fragment's text by file name;
 * `file` only labels errors.
 */
export function expandLua(source: string, file: string, readInclude: (name: string) => string): string {
	const seen = new Set<string>();
	let declaredKeys = false;
	const expand = (text: string, from: string, chain: string[]): string[] => {
		const out: string[] = [];
		for (const line of text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n')) {
			const keys = KEYS_DIRECTIVE.exec(line);
			if (keys) {
				if (chain.length > 0) throw new Error(`${from}: only a script declares its keys, not a fragment`);
				if (declaredKeys) throw new Error(`${from}: --@keys given twice`);
				declaredKeys = true;
				out.push(...keyLines(keys[1].split(/\s+/), from));
				continue;
			}
			const include = INCLUDE_DIRECTIVE.exec(line);
			if (!include) {
				out.push(line);
				continue;
			}
			// The fragments read the K_ locals as upvalues, so they must be bound above them.
			if (!declaredKeys) throw new Error(`${from}: --@keys must come before --@include`);
			const name = include[1];
			if (chain.includes(name)) throw new Error(`${from}: ${[...chain, name].join(' -> ')} includes itself`);
			if (seen.has(name)) continue;
			seen.add(name);
			out.push(`-- >>> ${INCLUDES_DIR}/${name}`, ...expand(readInclude(name), name, [...chain, name]), `-- <<< ${INCLUDES_DIR}/${name}`);
		}
		return out;
	};
	return `${expand(source, file, []).join('\n')}\n`;
}

/** Reads `path` and expands it with the fragments in the `includes/` folder beside it. */
export function readLuaScript(path: string): string {
	const includes = join(dirname(path), INCLUDES_DIR);
	return expandLua(readFileSync(path, 'utf8'), basename(path), (name) => readFileSync(join(includes, name), 'utf8'));
}

/** The key names an expanded script declares, in the order it receives them. */
export function declaredKeys(lua: string, file: string): string[] {
	const lines = [...lua.matchAll(KEYS_LINE)];
	if (lines.length !== 1) throw new Error(`${file}: expected one --@keys declaration, found ${lines.length}`);
	return lines[0][1].split(' ');
}
