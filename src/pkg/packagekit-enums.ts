// PackageKit's numbers on the wire and their names, as libpackagekit-glib2 1.2 (pk-enum.h) has
// them. Filters and transaction flags travel as bitfields: bit n set = enum value n.

/** PK_INFO are the Package signal's info values this backend reads. */
export const PK_INFO = {
  installed: 1,
  available: 2,
} as const;

/** PK_FILTER are the filter enum values used in Resolve. */
export const PK_FILTER = {
  none: 1,
  installed: 2,
  free: 8,
  supported: 12,
} as const;

/** PK_TRANSACTION_FLAG are the transaction flag enum values of InstallPackages, UpdatePackages and RemovePackages. */
export const PK_TRANSACTION_FLAG = {
  none: 0,
  onlyTrusted: 1,
  simulate: 2,
  onlyDownload: 3,
  allowReinstall: 4,
  justReinstall: 5,
  allowDowngrade: 6,
} as const;

/** PK_EXIT_SUCCESS is the Finished signal's exit value of a transaction that succeeded. */
export const PK_EXIT_SUCCESS = 1;

/** PK_ERROR_CANNOT_GET_LOCK is the error code of a transaction that could not take dpkg's lock. */
export const PK_ERROR_CANNOT_GET_LOCK = 26;

/** bitfield turns enum values into PackageKit's 64-bit bitfield (`t` on the wire). */
export function bitfield(values: readonly number[]): bigint {
  let bits = 0n;
  for (const value of values) bits |= 1n << BigInt(value);
  return bits;
}

// pk_exit_enum_to_string, by value.
const EXIT_NAMES = [
  'unknown',
  'success',
  'failed',
  'cancelled',
  'key-required',
  'eula-required',
  'killed',
  'media-change-required',
  'need-untrusted',
  'cancelled-priority',
  'skip-transaction',
  'repair-required',
];

// pk_error_enum_to_string, by value.
const ERROR_NAMES = [
  'unknown',
  'out-of-memory',
  'no-network',
  'not-supported',
  'internal-error',
  'gpg-failure',
  'package-id-invalid',
  'package-not-installed',
  'package-not-found',
  'package-already-installed',
  'package-download-failed',
  'group-not-found',
  'group-list-invalid',
  'dep-resolution-failed',
  'filter-invalid',
  'create-thread-failed',
  'transaction-error',
  'transaction-cancelled',
  'no-cache',
  'repo-not-found',
  'cannot-remove-system-package',
  'process-kill',
  'failed-initialization',
  'failed-finalise',
  'failed-config-parsing',
  'cannot-cancel',
  'cannot-get-lock',
  'no-packages-to-update',
  'cannot-write-repo-config',
  'local-install-failed',
  'bad-gpg-signature',
  'missing-gpg-signature',
  'cannot-install-source-package',
  'repo-configuration-error',
  'no-license-agreement',
  'file-conflicts',
  'package-conflicts',
  'repo-not-available',
  'invalid-package-file',
  'package-install-blocked',
  'package-corrupt',
  'all-packages-already-installed',
  'file-not-found',
  'no-more-mirrors-to-try',
  'no-distro-upgrade-data',
  'incompatible-architecture',
  'no-space-on-device',
  'media-change-required',
  'not-authorized',
  'update-not-found',
  'cannot-install-repo-unsigned',
  'cannot-update-repo-unsigned',
  'cannot-get-filelist',
  'cannot-get-requires',
  'cannot-disable-repository',
  'restricted-download',
  'package-failed-to-configure',
  'package-failed-to-build',
  'package-failed-to-install',
  'package-failed-to-remove',
  'failed-due-to-running-process',
  'package-database-changed',
  'provide-type-not-supported',
  'install-root-invalid',
  'cannot-fetch-sources',
  'cancelled-priority',
  'unfinished-transaction',
  'lock-required',
  'repo-already-set',
];

/** exitName names a Finished exit value as PackageKit does (`failed`, `need-untrusted`), `exit-<n>` when unknown. */
export function exitName(exit: number): string {
  return EXIT_NAMES[exit] ?? `exit-${exit}`;
}

/** errorName names an ErrorCode value as PackageKit does (`package-not-found`), `error-<n>` when unknown. */
export function errorName(code: number): string {
  return ERROR_NAMES[code] ?? `error-${code}`;
}
