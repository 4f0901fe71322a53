export * from './create-database.ts';
export * from './db.ts';
export * from './group-commit-writer.ts';
export * from './migrate.ts';
export * from './pg-error-code.ts';
export * from './schema.ts';
export * from './task-store.ts';
