#!/usr/bin/env node
// Makes sure redis-server (and redis-sentinel, redis-cli) are on PATH, installing Debian's
// packages when we are root on a machine with apt-get. Tests, the bench and `npm start`
// all start their own redis-server, so this is the one thing a fresh machine lacks.
'use strict';
const { spawnSync } = require('node:child_process');

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const needed = ['redis-server', 'redis-cli', 'redis-sentinel'];
const missing = needed.filter((cmd) => !has(cmd));
if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !has('apt-get')) {
	console.error(
		`Missing ${missing.join(', ')}. Install Redis 7 first, for example: sudo apt-get install -y redis-server redis-sentinel redis-tools`,
	);
	process.exit(1);
}
console.log(`Installing ${missing.join(', ')} with apt-get ...`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const run = (args) => spawnSync('apt-get', args, { stdio: 'inherit', env }).status === 0;
if (!run(['update', '-qq']) || !run(['install', '-y', '-qq', 'redis-server', 'redis-sentinel', 'redis-tools'])) {
	console.error('apt-get could not install redis-server; install it by hand and retry');
	process.exit(1);
}
// Debian's package starts a system redis-server on 6379; we start our own, so stop it.
spawnSync('sh', ['-c', 'service redis-server stop >/dev/null 2>&1 || true'], { stdio: 'ignore' });
