import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type { GraphQLArmorCallbackConfiguration } from '@escape.tech/graphql-armor-types';
import {
  GraphQLError, Kind, getNamedType, parse, validate, type GraphQLSchema, getNullableType, isListType, isObjectType, isInterfaceType,
  type FieldNode, type FragmentDefinitionNode, type GraphQLNamedType, type SelectionSetNode, type ValidationContext, type ValidationRule,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
  /** Page size assumed for a `first` given as a variable (worst case). */
  maxPageSize: number;
  /** Page size assumed for a `first` left out. */
  defaultPageSize: number;
}

/** Every limit a GraphQL document is checked against before it runs (HTTP and graphql-ws alike). */
export interface RequestLimits extends QueryLimits {
  /** Aliased fields per operation (fragments counted as often as they are spread). */
  maxAliases: number;
  /** Directives per operation. */
  maxDirectives: number;
  /** Root fields of a mutation: mutations one request may run. */
  maxMutations: number;
  /** Lexical tokens per document: the parser stops at this many (graphql-js's `maxTokens`). */
  maxTokens: number;
}

/**
 * The validation rules enforcing `limits`: depth (GraphQL Armor, fragments flattened, so depth
 * counts fields), aliases and directives (GraphQL Armor), cost (`queryLimitsRule`), mutations per
 * request (`maxMutationsRule`). Each is linear in the document: a fragment is measured once
 * however often it is spread. A refusal is a validation error with code BAD_USER_INPUT and
 * `extensions.limit` naming the limit. The token limit is not a rule: pass `maxTokens` to the
 * parser (see `RequestLimits.maxTokens`).
 */
export function requestLimitRules(limits: RequestLimits): ValidationRule[] {
  const armor = (limit: string): GraphQLArmorCallbackConfiguration & { exposeLimits: boolean } => ({
    exposeLimits: true,
    propagateOnRejection: false, // a thrown error escapes validate(): report it instead
    onReject: [(ctx, err) => ctx?.reportError(limitError(err.message.replace(/^Syntax Error: /, ''), limit))],
  });
  return [
    maxDepthRule({ n: limits.maxDepth, flattenFragments: true, ignoreIntrospection: true, ...armor('depth') }),
    maxAliasesRule({ n: limits.maxAliases, ...armor('aliases') }),
    maxDirectivesRule({ n: limits.maxDirectives, ...armor('directives') }),
    queryLimitsRule(limits),
    maxMutationsRule(limits.maxMutations),
  ];
}

/**
 * Checks a document's text against `limits` before anything else looks at it: parsing stops
 * after `maxTokens` tokens, then only the limit rules run (one linear pass), so an abusive
 * document is refused in milliseconds, before the standard validation rules (some of which are
 * quadratic in the document) see it. Returns the refusals (BAD_USER_INPUT, `extensions.limit`);
 * none for a document within the limits, or one with a syntax error (the caller's own parse
 * reports that). Documents found within the limits are remembered (up to 500 short ones), so a
 * client's repeated operations are checked once.
 */
export function limitChecker(schema: GraphQLSchema, limits: RequestLimits): (query: string) => readonly GraphQLError[] {
  const rules = requestLimitRules(limits);
  const accepted = new Set<string>();
  return (query) => {
    if (accepted.has(query)) return [];
    let document;
    try {
      document = parse(query, { maxTokens: limits.maxTokens });
    } catch (e) {
      const tooLong = e instanceof GraphQLError && /more tha[nt] \d+ tokens/.test(e.message); // graphql 16 says "more that"
      return tooLong ? [limitError(`the document has more than ${limits.maxTokens} tokens`, 'tokens', { maxTokens: limits.maxTokens })] : [];
    }
    const errors = validate(schema, document, rules);
    if (errors.length === 0 && query.length <= 10_000) {
      if (accepted.size >= 500) accepted.clear();
      accepted.add(query);
    }
    return errors;
  };
}

const limitError = (message: string, limit: string, extra: Record<string, unknown> = {}) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', limit, ...extra } });

