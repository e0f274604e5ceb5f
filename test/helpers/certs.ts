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

/** Make a CA, a server certificate (SAN IP:127.0.0.1) and a client certificate with openssl. */
export async function makeTestCerts(): Promise<TestCerts> {
  const dir = await mkdtemp(join(tmpdir(), 'hde-certs-'))
  const ssl = (...args: string[]) => exec('openssl', args, { cwd: dir })
  await ssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca-key.pem',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=hde test CA',
  )
  for (const [name, ext] of [
    ['server', 'subjectAltName=IP:127.0.0.1'],
    ['client', 'extendedKeyUsage=clientAuth'],
  ] as const) {
    const key = name === 'client' ? 'key.pem' : `${name}-key.pem`
    const cert = name === 'client' ? 'cert.pem' : `${name}-cert.pem`
    await ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', `${name}.csr`, '-subj', `/CN=hde ${name}`)
    await writeFile(join(dir, `${name}.ext`), `${ext}\n`)
    await ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca-key.pem',
      '-CAcreateserial',
      '-out',
      cert,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    )
  }
  const read = (file: string) => readFile(join(dir, file))
  return {
    dir,
    ca: await read('ca.pem'),
    server: { cert: await read('server-cert.pem'), key: await read('server-key.pem') },
    client: { cert: await read('cert.pem'), key: await read('key.pem') },
    files: { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') },
  }
}
