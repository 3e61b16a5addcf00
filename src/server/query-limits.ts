import {
  GraphQLError, Kind, getNamedType, getNullableType, isListType, isObjectType, isInterfaceType,
  type FieldNode, type FragmentDefinitionNode, type GraphQLNamedType, type SelectionSetNode, type ValidationRule,
} from 'graphql';

export interface QueryLimits {
  maxDepth: number;
  maxComplexity: number;
  /** Page size assumed for a `first` given as a variable (worst case). */
  maxPageSize: number;
  /** Page size assumed for a `first` left out. */
  defaultPageSize: number;
}

/**
 * A validation rule that refuses operations nested deeper than `maxDepth` or estimated to cost
 * more than `maxComplexity`. Cost: every field costs 1 plus its children times a multiplier:
 * the `first` argument of a paged field (a variable counts as the maximum page size, absent as
 * the default), 10 for other list fields (chunks, shares, parts), 1 otherwise. A connection's
 * `edges` list is already covered by its `first`. Introspection fields are not counted.
 */
export function queryLimitsRule(limits: QueryLimits): ValidationRule {
  return (context) => {
    const fragments = new Map<string, FragmentDefinitionNode>();
    for (const d of context.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
    const schema = context.getSchema();

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

    const walk = (set: SelectionSetNode, parent: GraphQLNamedType, seen: Set<string>): { cost: number; depth: number } => {
      let cost = 0;
      let depth = 0;
      for (const sel of set.selections) {
        if (sel.kind === Kind.FIELD) {
          if (sel.name.value.startsWith('__')) continue;
          const def = isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[sel.name.value] : undefined;
          if (!def) continue; // unknown fields are reported by the standard rules
          let childCost = 0;
          let childDepth = 0;
          if (sel.selectionSet) ({ cost: childCost, depth: childDepth } = walk(sel.selectionSet, getNamedType(def.type), seen));
          const hasFirst = def.args.some((a) => a.name === 'first');
          cost += 1 + multiplier(sel, getNullableType(def.type), hasFirst) * childCost;
          depth = Math.max(depth, 1 + childDepth);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          const type = sel.typeCondition ? schema.getType(sel.typeCondition.name.value) ?? parent : parent;
          const r = walk(sel.selectionSet, type, seen);
          cost += r.cost;
          depth = Math.max(depth, r.depth);
        } else {
          const name = sel.name.value;
          const frag = fragments.get(name);
          if (!frag || seen.has(name)) continue; // cycles are reported by NoFragmentCycles
          const type = schema.getType(frag.typeCondition.name.value) ?? parent;
          const r = walk(frag.selectionSet, type, new Set([...seen, name]));
          cost += r.cost;
          depth = Math.max(depth, r.depth);
        }
      }
      return { cost, depth };
    };

    return {
      OperationDefinition(op) {
        const root = schema.getRootType(op.operation);
        if (!root) return;
        const { cost, depth } = walk(op.selectionSet, root, new Set());
        if (depth > limits.maxDepth) {
          context.reportError(new GraphQLError(`query depth ${depth} exceeds the maximum of ${limits.maxDepth}`, { nodes: [op], extensions: { code: 'BAD_USER_INPUT', depth, maxDepth: limits.maxDepth } }));
        } else if (cost > limits.maxComplexity) {
          context.reportError(new GraphQLError(`query cost ${cost} exceeds the maximum of ${limits.maxComplexity}`, { nodes: [op], extensions: { code: 'BAD_USER_INPUT', cost, maxComplexity: limits.maxComplexity } }));
        }
      },
    };
  };
}
