// Typed operations from the server's schema: `npm run codegen` writes src/gql/ (the typed
// `graphql()` function) and src/gql/persisted-documents.json, the trusted-documents manifest
// the server loads with CRM_TRUSTED_DOCUMENTS.
import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/**/*.tsx', 'src/**/*.ts', '!src/gql/**/*'],
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: {
        fragmentMasking: false,
        persistedDocuments: { hashAlgorithm: 'sha256' },
      },
      config: {
        strictScalars: true,
        scalars: { UUID: 'string', Decimal: 'string', Date: 'string', DateTime: 'string', Upload: 'File' },
        enumsAsTypes: true,
        useTypeImports: true,
      },
    },
  },
};

export default config;
