// The urql client: operations are sent as trusted documents (their SHA-256, computed by
// graphql-codegen) rather than as text, queries over GET so that caches can keep them, and
// the access token with every request.
import { Client, cacheExchange, fetchExchange } from 'urql';
import { persistedExchange } from '@urql/exchange-persisted';
import type { DocumentNode } from 'graphql';
import { accessToken } from './session';

/** The hash graphql-codegen put in a document (`persistedDocuments` in codegen.ts). */
function documentHash(document: DocumentNode): string {
  const meta = (document as DocumentNode & { __meta__?: { hash?: string } }).__meta__;
  if (!meta?.hash) {
    throw new Error('a document without a hash: run `npm run codegen`');
  }
  return meta.hash;
}

export const client = new Client({
  url: '/graphql',
  exchanges: [
    cacheExchange,
    persistedExchange({
      enforcePersistedQueries: true,
      enableForMutation: true,
      preferGetForPersistedQueries: true,
      generateHash: async (_query, document) => documentHash(document),
    }),
    fetchExchange,
  ],
  fetchOptions: () => {
    const token = accessToken();
    return token ? { headers: { Authorization: `Bearer ${token}` } } : {};
  },
});
