/**
 * A Cedar policy set, parsed and validated against its schema once, then asked many times (DESIGN §5).
 *
 * Load: the policy text is split into policies (ids from `@id("…")`, else Cedar's `policyN` in source
 * order), validated in strict mode against the schema, and pre-parsed into cedar-wasm's in-memory store,
 * one slice per action named in a policy scope: a request is evaluated only against the policies that can
 * apply to its action. Any problem throws a `PolicyError` naming the policy, line and message.
 *
 * Ask: `authorize` is deny by default. Nothing permits → deny; a forbid applies → deny; any evaluation or
 * request error → deny, with the error in `errors`. A decision cache, when given, answers repeated
 * identical requests without evaluating.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type AuthorizationAnswer,
  type Context,
  checkParseSchema,
  type DetailedError,
  type Entities,
  type EntityUidJson,
  type PolicyJson,
  policySetTextToParts,
  policyToJson,
  preparsePolicySet,
  preparseSchema,
  statefulIsAuthorized,
  validate,
} from '@cedar-policy/cedar-wasm/nodejs';
import { type DecisionCache, decisionKey } from './decision-cache.ts';
import { type PolicyDiagnostic, PolicyError } from './policy-error.ts';
import type { AuthorizationRequest, Decision, DecisionEffect, EntityUid } from './types.ts';

export interface PolicySetSource {
  /** Cedar policies, text format. */
  readonly policies: string;
  /** The Cedar schema, text format (`.cedarschema`). */
  readonly schema: string;
  /** Names the set in error messages; default `policies`. */
  readonly name?: string;
  /**
   * Check every request against the schema (entity types, action applicability, context and attribute
   * types) before evaluating; default `true`. A request that does not conform is denied with the error.
   */
  readonly validateRequests?: boolean;
}

export interface PolicySet {
  readonly name: string;
  /** `sha256:` + hex SHA-256 over policy text + `\n--schema--\n` + schema text: written into every decision. */
  readonly version: string;
  /** Policy ids in source order. */
  readonly policyIds: readonly string[];
  /** Validator warnings (e.g. a policy that can never apply); the set loads regardless. */
  readonly warnings: readonly string[];
  authorize(request: AuthorizationRequest, cache?: DecisionCache): Decision;
}

/** The default policy files shipped in `policies/`. */
export const DEFAULT_POLICY_FILES: readonly string[] = Object.freeze(
  ['delegation.cedar', 'action.cedar'].map((f) =>
    fileURLToPath(new URL(`../../policies/${f}`, import.meta.url)),
  ),
);
export const DEFAULT_SCHEMA_FILE: string = fileURLToPath(
  new URL('../../policies/schema.cedarschema', import.meta.url),
);

const MAX_DIAGNOSTICS = 50;
const MAX_MESSAGE = 400;
const ANY_ACTION = '*';

/** Parses and validates `policies` against `schema`; throws `PolicyError` (`WARRANT_POLICY_INVALID`). */
export function loadPolicySet(source: PolicySetSource): PolicySet {
  const name = source.name ?? 'policies';
  if (typeof source.policies !== 'string') throw new TypeError('policies must be a string');
  if (typeof source.schema !== 'string') throw new TypeError('schema must be a string');

  const schemaCheck = checkParseSchema(source.schema);
  if (schemaCheck.type === 'failure') {
    throw new PolicyError(limit(schemaCheck.errors.map((e) => located('schema', source.schema, 0, e))));
  }

  const policies = splitPolicies(source.policies, name);
  const texts: Record<string, string> = {};
  for (const p of policies) texts[p.id] = p.text;

  const answer = validate({ schema: source.schema, policies: { staticPolicies: texts } });
  if (answer.type === 'failure') {
    throw new PolicyError(limit(answer.errors.map((e) => located(name, source.policies, 0, e))));
  }
  const byId = new Map(policies.map((p) => [p.id, p]));
  const diagnose = (v: { policyId: string; error: DetailedError }): PolicyDiagnostic => {
    const p = byId.get(v.policyId);
    return located(name, source.policies, p?.offset ?? -1, v.error, v.policyId, p?.text);
  };
  if (answer.validationErrors.length > 0)
    throw new PolicyError(limit(dedupe(answer.validationErrors.map(diagnose))));
  const warnings = dedupe(answer.validationWarnings.map(diagnose)).map(
    (d) => `${d.policyId === undefined ? '' : `${d.policyId}: `}${d.message}`,
  );

  const version = `sha256:${sha256Hex(`${source.policies}\n--schema--\n${source.schema}`)}`;
  const schemaName = `warrant:schema:${sha256Hex(source.schema)}`;
  prepare(preparseSchema(schemaName, source.schema), name);

  // One pre-parsed slice per action named in an `action == …` scope, holding those policies plus every
  // policy whose action scope is open (`action`, `action in …`); other actions get the open policies only.
  const actions = new Set<string>();
  for (const p of policies) if (p.action !== ANY_ACTION) actions.add(p.action);
  const slices = new Map<string, string>();
  for (const action of [...actions, ANY_ACTION]) {
    const slice: Record<string, string> = {};
    for (const p of policies) if (p.action === ANY_ACTION || p.action === action) slice[p.id] = p.text;
    const id = `warrant:${version}:${action}`;
    prepare(preparsePolicySet(id, { staticPolicies: slice }), name);
    slices.set(action, id);
  }

  return new CedarPolicySet(
    name,
    version,
    policies.map((p) => p.id),
    warnings,
    schemaName,
    slices,
    source.validateRequests ?? true,
  );
}

