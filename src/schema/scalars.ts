import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';

const invalid = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

function toSafeInteger(value: unknown): number {
  const n = typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : typeof value === 'number' ? value : NaN;
  if (!Number.isSafeInteger(n)) throw invalid(`BigInt must be an integer within ±2^53 (got ${JSON.stringify(value)})`);
  return n;
}

/** Byte sizes and offsets: a decimal string on output; a string or an integer on input. */
export const BigIntScalar = new GraphQLScalarType({
  name: 'BigInt',
  description: 'An integer of up to 53 bits, serialised as a decimal string; accepts a string or an integer.',
  serialize: (value) => String(toSafeInteger(value)),
  parseValue: toSafeInteger,
  parseLiteral: (ast) => {
    if (ast.kind === Kind.INT || ast.kind === Kind.STRING) return toSafeInteger(ast.value);
    throw invalid('BigInt must be an integer or a decimal string');
  },
});

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'An ISO-8601 timestamp in UTC.',
  serialize: (value) => {
    const d = value instanceof Date ? value : new Date(value as string);
    if (Number.isNaN(d.getTime())) throw invalid('invalid date');
    return d.toISOString();
  },
  parseValue: (value) => {
    const d = new Date(value as string);
    if (typeof value !== 'string' || Number.isNaN(d.getTime())) throw invalid('DateTime must be an ISO-8601 string');
    return d;
  },
  parseLiteral: (ast) => {
    if (ast.kind !== Kind.STRING || Number.isNaN(new Date(ast.value).getTime())) throw invalid('DateTime must be an ISO-8601 string');
    return new Date(ast.value);
  },
});
