/**
 * A TypeBox union of string literals with a narrow static type: validated at run time and rendered as an
 * enum in the CRD. Shared by the training configuration's sections (schema.ts, dist-schema.ts).
 */
import { Type, type TUnsafe } from '@sinclair/typebox';

/** The union of `values`, documented by `description`, defaulting to `def`. */
export const literalUnion = <T extends readonly string[]>(values: T, description: string, def: T[number]) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description, default: def },
  ) as unknown as TUnsafe<T[number]>;
