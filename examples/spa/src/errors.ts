import type { CombinedError } from 'urql';

/** The messages of a failed operation, by the input field they concern
 * (`extensions.field`); those that concern none under `''`. */
export function fieldErrors(error: CombinedError | undefined): Record<string, string> {
  const byField: Record<string, string> = {};
  for (const graphQLError of error?.graphQLErrors ?? []) {
    const field = graphQLError.extensions?.field;
    const key = typeof field === 'string' ? field : '';
    byField[key] = byField[key] ? `${byField[key]}; ${graphQLError.message}` : graphQLError.message;
  }
  if (error?.networkError) {
    byField[''] = error.networkError.message;
  }
  return byField;
}
