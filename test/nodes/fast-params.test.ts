import { type IExecuteFunctions, type INodeExecutionData, type INodeType } from 'n8n-workflow';

import { actionNodeDescription } from '../../harness/n8n-engine';
import { registerNodeType, runNode } from '../helpers/n8n';
import { NOT_FAST, parseItemPath, readFast } from '../../nodes/shared/fast-params';

/**
 * The fast field reads (nodes/shared/fast-params.ts) must give exactly what n8n's own
 * getNodeParameter gives, and must step aside for everything else. A probe node reads each
 * field both ways inside a real n8n execution and reports both.
 */
const FIELDS: Record<string, string> = {
	plain: '={{ $json.id }}',
	tight: '={{$json.n}}',
	nested: '={{ $json.user.email }}',
	quoted: '={{ $json["first name"] }}',
	single: "={{ $json['first name'] }}",
	index: '={{ $json.tags[1] }}',
	object: '={{ $json.obj }}',
	falsy: '={{ $json.flag }}',
	zero: '={{ $json.zero }}',
	length: '={{ $json.tags.length }}',
	missing: '={{ $json.missing }}',
	deepMissing: '={{ $json.user.nothing.here }}',
	method: '={{ $json.id.toUpperCase() }}',
	template: '=id-{{ $json.id }}',
	twoBlocks: '={{ $json.id }}{{ $json.n }}',
	blocked: '={{ $json.constructor }}',
	nul: '={{ $json.nul }}',
	other: '={{ $now.year }}',
	arith: '={{ $json.n + 1 }}',
	optional: '={{ $json.user?.email }}',
	staticText: 'just text',
	staticNumber: 3600 as unknown as string,
	staticFalse: false as unknown as string,
	collection: { inner: '={{ $json.id }}' } as unknown as string,
};
const FAST = ['plain', 'tight', 'nested', 'quoted', 'single', 'index', 'object', 'falsy', 'zero', 'length', 'staticText', 'staticNumber', 'staticFalse'];

class PathProbe implements INodeType {
	description = actionNodeDescription({
		name: 'pathProbe',
		displayName: 'Path Probe',
		description: 'Reads fields through the fast path and through n8n',
		defaultName: 'Probe',
		credentialRequired: false,
		properties: Object.keys(FIELDS).map((name) => ({ displayName: name, name, type: 'string' as const, default: '' })),
	});

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const out: INodeExecutionData[] = [];
		this.getInputData().forEach((_item, i) => {
			const json: Record<string, unknown> = {};
			for (const name of Object.keys(FIELDS)) {
				const fast = readFast(this, name, i, undefined);
				let slow: unknown;
				try {
					slow = this.getNodeParameter(name, i);
				} catch (error) {
					slow = `error: ${(error as Error).message}`;
				}
				json[name] = { fast: fast === NOT_FAST ? 'NOT_FAST' : fast, slow };
			}
			// An unset field gives the caller's fallback, as getNodeParameter does; without one, n8n decides.
			json.unset = { fast: readFast(this, 'notAField', i, 'fallback'), slow: this.getNodeParameter('notAField', i, 'fallback') };
			json.unsetNoFallback = { fast: readFast(this, 'notAField', i, undefined) === NOT_FAST ? 'NOT_FAST' : 'fast', slow: null };
			out.push({ json: json as never, pairedItem: { item: i } });
		});
		return [out];
	}
}

registerNodeType('pathProbe', new PathProbe());

describe('fast field reads', () => {
	it('parses only whole-field $json property paths', () => {
		expect(parseItemPath('={{ $json.a.b }}')).toEqual(['a', 'b']);
		expect(parseItemPath('={{ $json["x y"][2] }}')).toEqual(['x y', '2']);
		expect(parseItemPath('={{ $json.a }} ')).toBeNull();
		expect(parseItemPath('={{ $json.__proto__ }}')).toBeNull();
		expect(parseItemPath('={{ $json }}')).toBeNull();
		expect(parseItemPath('{{ $json.a }}')).toBeNull();
		expect(parseItemPath(42)).toBeNull();
	});

	it('returns what n8n returns for plain paths, and steps aside otherwise', async () => {
		const items = [
			{ id: 'u1', n: 7, user: { email: 'a@x.io' }, 'first name': 'Ann', tags: ['a', 'b'], obj: { k: [1, { z: true }] }, flag: false, zero: 0, nul: null },
			{ id: 'u2', n: -1.5, user: { email: 'b@x.io' }, 'first name': 'Bob', tags: ['c', 'd', 'e'], obj: {}, flag: true, zero: 0, nul: null },
		];
		const result = await runNode({ nodeType: 'pathProbe', parameters: FIELDS, items });
		expect(result.error).toBeUndefined();
		expect(result.outputs[0]).toHaveLength(2);
		for (const row of result.outputs[0]) {
			for (const name of Object.keys(FIELDS)) {
				const { fast, slow } = row[name] as { fast: unknown; slow: unknown };
				if (FAST.includes(name)) {
					expect({ name, fast }).toEqual({ name, fast: slow });
				} else {
					expect({ name, fast }).toEqual({ name, fast: 'NOT_FAST' });
				}
			}
		}
		expect((result.outputs[0][1].object as { fast: unknown }).fast).toEqual({});
		expect((result.outputs[0][0].length as { fast: unknown }).fast).toBe(2);
		expect((result.outputs[0][0].staticNumber as { fast: unknown }).fast).toBe(3600);
		expect(result.outputs[0][0].unset).toEqual({ fast: 'fallback', slow: 'fallback' });
		expect((result.outputs[0][0].unsetNoFallback as { fast: unknown }).fast).toBe('NOT_FAST');
	});
});
