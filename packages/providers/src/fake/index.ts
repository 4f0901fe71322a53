export * from './fake-llm-client.ts';
export type { FakeFinish, FakeProvider } from './fake-protocol.ts';
export * from './fake-provider-env.ts';
export * from './fake-step.ts';
export * from './faults.ts';
export type { FakeLogEntry, FakeLoggedRequest, FakeOutcome } from './request-log.ts';
export * from './start-fake-llm-server.ts';
