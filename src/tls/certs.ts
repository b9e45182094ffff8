// What every host does with certificates, on node:crypto alone (issue 11 points 1 and 2): make its
// key and its certificate signing request, read certificates, check them against the CA and the
// pin. Only server hosts sign, with the certificate library (pki.ts); a joining host does not load
// it: the CSR, a small fixed PKCS#10 structure, is written here in DER.

import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { MgmtError } from '../errors.js';

/** CLOCK_SKEW_MS: a certificate is valid from this much before it was made (the clocks of a cluster's hosts differ). */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** CertInfo is what the agent needs to know of a certificate. */
export interface CertInfo {
  readonly commonName: string;
  /** The serial number, hex. */
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The subject alternative names: `ip:1.2.3.4`, `dns:name`. */
  readonly sans: readonly string[];
}

/** createKey makes a host's ECDSA P-256 private key (PKCS#8 PEM). */
export function createKey(): string {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** createCsr makes a PKCS#10 certificate signing request for `hostname` (its CN) with the given SANs (`ip:...`, `dns:...`), signed by the key. */
export function createCsr(keyPem: string, hostname: string, sans: readonly string[]): string {
  const key = privateKeyOf(keyPem);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const subject = seq(set(seq(oid(OID_COMMON_NAME), tlv(0x0c, Buffer.from(hostname, 'utf8')))));
  const extensions = sans.length === 0 ? [] : [seq(oid(OID_SUBJECT_ALT_NAME), tlv(0x04, seq(...sans.map(generalName))))];
  const attributes = tlv(0xa0, ...(extensions.length === 0 ? [] : [seq(oid(OID_EXTENSION_REQUEST), set(seq(...extensions)))]));
  const info = seq(tlv(0x02, Buffer.from([0])), subject, spki, attributes);
  const signature = sign('sha256', info, { key, dsaEncoding: 'der' });
  const der = seq(info, seq(oid(OID_ECDSA_WITH_SHA256)), tlv(0x03, Buffer.from([0]), signature));
  return pem('CERTIFICATE REQUEST', der);
}

/** certInfo reads a certificate's CN, serial, validity and SANs; it throws a one-line error for anything but one PEM certificate. */
export function certInfo(certPem: string): CertInfo {
  const cert = parseCert(certPem);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? '';
  return {
    commonName: cn,
    serial: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    sans: (cert.subjectAltName ?? '')
      .split(', ')
      .filter((name) => name !== '')
      .map((name) => name.replace(/^IP Address:/, 'ip:').replace(/^DNS:/, 'dns:')),
  };
}

/** caPin is the CA certificate's pin carried by join tokens: base64url of the SHA-256 of its DER. */
export function caPin(caPem: string): string {
  return createHash('sha256').update(parseCert(caPem).raw).digest('base64url');
}

/** isIssuedBy says whether `certPem` is signed by the CA of `caPem` (signature and issuer name). */
export function isIssuedBy(certPem: string, caPem: string): boolean {
  const cert = parseCert(certPem);
  const ca = parseCert(caPem);
  return cert.checkIssued(ca) && cert.verify(ca.publicKey);
}

/** keyMatchesCert says whether the private key is the one of the certificate's public key. */
export function keyMatchesCert(keyPem: string, certPem: string): boolean {
  return parseCert(certPem).checkPrivateKey(privateKeyOf(keyPem));
}

/** sansForUrls are the SANs a host's certificate needs for its client and peer URLs (their hosts). */
export function sansForUrls(urls: readonly string[]): string[] {
  const sans = new Set<string>();
  for (const url of urls) {
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
    sans.add(isIP(host) ? `ip:${host}` : `dns:${host.toLowerCase()}`);
  }
  return [...sans].sort();
}

/** parseSan reads `ip:ADDRESS` or `dns:NAME`. */
export function parseSan(san: string): { readonly type: 'ip' | 'dns'; readonly value: string } {
  const [type, ...rest] = san.split(':');
  const value = rest.join(':');
  if (type === 'ip' && isIP(value)) return { type: 'ip', value };
  if (type === 'dns' && value !== '') return { type: 'dns', value };
  throw new MgmtError(`${JSON.stringify(san)} is not a SAN of the form ip:ADDRESS or dns:NAME`);
}

function parseCert(pemText: string): X509Certificate {
  try {
    return new X509Certificate(pemText);
  } catch (err) {
    throw new MgmtError(`not a PEM certificate: ${(err as Error).message}`);
  }
}

function privateKeyOf(keyPem: string): ReturnType<typeof createPrivateKey> {
  try {
    return createPrivateKey(keyPem);
  } catch (err) {
    throw new MgmtError(`not a PEM private key: ${(err as Error).message}`);
  }
}

// --- DER, as much of it as a CSR needs ---------------------------------------------------------

const OID_COMMON_NAME = '2.5.4.3';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

function generalName(san: string): Buffer {
  const { type, value } = parseSan(san);
  // dNSName [2] IA5String, iPAddress [7] OCTET STRING (4 or 16 bytes), both implicit.
  return type === 'dns' ? tlv(0x82, Buffer.from(value, 'ascii')) : tlv(0x87, ipBytes(value));
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  return Buffer.concat(ipv6Groups(address).map((group) => Buffer.from(group.padStart(4, '0'), 'hex')));
}

/** ipv6Groups spells an IPv6 address (without an embedded IPv4 part) as its eight groups, `::` filled with zeros. */
export function ipv6Groups(address: string): string[] {
  const [head = '', tail = ''] = address.split('::');
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const left = groups(head);
  const right = groups(tail);
  return address.includes('::') ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right] : left;
}

function tlv(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  const length = body.length;
  const header = length < 0x80 ? [tag, length] : length < 0x100 ? [tag, 0x81, length] : [tag, 0x82, length >> 8, length & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}

function seq(...contents: Buffer[]): Buffer {
  return tlv(0x30, ...contents);
}

function set(...contents: Buffer[]): Buffer {
  return tlv(0x31, ...contents);
}

function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const bytes = [40 * first + second];
  for (const arc of rest) {
    const chunk = [arc & 0x7f];
    for (let value = arc >> 7; value > 0; value >>= 7) chunk.unshift((value & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function pem(label: string, der: Buffer): string {
  return `-----BEGIN ${label}-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n?$/, '\n')}-----END ${label}-----\n`;
}
