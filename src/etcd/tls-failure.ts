// gRPC reports a failed TLS handshake as "14 UNAVAILABLE: No connection established. Last error:"
// followed by OpenSSL's or node's text. An operator needs to know which side's certificate was
// wrong (issue 11 point 1): these are the failures that can be told apart, in one line each.

import { causesOf } from '../errors.js';

// The first matching pattern wins; the server's refusals arrive as TLS alerts.
const FAILURES: readonly (readonly [RegExp, string])[] = [
  [/alert certificate expired|SSL alert number 45\b/, "the server refused this host's certificate (host.crt): it has expired; the agent renews it before that, so check the clock"],
  [
    /alert bad certificate|alert certificate required|alert unknown ca|alert certificate unknown|alert handshake failure|SSL alert number (40|42|46|48|116)\b/,
    "the server refused this host's certificate (host.crt): it is missing or not signed by the server's cluster CA",
  ],
  [/certificate has expired|CERT_HAS_EXPIRED/, "the server's certificate has expired"],
  [/certificate is not yet valid|CERT_NOT_YET_VALID/, "the server's certificate is not valid yet; check the clocks"],
  [
    /unable to verify the first certificate|self[- ]signed certificate|unable to get (local )?issuer certificate|certificate signature failure|UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    "the server's certificate is not signed by this host's cluster CA (ca.crt): it is not a member of this cluster",
  ],
  [/ERR_TLS_CERT_ALTNAME_INVALID|does not match certificate's altnames/, "the server's certificate is not for this address (it names the hosts of the member's own URLs)"],
  [/wrong version number|packet length too long|disconnected before secure TLS connection/, 'the server broke off the TLS handshake: is it a plaintext (--insecure) etcd?'],
];

/** tlsFailure says in one line what went wrong in a TLS handshake with etcd, or undefined when `err` (or its causes) is no TLS failure it recognises. */
export function tlsFailure(err: unknown): string | undefined {
  for (const e of causesOf(err)) {
    const found = FAILURES.find(([pattern]) => pattern.test(e.message));
    if (found) return found[1];
  }
  return undefined;
}
