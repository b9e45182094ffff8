// Node parses the file NODE_EXTRA_CA_CERTS names at every start (the system CA bundle some shells
// point it at: 37 ms of a one-file run's 98 ms CPU here), and the agent never uses node's default
// trust: every TLS connection it makes names the cluster CA. So the `mgmt` command's first line can
// start node without it, kept aside as MGMT_NODE_EXTRA_CA_CERTS (env -S expands ${...}), and the
// agent puts it back before it runs anything, for the processes that inherit its environment
// (etcd, systemd-notify, logger; an exec's command gets only its own `env`).

/** SAVED_EXTRA_CA_CERTS is where the launcher keeps NODE_EXTRA_CA_CERTS while node starts. */
export const SAVED_EXTRA_CA_CERTS = 'MGMT_NODE_EXTRA_CA_CERTS';

/** restoreExtraCaCerts puts NODE_EXTRA_CA_CERTS back as the operator set it (unset when it was empty or unset). */
export function restoreExtraCaCerts(env: NodeJS.ProcessEnv = process.env): void {
  const saved = env[SAVED_EXTRA_CA_CERTS];
  if (saved === undefined) return;
  delete env[SAVED_EXTRA_CA_CERTS];
  if (saved !== '' && env.NODE_EXTRA_CA_CERTS === undefined) env.NODE_EXTRA_CA_CERTS = saved;
}
