// Compares schema.graphql with the one of a base commit (default: the previous commit) and
// fails when a change is breaking and CHANGELOG.md does not name it (by its path, as
// `Type.field` or `Type.field.argument`, the way graphql-inspector reports it).
//
//   node .ci/schema/check.mjs [BASE]
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { CriticalityLevel, diff } from '@graphql-inspector/core';

const root = new URL('../../', import.meta.url);
const base = process.argv[2] ?? 'HEAD~1';
let previous;
try {
  previous = execFileSync('git', ['show', `${base}:schema.graphql`], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'],
  });
} catch {
  console.log(`schema check: no schema.graphql at ${base}, nothing to compare`);
  process.exit(0);
}
const current = readFileSync(new URL('schema.graphql', root), 'utf8');
const changes = await diff(buildSchema(previous), buildSchema(current));
const changelog = readFileSync(new URL('CHANGELOG.md', root), 'utf8');
const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
const dangerous = changes.filter((c) => c.criticality.level === CriticalityLevel.Dangerous);
console.log(`schema check against ${base}: ${changes.length} change(s), ${breaking.length} breaking, ${dangerous.length} dangerous`);
for (const change of dangerous) console.log(`  dangerous: ${change.message}`);
const unnamed = breaking.filter((change) => !change.path || !changelog.includes(change.path));
for (const change of breaking) {
  const named = !unnamed.includes(change);
  console.log(`  breaking${named ? ' (in CHANGELOG.md)' : ''}: ${change.message} [${change.path}]`);
}
if (unnamed.length > 0) {
  console.error(`\nFAIL: ${unnamed.length} breaking change(s) that CHANGELOG.md does not name; add each path above to CHANGELOG.md.`);
  process.exit(1);
}
