/**
 * The modules under mutation testing and the unit tests that cover them. A mutant in a group's
 * source runs only that group's tests (pure unit tests, or ones that start their own nats-server
 * or database in well under a second), so one mutant costs one package's tests, not the suite's.
 */
export type MutationGroup = {
  /** What the README's score table calls the group. */
  readonly name: string;
  /** Stryker `mutate` globs, relative to the repository root. */
  readonly mutate: readonly string[];
  /** Test files run for a mutant of this group (Node expands the globs). */
  readonly tests: readonly string[];
};

// libs/cat comes last: it holds the most mutants by far, so the other scores arrive first.
export const MUTATION_GROUPS: readonly MutationGroup[] = [
  {
    name: 'libs/protocol',
    mutate: ['libs/protocol/src/*.ts', '!libs/protocol/src/*.test.ts'],
    tests: ['libs/protocol/src/*.test.ts'],
  },
  {
    name: 'services/chat',
    mutate: ['services/chat/src/**/*.ts', '!services/chat/src/**/*.test.ts', '!services/chat/src/main.ts'],
    tests: ['services/chat/src/*.test.ts'],
  },
  {
    name: 'services/assessment (rules, repository)',
    mutate: ['services/assessment/src/rules.ts', 'services/assessment/src/repository.ts'],
    tests: ['services/assessment/src/rules*.test.ts', 'services/assessment/src/repository*.test.ts'],
  },
  {
    name: 'services/gateway (routes, tokens)',
    mutate: ['services/gateway/src/routes.ts', 'services/gateway/src/tokens.ts'],
    tests: ['services/gateway/src/routes*.test.ts', 'services/gateway/src/tokens*.test.ts'],
  },
  {
    name: 'libs/qti',
    mutate: ['libs/qti/src/*.ts', '!libs/qti/src/*.test.ts'],
    tests: ['libs/qti/src/*.test.ts'],
  },
  {
    name: 'libs/cat',
    // Not mutated: the CLI (cli.ts and its cli-*.ts commands: argument parsing and output, covered
    // by the CLI's tests, which start processes) and the SVG renderers (svg.ts, curves-svg.ts,
    // calibration-svg.ts: presentation, pure string building over the library's figures).
    mutate: [
      'libs/cat/src/**/*.ts',
      '!libs/cat/src/**/*.test.ts',
      '!libs/cat/src/cli.ts',
      '!libs/cat/src/cli-*.ts',
      '!libs/cat/src/svg.ts',
      '!libs/cat/src/curves-svg.ts',
      '!libs/cat/src/calibration-svg.ts',
    ],
    // The CLI's tests start processes; the *.recovery.test.ts files are the slow statistical ones
    // (parameter recovery from thousands of simulees, seconds each), which `npm test` runs and a
    // mutant does not: the fast tests beside them pin the same code on small inputs.
    tests: ['libs/cat/src/*.test.ts', '!libs/cat/src/cli*.test.ts', '!libs/cat/src/*.recovery.test.ts'],
  },
];
