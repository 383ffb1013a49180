export {
  ADAPTIVE_TEST_ID,
  DEMO_PROCTOR,
  DEMO_RECRUITER,
  DEMO_TEST_ID,
  EXAMPLE_TEST_ID,
  adaptiveTestDefinition,
  demoTestDefinition,
  exampleTestDefinition,
  loadDemoBank,
  seedDemo,
} from './seed.ts';
export { ADAPTIVE_SKILLS, generateAdaptiveBank } from './adaptive-bank.ts';
export type { DemoSeed } from './seed.ts';
