// The cluster's certificates (issue 11 point 1): a CA made by the bootstrapping host, and host
// certificates it (or another server host) signs from CSRs whose keys never leave their hosts.
// @peculiar/x509 builds certificates and CSRs on node's WebCrypto (it is maintained, needs no
// native code and no openssl, and reads CSRs, which node:crypto cannot); node:crypto's
// X509Certificate reads and verifies what was built. Keys are ECDSA P-256 (etcd, Go and gRPC all
// take it), stored as PKCS#8 PEM.

import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, createPublicKey, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import { MgmtError } from '../errors.js';
import { CLOCK_SKEW_MS, parseSan } from './certs.js';
import { CA_LIFETIME_MS, DEFAULT_CERT_LIFETIME_MS } from './lifetimes.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const SAN_OID = '2.5.29.17';

/** Pem is a certificate and its private key, both PEM. */
export interface CertAndKey {
  readonly certPem: string;
  readonly keyPem: string;
}

/** createCa makes the cluster CA: a new P-256 key and a self-signed certificate for signing host certificates only. */
export async function createCa(clusterName = 'mgmt cluster CA', lifetimeMs = CA_LIFETIME_MS): Promise<CertAndKey> {
  const keys = (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: [{ CN: [clusterName] }],
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + lifetimeMs),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}

/** SignRequest is what the signer asks of a CSR besides its signature. */
export interface SignOptions {
  /** The CN the CSR must carry: the host it is for. */
  readonly hostname: string;
  /** How long the certificate lasts; default 30 days. */
  readonly lifetimeMs?: number;
}

/**
 * signCsr signs a host's CSR with the CA after checking it: its self-signature, its CN (the host
 * it is for), and SANs of IP addresses and DNS names only. A CSR is hostile input (it comes from a
 * host that only holds a token): what it asks beyond that is not copied into the certificate.
 */
export async function signCsr(ca: CertAndKey, csrPem: string, options: SignOptions): Promise<string> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new MgmtError(`the certificate signing request is not a PEM PKCS#10 request: ${(err as Error).message}`);
  }
  if (!(await csr.verify())) throw new MgmtError('the certificate signing request is not signed by its own key');
  const names = new x509.Name(csr.subject).toJSON();
  const cn = names.flatMap((rdn) => rdn.CN ?? []);
  if (cn.length !== 1 || cn[0] !== options.hostname) {
    throw new MgmtError(`the certificate signing request is for ${JSON.stringify(csr.subject)}, not CN=${options.hostname}`);
  }
  const sanExtension = csr.getExtension(SAN_OID);
  const sans = sansOf(sanExtension ? new x509.SubjectAlternativeNameExtension(sanExtension.rawData) : null);
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKeys = await importKeyPair(ca.keyPem);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: newSerial(),
    subject: [{ CN: [options.hostname] }],
    issuer: caCert.subject,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + (options.lifetimeMs ?? DEFAULT_CERT_LIFETIME_MS)),
    signingKey: caKeys.privateKey,
    publicKey: csr.publicKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([SERVER_AUTH, CLIENT_AUTH]),
      ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans.map(toGeneralName))] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return cert.toString('pem');
}

function sansOf(extension: x509.SubjectAlternativeNameExtension | null): string[] {
  if (!extension) return [];
  const sans: string[] = [];
  for (const name of extension.names.items) {
    if (name.type === 'ip' && isIP(name.value)) sans.push(`ip:${name.value}`);
    else if (name.type === 'dns' && /^(?=.{1,253}$)[a-z0-9*]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*$/i.test(name.value) && !name.value.includes('*')) sans.push(`dns:${name.value.toLowerCase()}`);
    else throw new MgmtError(`the certificate signing request asks for the name ${name.type}:${JSON.stringify(name.value)}: only IP addresses and DNS names are signed`);
  }
  return sans;
}

function toGeneralName(san: string): x509.JsonGeneralName {
  return parseSan(san);
}

function newSerial(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f; // positive, as RFC 5280 wants
  return bytes.toString('hex');
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

async function importKeyPair(keyPem: string): Promise<CryptoKeyPair> {
  let privateObject;
  try {
    privateObject = createPrivateKey(keyPem);
  } catch (err) {
    throw new MgmtError(`not a PEM private key: ${(err as Error).message}`);
  }
  const pkcs8 = privateObject.export({ type: 'pkcs8', format: 'der' });
  const spki = createPublicKey(privateObject).export({ type: 'spki', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, ALGORITHM, false, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, ALGORITHM, true, ['verify']);
  return { privateKey, publicKey } as CryptoKeyPair;
}
