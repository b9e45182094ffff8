// What a server host's join service decides (issue 11 point 2): a join is signed only for a valid
// token (consumed atomically in etcd) and a host name that has no certificate yet (or that the
// token was made for); a renewal only for a host whose etcd user still exists (a revoked host's is
// gone). The CA key comes from this host's PREFIX/tls/ca.key (the bootstrapping host) or from etcd,
// where only server hosts can read it.

import type { EtcdConnection } from '../etcd/connection.js';
import { errorMessage } from '../errors.js';
import { retryPromise } from '../os/retry.js';
import { backoffDelay } from '../../streams/retry-with-backoff.js';
import { readCaKey } from '../tls/files.js';
import { certInfo } from '../tls/certs.js';
import { signCsr } from '../tls/pki.js';
import type { Authority } from './authority.js';
import { JoinRefused, type JoinRequest, type RenewalRequest, type SignedCertificate } from './join-service.js';
import { CA_KEY_KEY, ENDPOINTS_PREFIX, serverEndpoints } from './keys.js';
import { checkToken, consumeToken, returnTokenUse, TokenRefused } from './tokens.js';

// Giving back a join's use is tried this often (about a minute with the pauses): long enough for
// a cluster to elect a leader again.
const RETURN_USE_ATTEMPTS = 12;

/** joinRefusal is what a token's refusal is to the join service (a 403); any other error as it is. */
function joinRefusal(err: unknown): unknown {
  return err instanceof TokenRefused ? new JoinRefused(err.message) : err;
}

/** SignerOptions: where the CA is and how long certificates last. */
export interface SignerOptions {
  readonly connection: EtcdConnection;
  readonly authority: Authority;
  readonly prefix: string;
  /** The CA certificate (PEM). */
  readonly caPem: string;
  /** How long a signed certificate lasts. */
  readonly lifetimeMs: number;
}

/** Signer signs joins and renewals for this host's join service. */
export class Signer {
  private readonly options: SignerOptions;

  constructor(options: SignerOptions) {
    this.options = options;
  }

  /**
   * signJoin admits a new host with a token: the token is spent, the host gets its etcd user, and
   * its CSR is signed. Everything that only reads (the token, the host, the endpoints, the CA key)
   * and the signing come before the use is taken, and a use taken by a join that then admitted no
   * host is given back (in the background, for up to a minute): a join the cluster fails on the
   * way (etcd without a leader) can be asked again with the same token, not "used up".
   */
  async signJoin(request: JoinRequest): Promise<SignedCertificate> {
    const { authority, connection } = this.options;
    let record;
    let standing;
    let endpoints;
    try {
      [record, standing, endpoints] = await Promise.all([checkToken(connection, request.token, request.hostname), authority.hostStanding(request.hostname), this.endpoints()]);
    } catch (err) {
      throw joinRefusal(err);
    }
    // An admitted name is another host's identity: only a token made for it replaces it. A user an
    // admission left unfinished (a join the cluster failed half way) holds no right: a join finishes it.
    const replace = record.host === request.hostname || standing === 'unfinished';
    const exists = standing !== 'none';
    if (!replace && exists) {
      throw new JoinRefused(`host ${request.hostname} already has a certificate; revoke it first, or make a token for it with mgmt token create --host ${request.hostname}`);
    }
    const certPem = await this.sign(request.hostname, request.csrPem);
    await consumeToken(connection, request.token, request.hostname).catch((err: unknown) => {
      throw joinRefusal(err);
    });
    try {
      await authority.admitHost(request.hostname, { replace, exists });
    } catch (err) {
      void retryPromise(() => returnTokenUse(connection, request.token.id), { attempts: RETURN_USE_ATTEMPTS, pauseMs: (failures) => backoffDelay(failures, 500, 8_000) }).catch(() => undefined);
      throw err;
    }
    // The host is admitted from here: its use stays spent, and it gets its certificate even when
    // what `mgmt host list` shows of it is not written (its first renewal writes it); failing the
    // join now would leave a name that has a user and no certificate, refused on every try.
    try {
      await authority.recordCertificate(request.hostname, certInfo(certPem));
    } catch (err) {
      return { certPem, endpoints, warning: `host ${request.hostname} is admitted, but its certificate was not recorded for mgmt host list (its first renewal will): ${errorMessage(err)}` };
    }
    return { certPem, endpoints };
  }

  /** signRenewal signs a new certificate for a host that proved its current one, unless it was revoked. */
  async signRenewal(request: RenewalRequest): Promise<SignedCertificate> {
    if (!(await this.options.authority.hostExists(request.hostname))) throw new JoinRefused(`host ${request.hostname} was revoked; it can only join again with a new token`);
    const certPem = await this.sign(request.hostname, request.csrPem);
    await this.options.authority.recordCertificate(request.hostname, certInfo(certPem));
    return { certPem };
  }

  private async sign(hostname: string, csrPem: string): Promise<string> {
    const keyPem = await this.caKey();
    try {
      return await signCsr({ certPem: this.options.caPem, keyPem }, csrPem, { hostname, lifetimeMs: this.options.lifetimeMs });
    } catch (err) {
      throw new JoinRefused(errorMessage(err));
    }
  }

  private async endpoints(): Promise<string[]> {
    return serverEndpoints(await this.options.connection.bounded('read endpoints', (client) => client.getAll().prefix(ENDPOINTS_PREFIX).strings()));
  }

  private async caKey(): Promise<string> {
    const own = await readCaKey(this.options.prefix);
    if (own !== undefined) return own;
    const shared = await this.options.connection.bounded('read the CA key', (client) => client.get(CA_KEY_KEY).string());
    if (shared === null) throw new Error(`no CA key: neither ${this.options.prefix}/tls/ca.key nor ${CA_KEY_KEY} in etcd`);
    return shared;
  }
}
