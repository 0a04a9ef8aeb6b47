// Static checks of a workflow template against the built nodes: the node types are allowed, our
// nodes use the template credential, and every parameter is a real, visible field with a valid value.
// This catches templates that drift from the nodes' descriptions before n8n even runs them.
import { join } from 'node:path';

import type { INodeProperties, INodePropertyCollection, INodePropertyOptions, INodeTypeDescription } from 'n8n-workflow';

import { PACKAGE_NAME, REPO_ROOT, TEMPLATE_CREDENTIAL, type WorkflowFile } from '../../../scripts/lib/n8n';

export const OUR_TYPES = {
	action: `${PACKAGE_NAME}.marketingRedis`,
	trigger: `${PACKAGE_NAME}.marketingRedisTrigger`,
};

/** n8n core nodes the templates may use besides ours. */
export const CORE_TYPES = new Set(
	['manualTrigger', 'scheduleTrigger', 'code', 'if', 'set', 'noOp', 'stickyNote', 'filter', 'merge', 'switch', 'stopAndError', 'wait'].map(
		(n) => `n8n-nodes-base.${n}`,
	),
);

type Params = Record<string, unknown>;

/** A node's parameters and the version it was saved with: fields can be shown for some versions only (`@version`). */
interface Scope {
	params: Params;
	version: number;
}

export function loadDescriptions(distDir = join(REPO_ROOT, 'dist')): Record<string, INodeTypeDescription> {
	/* eslint-disable @typescript-eslint/no-require-imports */
	const { MarketingRedis } = require(join(distDir, 'nodes', 'MarketingRedis', 'MarketingRedis.node.js'));
	const { MarketingRedisTrigger } = require(join(distDir, 'nodes', 'MarketingRedisTrigger', 'MarketingRedisTrigger.node.js'));
	/* eslint-enable @typescript-eslint/no-require-imports */
	return {
		[OUR_TYPES.action]: new MarketingRedis().description,
		[OUR_TYPES.trigger]: new MarketingRedisTrigger().description,
	};
}

function valueOf(name: string, scope: Scope, props: INodeProperties[], depth = 0): unknown {
	if (name === '@version') return scope.version;
	if (name in scope.params) return scope.params[name];
	if (depth > 5) return undefined;
	const prop = props.find((p) => p.name === name && isVisible(p, scope, props, depth + 1));
	return prop?.default;
}

function isVisible(prop: INodeProperties, scope: Scope, props: INodeProperties[], depth = 0): boolean {
	const { show, hide } = prop.displayOptions ?? {};
	// Only plain value lists are checked; conditions (`_cnd`) and other `@` keys are taken as met.
	const checkable = (key: string, values: unknown) => (key === '@version' || !key.startsWith('@')) && Array.isArray(values) && values.every((v) => typeof v !== 'object');
	for (const [key, values] of Object.entries(show ?? {})) {
		if (!checkable(key, values)) continue;
		if (!(values as unknown[]).includes(valueOf(key, scope, props, depth))) return false;
	}
	for (const [key, values] of Object.entries(hide ?? {})) {
		if (!checkable(key, values)) continue;
		if ((values as unknown[]).includes(valueOf(key, scope, props, depth))) return false;
	}
	return true;
}

const isExpression = (v: unknown) => typeof v === 'string' && v.startsWith('=');

