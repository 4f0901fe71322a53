import { defineConfig } from 'drizzle-kit';

// Migrations are generated from the schema and committed; `npm run db:migrate` applies them (see packages/db).
export default defineConfig({
  dialect: 'postgresql',
  schema: './packages/db/src/schema.ts',
  out: './packages/db/drizzle',
  strict: true,
  verbose: true,
});
