// The floors of docs/architecture.md, checked by dependency-cruiser (test/architecture.test.ts runs
// it; `npx depcruise src streams graphviz --config .dependency-cruiser.cjs` by hand). A floor is a
// directory (src/agent.ts belongs to the agent floor with src/agent/); each may import its own files
// and the floors listed here, nothing above. A new import cycle or upward import fails the tests.

const BELOW_WORLD = ['src/core', 'src/os', 'src/errors', 'src/log', 'src/dbus', 'src/watchers', 'src/pkg', 'src/resources', 'src/graph', 'streams'];
const WORLD_FLOOR = ['src/world', 'src/cluster', 'src/etcd', 'src/tls'];

/** FLOORS: what each floor may import besides itself; `packages`, where given, are the only npm packages it may use. */
const FLOORS = {
  streams: { may: [], packages: ['rxjs'], pure: true },
  'src/core': { may: [], packages: ['rxjs'], pure: true },
  'src/os': { may: [], packages: [] },
  'src/errors': { may: [], packages: [] },
  'src/log': { may: ['src/core', 'src/errors'] },
  'src/dbus': { may: ['src/os', 'src/errors'] },
  'src/watchers': { may: ['src/core', 'src/os', 'src/errors', 'streams'] },
  'src/pkg': { may: ['src/core', 'src/os', 'src/errors', 'src/dbus', 'src/watchers', 'streams'] },
  'src/resources': { may: ['src/core', 'src/os', 'src/errors', 'src/log', 'src/dbus', 'src/watchers', 'src/pkg', 'streams'] },
  'src/graph': { may: ['src/core', 'src/errors'] },
  'src/yamlgraph': { may: ['src/core', 'src/errors', 'src/graph', 'src/resources'] },
  ...Object.fromEntries(WORLD_FLOOR.map((floor) => [floor, { may: [...BELOW_WORLD, ...WORLD_FLOOR] }])),
  'src/engine': { may: ['src/core', 'src/os', 'src/errors', 'src/log', 'src/graph', 'src/world', 'src/watchers', 'streams'] },
  // The metrics (--prometheus): engine events and the agent's state as Prometheus metrics, served over HTTP.
  'src/metrics': { may: ['src/core', 'src/errors', 'src/log', 'src/graph', 'src/engine'] },
  'src/frontend': { may: [...BELOW_WORLD, 'src/yamlgraph', 'src/world'] },
  // The agent knows no input format: of src/frontend/ it sees only the contract, types.ts.
  'src/agent': { may: [...BELOW_WORLD, ...WORLD_FLOOR, 'src/engine', 'src/frontend/types', 'src/metrics', 'graphviz'] },
  'src/cli': { may: [...BELOW_WORLD, ...WORLD_FLOOR, 'src/yamlgraph', 'src/engine', 'src/frontend', 'src/agent', 'src/metrics', 'graphviz'] },
  // graphviz/ is the pure toDot: graph types only (the writer that runs `dot` is src/agent/graphviz-file.ts).
  graphviz: { may: ['src/graph'] },
};

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** pathOf is the regular expression of a floor's files (a directory, or src/x.ts for src/x). */
const pathOf = (floor) => `^${escape(floor)}(/|\\.ts$)`;

const floorRules = Object.entries(FLOORS).flatMap(([floor, { may, packages, pure }]) => [
  {
    name: `upward-from-${floor}`,
    comment: `${floor} may import only itself and ${may.length ? may.join(', ') : 'nothing else of the repository'} (docs/architecture.md)`,
    severity: 'error',
    from: { path: pathOf(floor) },
    to: { dependencyTypes: ['local'], pathNot: [floor, ...may].map(pathOf) },
  },
  ...(packages === undefined
    ? []
    : [
        {
          name: `packages-of-${floor}`,
          comment: `${floor} may use only ${packages.length ? packages.join(', ') : 'no npm package'}${pure ? ' and no Node module' : ' and Node\'s modules'}`,
          severity: 'error',
          from: { path: pathOf(floor) },
          to: { dependencyTypes: pure ? ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown', 'core'] : ['npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'], pathNot: packages.map((name) => `^node_modules/${escape(name)}/`) },
        },
      ]),
]);

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'an import cycle', severity: 'error', from: {}, to: { circular: true } },
    { name: 'not-to-unresolvable', comment: 'an import that resolves to nothing', severity: 'error', from: {}, to: { couldNotResolve: true } },
    ...floorRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // A checkout whose node_modules is a symlink to another's still names packages node_modules/...
    preserveSymlinks: true,
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js', '.json'] },
  },
};
