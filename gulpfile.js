// Build pipeline: `npm run build` = gulp build.
//   clean         -> removes dist/
//   compile       -> tsc -p tsconfig.build.json (nodes/, credentials/, platform/ -> dist/)
//   copyIcons     -> light and dark SVG icons next to the compiled nodes
//   copyCodex     -> codex *.node.json files next to the compiled nodes
//   buildLua      -> platform/scripts/*.lua with their --@keys / --@include directives expanded
//                    (platform/lua-source.ts, the same expansion the runtime loader uses),
//                    read at runtime by platform/scripts.ts and by the Python services
//   bundleDriver  -> replaces dist/platform/redis-driver.js with an esbuild bundle that
//                    inlines ioredis, so package.json needs no runtime "dependencies"
const { src, dest, series, parallel } = require('gulp');
const { spawnSync } = require('node:child_process');
const { rmSync } = require('node:fs');
const path = require('node:path');
const { Transform } = require('node:stream');

function clean(done) {
	rmSync(path.join(__dirname, 'dist'), { recursive: true, force: true });
	done();
}

function compile(done) {
	const tsc = require.resolve('typescript/bin/tsc');
	const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { stdio: 'inherit', cwd: __dirname });
	done(result.status === 0 ? undefined : new Error('TypeScript compile failed'));
}

function copyIcons() {
	return src(['nodes/**/*.svg', 'credentials/**/*.svg'], { base: '.', allowEmpty: true }).pipe(dest('dist'));
}

function copyCodex() {
	return src('nodes/**/*.node.json', { base: '.' }).pipe(dest('dist'));
}

function buildLua() {
	// The expander is TypeScript; `compile` has just written its JavaScript to dist/.
	const { readLuaScript } = require('./dist/platform/lua-source');
	const expand = new Transform({
		objectMode: true,
		transform(file, _encoding, done) {
			try {
				file.contents = Buffer.from(readLuaScript(file.path), 'utf8');
				done(null, file);
			} catch (error) {
				done(error);
			}
		},
	});
	// includes/ is not shipped: every built script already holds the fragments it uses.
	return src('platform/scripts/*.lua', { base: '.' }).pipe(expand).pipe(dest('dist'));
}

async function bundleDriver() {
	const esbuild = require('esbuild');
	await esbuild.build({
		entryPoints: [path.join(__dirname, 'platform/redis-driver.ts')],
		outfile: path.join(__dirname, 'dist/platform/redis-driver.js'),
		bundle: true,
		platform: 'node',
		format: 'cjs',
		target: 'node20',
		minify: false,
		legalComments: 'inline',
		logLevel: 'warning',
	});
}

exports.clean = clean;
exports.compile = compile;
exports.copyIcons = copyIcons;
exports.copyCodex = copyCodex;
exports.buildLua = buildLua;
exports.bundleDriver = bundleDriver;
exports.build = series(clean, compile, parallel(copyIcons, copyCodex, buildLua, bundleDriver));
exports.default = exports.build;
