import { execFile } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)

/** A throwaway CA with a server certificate for 127.0.0.1 and a client certificate, as PEM files. */
export interface TestCerts {
  dir: string
  ca: Buffer
  server: { cert: Buffer; key: Buffer }
  client: { cert: Buffer; key: Buffer }
  /** Paths of the client material and CA, named as `docker --tlsverify` expects in DOCKER_CERT_PATH. */
  files: { caFile: string; certFile: string; keyFile: string }
}

/** PEM files of a certificate and its key, by name in their directory. */
export interface PemFiles {
  cert: string
  key: string
}

/** Make a self-signed CA (two days) with openssl in `dir`. */
export async function makeCa(dir: string, subject: string, files: PemFiles): Promise<PemFiles> {
  await exec(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      files.key,
      '-out',
      files.cert,
      '-days',
      '2',
      '-subj',
      subject,
    ],
    { cwd: dir },
  )
  return files
}

/** Issue a certificate (two days) signed by `ca`, with openssl in `dir`; `extensions` as an extfile. */
export async function issueCert(
  dir: string,
  ca: PemFiles,
  subject: string,
  extensions: string,
  files: PemFiles,
): Promise<PemFiles> {
  const ssl = (...args: string[]) => exec('openssl', args, { cwd: dir })
  const base = files.cert.replace(/\.[^.]+$/, '')
  await writeFile(join(dir, `${base}.ext`), `${extensions}\n`)
  await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', files.key, '-out', `${base}.csr`, '-subj', subject)
  await ssl(
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-CAcreateserial',
    '-out',
    files.cert,
    '-days',
    '2',
    '-extfile',
    `${base}.ext`,
  )
  return files
}

/** Make a CA, a server certificate (SAN IP:127.0.0.1) and a client certificate with openssl. */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'hde-certs-'))
  const ca = await makeCa(dir, '/CN=hde test CA', { cert: 'ca.pem', key: 'ca-key.pem' })
  await issueCert(dir, ca, '/CN=hde server', 'subjectAltName=IP:127.0.0.1', {
    cert: 'server-cert.pem',
    key: 'server-key.pem',
  })
  // The client's names are those `docker --tlsverify` expects in DOCKER_CERT_PATH.
  await issueCert(dir, ca, '/CN=hde client', 'extendedKeyUsage=clientAuth', { cert: 'cert.pem', key: 'key.pem' })
  const read = (file: string) => readFile(join(dir, file))
  return {
    dir,
    ca: await read('ca.pem'),
    server: { cert: await read('server-cert.pem'), key: await read('server-key.pem') },
    client: { cert: await read('cert.pem'), key: await read('key.pem') },
    files: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
  }
}