export interface PolicyFileOptions {
  readonly name?: string;
  readonly validateRequests?: boolean;
}

/**
 * Reads policy file(s) and a schema file and loads them. Several policy files are joined with `\n` in the
 * order given (the version covers the joined text); a syntax error names its file and line.
 */
export function loadPolicyFiles(
  policyPath: string | readonly string[],
  schemaPath: string,
  options: PolicyFileOptions = {},
): PolicySet {
  const paths = typeof policyPath === 'string' ? [policyPath] : [...policyPath];
  if (paths.length === 0) throw new TypeError('policyPath must name at least one file');
  const texts = paths.map((p) => readFileSync(p, 'utf8'));
  // Parse each file on its own first, so that a syntax error is reported against its file and line.
  if (paths.length > 1) for (const [i, text] of texts.entries()) splitPolicies(text, paths[i]!);
  return loadPolicySet({
    policies: texts.join('\n'),
    schema: readFileSync(schemaPath, 'utf8'),
    name: options.name ?? paths.map((p) => basename(p)).join('+'),
    ...(options.validateRequests === undefined ? {} : { validateRequests: options.validateRequests }),
  });
}

/** The policies shipped in `policies/` (delegation and per-call), with their schema. */
export function loadDefaultPolicySet(options: PolicyFileOptions = {}): PolicySet {
  return loadPolicyFiles(DEFAULT_POLICY_FILES, DEFAULT_SCHEMA_FILE, { name: 'default', ...options });
}

class CedarPolicySet implements PolicySet {
  readonly name: string;
  readonly version: string;
  readonly policyIds: readonly string[];
  readonly warnings: readonly string[];
  readonly #schemaName: string;
  readonly #slices: ReadonlyMap<string, string>;
  readonly #validateRequests: boolean;

  constructor(
    name: string,
    version: string,
    policyIds: readonly string[],
    warnings: readonly string[],
    schemaName: string,
    slices: ReadonlyMap<string, string>,
    validateRequests: boolean,
  ) {
    this.name = name;
    this.version = version;
    this.policyIds = Object.freeze([...policyIds]);
    this.warnings = Object.freeze([...warnings]);
    this.#schemaName = schemaName;
    this.#slices = slices;
    this.#validateRequests = validateRequests;
    Object.freeze(this);
  }

  authorize(request: AuthorizationRequest, cache?: DecisionCache): Decision {
    if (cache === undefined) return this.#evaluate(request);
    const key = decisionKey(request, this.version);
    const cached = cache.get(key);
    if (cached !== undefined) return cached;
    const decision = this.#evaluate(request);
    cache.set(key, decision);
    return decision;
  }

  #evaluate(request: AuthorizationRequest): Decision {
    let answer: AuthorizationAnswer;
    try {
      const slice = this.#slices.get(actionKey(request.action)) ?? this.#slices.get(ANY_ACTION)!;
      answer = statefulIsAuthorized({
        principal: request.principal,
        action: request.action,
        resource: request.resource,
        context: request.context as Context,
        entities: request.entities as Entities,
        preparsedPolicySetId: slice,
        preparsedSchemaName: this.#schemaName,
        validateRequest: this.#validateRequests,
      });
    } catch (cause) {
      return decided(
        'deny',
        [],
        [`request rejected: ${clip(String((cause as Error)?.message ?? cause))}`],
        this.version,
      );
    }
    if (answer.type === 'failure') {
      return decided(
        'deny',
        [],
        answer.errors.map((e) => `request rejected: ${clip(e.message)}`),
        this.version,
      );
    }
    const { decision, diagnostics } = answer.response;
    const errors = diagnostics.errors.map((e) => `${e.policyId}: ${clip(e.error.message)}`);
    if (decision === 'allow' && errors.length > 0) return decided('deny', [], errors, this.version);
    return decided(decision, diagnostics.reason, errors, this.version);
  }
}

function decided(
  decision: DecisionEffect,
  reasons: readonly string[],
  errors: readonly string[],
  policyVersion: string,
): Decision {
  return Object.freeze({
    decision,
    reasons: Object.freeze([...reasons]),
    errors: Object.freeze([...errors]),
    policyVersion,
  });
}