function checkValue(prop: INodeProperties, value: unknown, where: string, problems: string[]): void {
	if (isExpression(value)) return;
	if (prop.type === 'options') {
		const allowed = (prop.options as INodePropertyOptions[]).map((o) => o.value);
		if (!allowed.includes(value as string)) problems.push(`${where}: "${String(value)}" is not one of ${allowed.join(', ')}`);
	} else if (prop.type === 'multiOptions') {
		const allowed = (prop.options as INodePropertyOptions[]).map((o) => o.value);
		for (const v of (value as unknown[]) ?? []) if (!allowed.includes(v as string)) problems.push(`${where}: "${String(v)}" is not allowed`);
	} else if (prop.type === 'number' && typeof value !== 'number') {
		problems.push(`${where}: expected a number, got ${JSON.stringify(value)}`);
	} else if (prop.type === 'boolean' && typeof value !== 'boolean') {
		problems.push(`${where}: expected true or false, got ${JSON.stringify(value)}`);
	} else if (prop.type === 'collection' && value && typeof value === 'object') {
		const options = (prop.options ?? []) as INodeProperties[];
		for (const [k, v] of Object.entries(value)) {
			const sub = options.find((o) => o.name === k);
			if (!sub) problems.push(`${where}: "${k}" is not an option (${options.map((o) => o.name).join(', ')})`);
			else checkValue(sub, v, `${where}.${k}`, problems);
		}
	} else if (prop.type === 'fixedCollection' && value && typeof value === 'object') {
		const groups = (prop.options ?? []) as INodePropertyCollection[];
		for (const [k, v] of Object.entries(value)) {
			const group = groups.find((g) => g.name === k);
			if (!group) {
				problems.push(`${where}: "${k}" is not a group (${groups.map((g) => g.name).join(', ')})`);
				continue;
			}
			const entries = Array.isArray(v) ? v : [v];
			for (const entry of entries as Params[]) {
				for (const [fk, fv] of Object.entries(entry)) {
					const field = group.values.find((f) => f.name === fk);
					if (!field) problems.push(`${where}.${k}: "${fk}" is not a field`);
					else checkValue(field, fv, `${where}.${k}.${fk}`, problems);
				}
			}
		}
	}
}

/** Problems with one of our nodes' parameters, as readable lines (empty when all is well). */
export function checkOurParameters(description: INodeTypeDescription, params: Params, nodeName: string, version: number): string[] {
	const props = description.properties;
	const scope: Scope = { params, version };
	const problems: string[] = [];
	if (![description.version].flat().includes(version)) problems.push(`"${nodeName}": typeVersion ${version} is not a version of ${description.name}`);
	for (const [name, value] of Object.entries(params)) {
		const visible = props.filter((p) => p.name === name && isVisible(p, scope, props));
		if (visible.length === 0) {
			problems.push(`"${nodeName}": parameter "${name}" is not a field of this resource/operation/event`);
			continue;
		}
		checkValue(visible[0], value, `"${nodeName}".${name}`, problems);
	}
	for (const prop of props) {
		if (prop.required && prop.type !== 'notice' && isVisible(prop, scope, props) && !(prop.name in params) && prop.default === '') {
			problems.push(`"${nodeName}": required field "${prop.displayName}" (${prop.name}) is empty`);
		}
	}
	return problems;
}

/** Every problem with a template file, as readable lines. */
export function validateTemplate(workflow: WorkflowFile, descriptions: Record<string, INodeTypeDescription>): string[] {
	const problems: string[] = [];
	if (!workflow.id || workflow.id.length > 21) problems.push('needs an "id" of at most 21 characters (n8n execute --id uses it)');
	if (!workflow.name) problems.push('needs a "name"');
	const names = new Set<string>();
	for (const node of workflow.nodes) {
		if (names.has(node.name)) problems.push(`two nodes are named "${node.name}"`);
		names.add(node.name);
		const ours = node.type in descriptions;
		if (!ours && !CORE_TYPES.has(node.type)) problems.push(`"${node.name}" uses ${node.type}, which is neither ours nor an allowed core node`);
		if (ours) {
			const cred = node.credentials?.marketingRedisApi as { id?: string; name?: string } | undefined;
			if (cred?.id !== TEMPLATE_CREDENTIAL.id || cred?.name !== TEMPLATE_CREDENTIAL.name) {
				problems.push(`"${node.name}" must use the credential ${JSON.stringify(TEMPLATE_CREDENTIAL)}`);
			}
			problems.push(...checkOurParameters(descriptions[node.type], node.parameters, node.name, node.typeVersion));
		}
	}
	const sticky = workflow.nodes.find((n) => n.type === 'n8n-nodes-base.stickyNote');
	if (!sticky || String(sticky.parameters.content ?? '').length < 80) problems.push('needs a sticky note that explains it');
	if (!workflow.nodes.some((n) => n.type in descriptions)) problems.push('uses none of our nodes');
	for (const [from, outputs] of Object.entries(workflow.connections)) {
		if (!names.has(from)) problems.push(`connection from unknown node "${from}"`);
		const main = (outputs as { main?: Array<Array<{ node: string }> | null> }).main ?? [];
		for (const targets of main) for (const t of targets ?? []) if (!names.has(t.node)) problems.push(`connection to unknown node "${t.node}"`);
	}
	return problems;
}
