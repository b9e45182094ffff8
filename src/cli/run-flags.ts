import type { FlagSpec } from './flags.js';

// How long (`--reload-quiet`) a changed graph file must stay unchanged before it is read.
const DEFAULT_RELOAD_QUIET_MS = 300;

// The flags of every command that reads a YAML graph.
const GRAPH_FLAGS: readonly FlagSpec[] = [
  { name: 'yaml', aliases: ['file'], type: 'string', doc: 'the YAML graph to run' },
  { name: 'no-autoedges', type: 'bool', doc: 'do not add automatic edges' },
  { name: 'no-autogroup', type: 'bool', doc: 'do not group resources automatically' },
  { name: 'strict', type: 'bool', doc: 'treat unknown YAML keys as errors, not warnings' },
];

/** YAML_RUN_FLAGS are the YAML frontend's flags of `mgmt run`. */
export const YAML_RUN_FLAGS: readonly FlagSpec[] = [
  ...GRAPH_FLAGS,
  { name: 'no-watch', type: 'bool', doc: 'do not watch the YAML file for changes (SIGHUP still reloads it)' },
  { name: 'reload-quiet', type: 'int', default: DEFAULT_RELOAD_QUIET_MS, doc: 'reload a changed YAML file (or on SIGHUP) only after it went this many ms unchanged and no process holds it open for writing: saved by rename = after the pause, > or >> = after the writer closed it' },
];

/** AGENT_FLAGS are the flags of `mgmt run` that every frontend shares: the agent's (mgmt's names). */
export const AGENT_FLAGS: readonly FlagSpec[] = [
  { name: 'converged-timeout', type: 'int', default: -1, doc: 'exit after this many seconds converged (0 = as soon as converged, -1 = run forever)' },
  { name: 'graphviz', type: 'string', doc: 'write the graph as DOT to this file after each swap (.svg/.png also render it)' },
  { name: 'graphviz-filter', type: 'string', default: 'dot', doc: 'graphviz layout program: dot neato twopi circo fdp sfdp patchwork osage' },
  { name: 'hostname', type: 'string', doc: 'this host\'s name (default: the system hostname)' },
  { name: 'prefix', type: 'string', doc: 'working directory for state (default /var/lib/mgmt as root, else ~/.cache/mgmt); refused unless root\'s or the agent user\'s, writable by no one else, and writable at all' },
  { name: 'tmp-prefix', type: 'bool', doc: 'use a fresh temporary working directory' },
  { name: 'noop', type: 'bool', doc: 'check only: report what would change, change nothing' },
  { name: 'sema', type: 'int', default: -1, doc: 'at most N checkApply runs at once (N > 0; -1 = no limit)' },
  { name: 'pkg-backend', type: 'choice', choices: ['auto', 'packagekit', 'apt'], default: 'auto', doc: 'pkg backend: PackageKit over D-Bus, apt/dpkg, or auto (PackageKit when it answers on the system bus)' },
  { name: 'seeds', type: 'string', repeatable: true, doc: 'etcd client URLs of a cluster to join (comma-separated or repeated; host:port means https://, or http:// with --insecure); none = start our own etcd' },
  { name: 'no-server', type: 'bool', doc: 'never run an etcd server: with --seeds a pure client, without them the local World' },
  { name: 'etcd-binary', type: 'string', doc: 'the etcd server binary (default: etcd on PATH, Debian package etcd-server)' },
  // The defaults are bare host:port, so that they take the scheme --insecure chooses, as the operator's do.
  { name: 'client-urls', type: 'string', default: '127.0.0.1:2379', doc: 'client URLs our etcd serves on (comma-separated; host:port means https://, or http:// with --insecure)' },
  { name: 'server-urls', aliases: ['peer-urls'], type: 'string', default: '127.0.0.1:2380', doc: 'peer URLs our etcd serves on (comma-separated; host:port means https://, or http:// with --insecure)' },
  { name: 'insecure', type: 'bool', doc: 'plaintext etcd (http:// URLs) without certificates or authentication, for labs and tests: anyone who reaches its ports can read and forge every host\'s exports; warns at every start unless all URLs are loopback' },
  { name: 'token', type: 'string', doc: 'join token (mgmt token create on a server host) for a host that has no certificate yet; visible in ps: prefer --token-file or MGMT_TOKEN' },
  { name: 'token-file', type: 'string', doc: 'read the join token from this file' },
  { name: 'join-url', type: 'string', doc: 'the seeds\' join service, when not at the seed\'s host and port - 1 (https://SEED:2378 beside 2379)' },
  { name: 'join-urls', type: 'string', doc: 'where this host\'s join service listens while it serves etcd (comma-separated; default each client URL\'s host, port - 1)' },
  { name: 'cert-lifetime', type: 'string', default: '30d', doc: 'lifetime of the host certificates this host signs (renewed at 2/3 of it), e.g. 30d, 12h' },
  { name: 'ideal-cluster-size', type: 'int', default: 5, doc: 'wanted number of etcd servers; read by the bootstrapping host only (then /_mgmt/idealClusterSize)' },
  { name: 'lease-ttl', type: 'int', default: 10, doc: 'seconds before a dead host\'s volunteer and endpoint keys expire' },
  { name: 'etcd-heartbeat-interval', type: 'int', default: 100, doc: 'etcd raft heartbeat in ms' },
  { name: 'etcd-election-timeout', type: 'int', default: 1000, doc: 'etcd raft election timeout in ms' },
  { name: 'log-format', type: 'choice', choices: ['text', 'json'], default: 'text', doc: 'text: human lines on stderr; json: one JSON event per line on stdout' },
  { name: 'verbose', type: 'bool', doc: 'also log routine watch and check events' },
  { name: 'prometheus', type: 'bool', doc: 'serve Prometheus metrics on http://ADDR/metrics, and the agent\'s health on /health (ADDR: --prometheus-listen)' },
  { name: 'prometheus-listen', type: 'string', doc: 'where --prometheus listens: host:port, [v6]:port, or :port for every interface (default 127.0.0.1:9233; port 0 = any free port, logged)' },
  { name: 'exec-parallelism', type: 'int', default: 32 /* exec-process DEFAULT_COMMAND_LIMIT */, doc: 'at most N commands of exec resources run at once (N > 0); watchcmds do not count' },
];

/** RUN_FLAGS are the flags of `mgmt run --yaml FILE` (mgmt's names). */
export const RUN_FLAGS: readonly FlagSpec[] = [...YAML_RUN_FLAGS, ...AGENT_FLAGS];

/** CHECK_FLAGS are the flags of `mgmt check`. */
export const CHECK_FLAGS: readonly FlagSpec[] = [
  ...GRAPH_FLAGS,
  { name: 'format', type: 'choice', choices: ['text', 'json'], default: 'text', doc: 'output format' },
];

// The admin commands connect as this host, with the credentials under its prefix.
/** ADMIN_FLAGS are the flags the admin commands (token, host) share. */
export const ADMIN_FLAGS: readonly FlagSpec[] = [
  { name: 'prefix', type: 'string', doc: 'the agent\'s --prefix: its tls/ holds this host\'s certificate, its cluster-endpoints where etcd is' },
  { name: 'endpoints', type: 'string', doc: 'etcd client URLs to use instead (comma-separated, https://; default: the prefix\'s, else https://127.0.0.1:2379)' },
];

