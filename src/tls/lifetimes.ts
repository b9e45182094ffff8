// How long the cluster's certificates last (a module of its own: the CLI reads these defaults
// without loading the certificate library).

/** CA_LIFETIME_MS: the cluster CA lasts ten years (host certificates are the short-lived ones). */
export const CA_LIFETIME_MS = 10 * 365 * 24 * 3600_000;
/** DEFAULT_CERT_LIFETIME_MS: host certificates last 30 days and are renewed at two thirds of that. */
export const DEFAULT_CERT_LIFETIME_MS = 30 * 24 * 3600_000;