/**
 * A validation rule that refuses operations estimated to cost more than `maxComplexity`.
 * Cost: every field costs 1 plus its children times a multiplier: the `first` argument of a
 * paged field (a variable counts as the maximum page size, absent as the default), 10 for other
 * list fields (chunks, shares, parts), 1 otherwise. A connection's `edges` list is already
 * covered by its `first`. Introspection fields are not counted. Linear in the document: each
 * fragment's cost is computed once (it depends only on the fragment, whose type condition fixes
 * its type) and reused at every spread; costs may grow exponentially, their computation does not.
 */
export function queryLimitsRule(limits: Pick<QueryLimits, 'maxComplexity' | 'maxPageSize' | 'defaultPageSize'>): ValidationRule {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const schema = context.getSchema();
    const fragmentCost = new Map<string, number>();
    const inProgress = new Set<string>();

    const multiplier = (node: FieldNode, type: ReturnType<typeof getNullableType>, hasFirst: boolean): number => {
      const first = node.arguments?.find((a) => a.name.value === 'first');
      if (first) {
        if (first.value.kind === Kind.INT) return Math.max(1, Number(first.value.value));
        if (first.value.kind === Kind.VARIABLE) return limits.maxPageSize;
        return limits.defaultPageSize;
      }
      if (hasFirst) return limits.defaultPageSize;
      if (isListType(type) && node.name.value !== 'edges') return 10;
      return 1;
    };

    const costOfFragment = (name: string): number => {
      const known = fragmentCost.get(name);
      if (known !== undefined) return known;
      const frag = fragments.get(name);
      if (!frag || inProgress.has(name)) return 0; // unknown fragments and cycles are reported by the standard rules
      const type = schema.getType(frag.typeCondition.name.value);
      if (!type) return 0;
      inProgress.add(name);
      const cost = walk(frag.selectionSet, type);
      inProgress.delete(name);
      fragmentCost.set(name, cost);
      return cost;
    };

    const walk = (set: SelectionSetNode, parent: GraphQLNamedType): number => {
      let cost = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          if (sel.name.value.startsWith('__')) continue;
          const def = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[sel.name.value] : undefined;
          if (!def) continue; // unknown fields are reported by the standard rules
          const childCost = sel.selectionSet ? walk(sel.selectionSet, getNamedType(def.type)) : 0;
          const hasFirst = def.args.some((a) => a.name === 'first');
          cost += 1 + multiplier(sel, getNullableType(def.type), hasFirst) * childCost;
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          const type = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) ?? parent : parent;
          cost += walk(sel.selectionSet, type);
        } else {
          cost += costOfFragment(sel.name.value);
        }
      }
      return cost;
    };

    return {
      OperationDefinition(op) {
        const root = schema.getRootType(op.operation);
        if (!root) return;
        const cost = walk(op.selectionSet, root);
        if (cost > limits.maxComplexity) {
          context.reportError(limitError(`query cost ${cost} exceeds the maximum of ${limits.maxComplexity}`, 'cost', { cost, maxComplexity: limits.maxComplexity }));
        }
      },
    };
  };
}

/**
 * Refuses a mutation with more than `max` root fields (e.g. 50 aliased `signUp`s in one request):
 * each root field of a mutation is an operation of its own. Fragments spread at the root count
 * their fields each time, measured once.
 */
export function maxMutationsRule(max: number): ValidationRule {
  return (context: ValidationContext) => {
    const counted = new Map<string, number>();
    const count = (set: SelectionSetNode, seen: Set<string>): number => {
      let n = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) n += sel.name.value.startsWith('__') ? 0 : 1;
        else if (sel.kind === Kind.INLINE_FRAGMENT) n += count(sel.selectionSet, seen);
        else {
          const name = sel.name.value;
          if (!counted.has(name)) {
            const frag = context.getFragment(name);
            if (!frag || seen.has(name)) continue; // cycles are reported by NoFragmentCycles
            counted.set(name, count(frag.selectionSet, new Set([...seen, name])));
          }
          n += counted.get(name)!;
        }
      }
      return n;
    };
    return {
      OperationDefinition(op) {
        if (op.operation !== 'mutation') return;
        const n = count(op.selectionSet, new Set());
        if (n > max) context.reportError(limitError(`a request may run at most ${max} mutations (this one has ${n})`, 'mutations', { mutations: n, maxMutations: max }));
      },
    };
  };
}
