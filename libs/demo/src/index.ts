export { DEMO_PROCTOR, DEMO_RECRUITER, DEMO_TEST_ID, demoTestDefinition, loadDemoBank, seedDemo } from './seed.ts';
export type { DemoSeed } from './seed.ts';