interface ParsedPolicy {
  readonly id: string;
  readonly text: string;
  /** Offset of `text` in the source text (UTF-16 units), -1 when not found verbatim. */
  readonly offset: number;
  /** `actionKey` of an `action == …` scope, or `*` for any other action scope. */
  readonly action: string;
}

/** Splits policy text into policies in source order, with their ids and action scopes. */
function splitPolicies(text: string, source: string): ParsedPolicy[] {
  const parts = policySetTextToParts(text);
  if (parts.type === 'failure')
    throw new PolicyError(limit(parts.errors.map((e) => located(source, text, 0, e))));
  if (parts.policy_templates.length > 0) {
    throw new PolicyError(
      parts.policy_templates.map((t) => ({
        source,
        ...lineColumn(text, text.indexOf(t)),
        message: 'templates (policies with ?principal or ?resource slots) are not supported',
      })),
    );
  }
  // Cedar returns the policies ordered by generated id (policy0, policy1, policy10, …): restore source order.
  const used = new Set<number>();
  const located_ = parts.policies.map((policyText) => {
    let at = text.indexOf(policyText);
    while (at !== -1 && used.has(at)) at = text.indexOf(policyText, at + 1);
    if (at !== -1) used.add(at);
    return { text: policyText, offset: at };
  });
  located_.sort((a, b) => (a.offset === -1 ? Infinity : a.offset) - (b.offset === -1 ? Infinity : b.offset));

  const seen = new Map<string, number>();
  const problems: PolicyDiagnostic[] = [];
  const policies = located_.map(({ text: policyText, offset }, index): ParsedPolicy => {
    const json = policyToJson(policyText);
    if (json.type === 'failure') {
      problems.push(...json.errors.map((e) => located(source, text, offset, e, undefined, policyText)));
      return { id: `policy${index}`, text: policyText, offset, action: ANY_ACTION };
    }
    const id = json.json.annotations?.['id'] ?? `policy${index}`;
    if (seen.has(id)) {
      problems.push({ source, policyId: id, ...lineColumn(text, offset), message: 'duplicate policy id' });
    }
    seen.set(id, index);
    return { id, text: policyText, offset, action: scopedAction(json.json) };
  });
  if (problems.length > 0) throw new PolicyError(limit(problems));
  return policies;
}

function scopedAction(policy: PolicyJson): string {
  const scope = policy.action;
  if (scope.op !== '==' || !('entity' in scope)) return ANY_ACTION;
  const uid = entityUid(scope.entity);
  return uid === undefined ? ANY_ACTION : actionKey(uid);
}

function entityUid(uid: EntityUidJson): EntityUid | undefined {
  const plain = '__entity' in uid ? uid.__entity : uid;
  return typeof plain?.type === 'string' && typeof plain.id === 'string' ? plain : undefined;
}

function actionKey(uid: EntityUid): string {
  return `${uid?.type}::${JSON.stringify(uid?.id)}`;
}

/**
 * A diagnostic located in `text`: Cedar reports UTF-8 byte offsets relative to the text it was given,
 * which is `policyText` (found at `offset` in `text`) for per-policy errors, else `text` itself.
 */
function located(
  source: string,
  text: string,
  offset: number,
  error: DetailedError,
  policyId?: string,
  policyText?: string,
): PolicyDiagnostic {
  const message = error.message.replace(/^for policy `[^`]*`, /, '');
  const label = error.sourceLocations?.find((l) => l.label)?.label;
  const detail = [message, label, error.help].filter(
    (s): s is string => typeof s === 'string' && s.length > 0,
  );
  const loc = error.sourceLocations?.[0];
  let position: { line?: number; column?: number } = {};
  if (loc !== undefined && offset !== -1) {
    const base = policyText ?? text;
    const within = Buffer.from(base, 'utf8').subarray(0, loc.start).toString('utf8').length;
    position = lineColumn(text, (policyText === undefined ? 0 : offset) + within);
  } else if (policyText !== undefined && offset !== -1) {
    position = lineColumn(text, offset);
  }
  return {
    source,
    ...(policyId === undefined ? {} : { policyId }),
    ...position,
    message: clip(detail.join('; ')),
  };
}

function lineColumn(text: string, index: number): { line?: number; column?: number } {
  if (index < 0) return {};
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return { line, column: index - before.lastIndexOf('\n') };
}

function dedupe(diagnostics: PolicyDiagnostic[]): PolicyDiagnostic[] {
  const seen = new Set<string>();
  return diagnostics.filter((d) => {
    const key = `${d.policyId}|${d.line}|${d.column}|${d.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function limit(diagnostics: PolicyDiagnostic[]): PolicyDiagnostic[] {
  return diagnostics.slice(0, MAX_DIAGNOSTICS);
}

function prepare(
  answer: { type: 'success' } | { type: 'failure'; errors: DetailedError[] },
  source: string,
): void {
  if (answer.type === 'failure') {
    throw new PolicyError(answer.errors.map((e) => ({ source, message: clip(e.message) })));
  }
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
