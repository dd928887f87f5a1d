/**
 * Real SAML service providers for the interoperability tests (issue 9 "Done when"): Debian's
 * Apache httpd with mod_auth_mellon, or with mod_shib and its shibd daemon, each run unprivileged
 * on a loopback port from a private temporary directory (no system service, nothing under /etc
 * written; `.ci/run` installs the packages).
 *
 *   const peers = requireInterop(this, ['apache', 'mellon']);   // in before(): fail loudly, or skip on GATEHOUSE_SKIP_INTEROP=1
 *   const sp = await startMellonSp({ idpMetadataXml });          // Apache + mellon, protected /protected/env
 *   ...
 *   await sp.stop();                                             // logs kept in sp.dir when a test failed
 *
 * The protected page is a CGI script printing the environment the module set (MELLON_* or the
 * Shibboleth attributes), one `NAME=value` per line, which is what the tests read.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from './process.js';
import { createSelfSigned } from '../../src/shared/x509.js';

export const APACHE_BIN = '/usr/sbin/apache2';
export const APACHE_MODULES = '/usr/lib/apache2/modules';
export const SHIBD_BIN = '/usr/sbin/shibd';
/** Where Debian's shibboleth-sp-common keeps the files shibd needs and tests do not change. */
export const SHIB_SHARED_CONFIG = '/etc/shibboleth';

export type InteropPeer = 'apache' | 'mellon' | 'shib';

const PEER_FILES: Record<InteropPeer, { file: string; pkg: string }> = {
  apache: { file: APACHE_BIN, pkg: 'apache2' },
  mellon: { file: path.join(APACHE_MODULES, 'mod_auth_mellon.so'), pkg: 'libapache2-mod-auth-mellon' },
  shib: { file: path.join(APACHE_MODULES, 'mod_shib.so'), pkg: 'libapache2-mod-shib' },
};

/** The peers that are missing here (by the Debian package that would install them). */
export function missingPeers(peers: InteropPeer[]): string[] {
  const missing = peers.filter((p) => !existsSync(PEER_FILES[p].file)).map((p) => PEER_FILES[p].pkg);
  if (peers.includes('shib') && !existsSync(SHIBD_BIN)) missing.push('shibboleth-sp-utils (shibd)');
  return missing;
}

/**
 * Called in a suite's `before`: when a peer is missing the suite fails with a message naming the
 * packages, unless GATEHOUSE_SKIP_INTEROP=1 says explicitly that this machine does not run them
 * (then the suite is skipped, visibly, as pending). Never a silent skip.
 */
export function requireInterop(ctx: Mocha.Context, peers: InteropPeer[]): void {
  const missing = missingPeers(peers);
  if (missing.length === 0) return;
  if (process.env.GATEHOUSE_SKIP_INTEROP === '1') {
    console.warn(`    interop skipped (GATEHOUSE_SKIP_INTEROP=1): missing ${missing.join(', ')}`);
    ctx.skip();
  }
  throw new Error(
    `SAML interop peers are not installed: ${missing.join(', ')}. Install them ` +
      `(apt-get install -y apache2 libapache2-mod-auth-mellon libapache2-mod-shib; .ci/run does) ` +
      `or set GATEHOUSE_SKIP_INTEROP=1 to skip these tests on purpose.`,
  );
}

const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

/** A private directory the Apache children (www-data when started as root) can read. */
function workDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  return dir;
}

function writeReadable(file: string, text: string, mode = 0o644): void {
  writeFileSync(file, text);
  chmodSync(file, mode);
}

/** A self-signed SP key pair as PEM files in `dir` (readable by the Apache children: test keys only). */
export async function writeSpKeyPair(
  dir: string,
  name: string,
  commonName: string,
): Promise<{ keyFile: string; certFile: string; certPem: string }> {
  const kp = await createSelfSigned({ commonName, validDays: 30 });
  const keyFile = path.join(dir, `${name}.key`);
  const certFile = path.join(dir, `${name}.crt`);
  writeReadable(keyFile, kp.privateKeyPem);
  writeReadable(certFile, kp.certificatePem);
  return { keyFile, certFile, certPem: kp.certificatePem };
}

/** The CGI script every SP protects: the request's environment as `NAME=value` lines, sorted. */
const ENV_CGI = `#!/bin/sh
printf 'Content-Type: text/plain; charset=utf-8\\r\\n\\r\\n'
env | LC_ALL=C sort
`;

export interface ApacheOptions {
  /** Extra modules to load (file names under APACHE_MODULES, by module symbol). */
  modules: Record<string, string>;
  /** Configuration after the common server part (Locations of the SAML module). */
  siteConfig: (dir: string, baseUrl: string) => string;
  port?: number;
}

export interface RunningProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

export interface RunningApache {
  dir: string;
  port: number;
  /** `http://127.0.0.1:{port}`. */
  baseUrl: string;
  /** The protected page's URL (the CGI that prints the environment). */
  protectedUrl: string;
  apache: RunningProcess;
  /** Everything the peers wrote: Apache's error log, stdout/stderr, module logs. */
  logs(): string;
  stop(): Promise<void>;
}

function spawnLogged(cmd: string, args: string[], env: Record<string, string> = {}): RunningProcess {
  // A process group of its own: Apache's prefork parent stops by signalling its whole process
  // group (killpg), which without this would be the test runner's.
  const child = spawn(cmd, args, {
    env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : null)));
    child.on('error', () => resolve(-1));
  });
  return { child, exited, output: () => out };
}

async function stopProcess(p: RunningProcess, graceMs = 5_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

/** A plain GET without following redirects: the status, or null while nothing answers. */
export function probe(url: string): Promise<number | null> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'GET', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on('error', () => resolve(null));
    req.on('timeout', () => {
      req.destroy();
      resolve(null);
    });
    req.end();
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  alive: () => string | null,
  timeoutMs: number,
  logs: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const dead = alive();
    if (dead) throw new Error(`${what}: ${dead}\n${logs()}`);
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`${what}: not ready within ${timeoutMs} ms\n${logs()}`);
}

function readIf(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * Apache httpd in the foreground on 127.0.0.1:{port}, ServerRoot = a temp dir, prefork MPM (the
 * modules' session caches are shared memory across children), mod_cgi for the environment page
 * at /protected/env. Started as root (CI), its children run as www-data, which Apache insists on.
 */
export async function startApache(dir: string, opts: ApacheOptions): Promise<RunningApache> {
  const port = opts.port ?? (await freePort());
  const baseUrl = `http://127.0.0.1:${port}`;
  mkdirSync(path.join(dir, 'cgi-bin'), { recursive: true });
  mkdirSync(path.join(dir, 'htdocs'), { recursive: true });
  mkdirSync(path.join(dir, 'run'), { recursive: true });
  chmodSync(path.join(dir, 'cgi-bin'), 0o755);
  chmodSync(path.join(dir, 'htdocs'), 0o755);
  writeReadable(path.join(dir, 'cgi-bin', 'env'), ENV_CGI, 0o755);
  writeReadable(path.join(dir, 'htdocs', 'index.html'), '<!doctype html><title>interop</title><p>public page</p>\n');
  const modules: Record<string, string> = {
    mpm_prefork_module: 'mod_mpm_prefork.so',
    authn_core_module: 'mod_authn_core.so',
    authz_core_module: 'mod_authz_core.so',
    authz_user_module: 'mod_authz_user.so',
    alias_module: 'mod_alias.so',
    mime_module: 'mod_mime.so',
    cgi_module: 'mod_cgi.so',
    ...opts.modules,
  };
  const conf = [
    `ServerRoot "${dir}"`,
    `ServerName 127.0.0.1:${port}`,
    `Listen 127.0.0.1:${port}`,
    `PidFile "${dir}/run/httpd.pid"`,
    `DefaultRuntimeDir "${dir}/run"`,
    `Mutex file:${dir}/run default`,
    `ErrorLog "${dir}/error.log"`,
    'LogLevel info',
    ...Object.entries(modules).map(([sym, file]) => `LoadModule ${sym} ${APACHE_MODULES}/${file}`),
    ...(IS_ROOT ? ['User www-data', 'Group www-data'] : []),
    // Few processes: the shared 2-core machine runs the rest of the suite too.
    'StartServers 1',
    'MinSpareServers 1',
    'MaxSpareServers 2',
    'MaxRequestWorkers 8',
    `TypesConfig /etc/mime.types`,
    `LogFormat "%h %t \\"%r\\" %>s %b" common`,
    `CustomLog "${dir}/access.log" common`,
    `DocumentRoot "${dir}/htdocs"`,
    `<Directory "${dir}/htdocs">`,
    '  Require all granted',
    '</Directory>',
    `ScriptAlias /protected/env "${dir}/cgi-bin/env"`,
    `<Directory "${dir}/cgi-bin">`,
    '  Options +ExecCGI',
    '</Directory>',
    opts.siteConfig(dir, baseUrl),
    '',
  ].join('\n');
  writeReadable(path.join(dir, 'httpd.conf'), conf);

  const check = spawnSync(APACHE_BIN, ['-t', '-f', path.join(dir, 'httpd.conf'), '-d', dir], { encoding: 'utf8' });
  if (check.status !== 0) throw new Error(`apache2 -t refused the generated configuration:\n${check.stdout}${check.stderr}\n${conf}`);

  const apache = spawnLogged(APACHE_BIN, ['-f', path.join(dir, 'httpd.conf'), '-d', dir, '-DFOREGROUND']);
  const logs = () => `--- apache2 output ---\n${apache.output()}\n--- ${dir}/error.log ---\n${readIf(path.join(dir, 'error.log'))}`;
  const running: RunningApache = {
    dir,
    port,
    baseUrl,
    protectedUrl: `${baseUrl}/protected/env`,
    apache,
    logs,
    stop: () => stopProcess(apache),
  };
  try {
    await waitFor(
      'apache2',
      async () => (await probe(`${baseUrl}/index.html`)) === 200,
      () => (apache.child.exitCode !== null ? `exited with ${apache.child.exitCode}` : null),
      20_000,
      logs,
    );
  } catch (err) {
    await running.stop();
    throw err;
  }
  return running;
}

// ---------------------------------------------------------------- mod_auth_mellon

export interface MellonSpOptions {
  /** The IdP's metadata (Gatehouse's `/tenants/{t}/saml/idp/metadata`). */
  idpMetadataXml: string;
  /** Extra directives inside the mellon `<Location />` (e.g. MellonSetEnvNoPrefix lines). */
  extraDirectives?: string[];
}

export interface RunningMellonSp extends RunningApache {
  /** The SP entity ID: mellon's default, the metadata URL. */
  entityId: string;
  /** `{baseUrl}/mellon/metadata`: the metadata mellon generates and serves. */
  metadataUrl: string;
  logoutUrl(returnTo: string): string;
  certPem: string;
}

/**
 * mod_auth_mellon protecting /protected with its endpoints at /mellon: SP key pair made here,
 * SP metadata generated by mellon itself (served at /mellon/metadata), the IdP metadata from
 * Gatehouse as a file. Every attribute lands in MELLON_{name} (multi-valued ones merged with ";").
 */
export async function startMellonSp(opts: MellonSpOptions): Promise<RunningMellonSp> {
  const dir = workDir('gh-mellon-');
  const keys = await writeSpKeyPair(dir, 'sp', 'gatehouse interop mellon sp');
  const idpFile = path.join(dir, 'idp-metadata.xml');
  writeReadable(idpFile, opts.idpMetadataXml);
  let entityId = '';
  const sp = await startApache(dir, {
    modules: { auth_mellon_module: 'mod_auth_mellon.so' },
    siteConfig: (d, baseUrl) => {
      entityId = `${baseUrl}/mellon/metadata`;
      return [
        `MellonLockFile "${d}/run/mellon.lock"`,
        'MellonCacheSize 50',
        'LogLevel info auth_mellon:debug',
        '<Location />',
        '  MellonEnable info',
        '  MellonEndpointPath /mellon',
        `  MellonSPentityId "${entityId}"`,
        `  MellonSPPrivateKeyFile "${keys.keyFile}"`,
        `  MellonSPCertFile "${keys.certFile}"`,
        `  MellonIdPMetadataFile "${idpFile}"`,
        // Plain http on loopback: the cookie cannot be Secure here.
        '  MellonSecureCookie Off',
        '  MellonMergeEnvVars On ";"',
        // The asserting IdP's entity ID in MELLON_IDP.
        '  MellonIdP "IDP"',
        '  MellonSubjectConfirmationDataAddressCheck Off',
        ...(opts.extraDirectives ?? []).map((l) => `  ${l}`),
        '</Location>',
        '<Location /protected>',
        '  AuthType Mellon',
        '  MellonEnable auth',
        '  Require valid-user',
        '</Location>',
      ].join('\n');
    },
  });
  return {
    ...sp,
    entityId,
    metadataUrl: `${sp.baseUrl}/mellon/metadata`,
    logoutUrl: (returnTo) => `${sp.baseUrl}/mellon/logout?ReturnTo=${encodeURIComponent(returnTo)}`,
    certPem: keys.certPem,
  };
}

// ---------------------------------------------------------------- Shibboleth SP

export interface ShibAttribute {
  /** The SAML Attribute Name Gatehouse releases. */
  name: string;
  /** The id shibd maps it to (the environment variable the protected page shows). */
  id: string;
  nameFormat?: string;
}

export interface ShibSpOptions {
  /** The IdP's entity ID and metadata (Gatehouse's). */
  idpEntityId: string;
  idpMetadataXml: string;
  /** Attributes to map (attribute-map.xml); anything unmapped is dropped by shibd. */
  attributes: ShibAttribute[];
  /** Send AuthnRequests over HTTP-POST, signed (rsa-sha256), instead of shibd's default unsigned HTTP-Redirect. */
  signedPostRequests?: boolean;
}

export interface RunningShibSp extends RunningApache {
  entityId: string;
  /** `{baseUrl}/Shibboleth.sso/Metadata`: the metadata shibd generates. */
  metadataUrl: string;
  logoutUrl(returnTo: string): string;
  shibd: RunningProcess;
}

const BASIC = 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic';

function shibLogger(file: string): string {
  // log4shib properties: everything at INFO (DEBUG for the SAML layers) into one file in the temp dir.
  return [
    'log4j.rootCategory=INFO, log',
    'log4j.category.Shibboleth=DEBUG',
    'log4j.category.OpenSAML=DEBUG',
    'log4j.category.XMLTooling.XMLObject=INFO',
    'log4j.category.XMLTooling.libcurl=INFO',
    'log4j.appender.log=org.apache.log4j.FileAppender',
    `log4j.appender.log.fileName=${file}`,
    'log4j.appender.log.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.log.layout.ConversionPattern=%d{%H:%M:%S} %p %c %x: %m%n',
    '',
  ].join('\n');
}

const xmlAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/**
 * shibd with its own shibboleth2.xml (UNIX socket, logs and state in the temp dir; the shipped
 * protocols.xml and security-policy.xml from /etc/shibboleth, read only), and Apache's mod_shib
 * reading the same file. /protected requires a Shibboleth session; handlers at /Shibboleth.sso.
 */
export async function startShibbolethSp(opts: ShibSpOptions): Promise<RunningShibSp> {
  const dir = workDir('gh-shib-');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const entityId = `${baseUrl}/shibboleth`;
  const signing = await writeSpKeyPair(dir, 'sp-signing', 'gatehouse interop shibboleth sp signing');
  const encryption = await writeSpKeyPair(dir, 'sp-encrypt', 'gatehouse interop shibboleth sp encryption');
  writeReadable(path.join(dir, 'idp-metadata.xml'), opts.idpMetadataXml);
  writeReadable(path.join(dir, 'shibd.logger'), shibLogger(path.join(dir, 'shibd.log')));
  // The Apache children (www-data) write the in-process log: the file must exist and be theirs to write.
  writeReadable(path.join(dir, 'native.logger'), shibLogger(path.join(dir, 'native.log')));
  writeReadable(path.join(dir, 'native.log'), '', 0o666);
  const attributeMap = [
    '<Attributes xmlns="urn:mace:shibboleth:2.0:attribute-map" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
    ...opts.attributes.map(
      (a) => `  <Attribute name="${xmlAttr(a.name)}" nameFormat="${xmlAttr(a.nameFormat ?? BASIC)}" id="${xmlAttr(a.id)}"/>`,
    ),
    // NameIDs: persistent and transient are session-level; the email NameID as an attribute.
    '  <Attribute name="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" id="nameid-email">',
    '    <AttributeDecoder xsi:type="NameIDAttributeDecoder" formatter="$Name" defaultQualifiers="true"/>',
    '  </Attribute>',
    '  <Attribute name="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" id="persistent-id">',
    '    <AttributeDecoder xsi:type="NameIDAttributeDecoder" formatter="$NameQualifier!$SPNameQualifier!$Name" defaultQualifiers="true"/>',
    '  </Attribute>',
    '</Attributes>',
    '',
  ].join('\n');
  writeReadable(path.join(dir, 'attribute-map.xml'), attributeMap);
  // Release every mapped attribute from the one IdP configured (the SP's own filter is not under test).
  writeReadable(
    path.join(dir, 'attribute-policy.xml'),
    [
      '<afp:AttributeFilterPolicyGroup xmlns="urn:mace:shibboleth:2.0:afp:mf:basic" xmlns:afp="urn:mace:shibboleth:2.0:afp" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
      '  <afp:AttributeFilterPolicy>',
      '    <afp:PolicyRequirementRule xsi:type="ANY"/>',
      '    <afp:AttributeRule attributeID="*" permitAny="true"/>',
      '  </afp:AttributeFilterPolicy>',
      '</afp:AttributeFilterPolicyGroup>',
      '',
    ].join('\n'),
  );
  const socket = path.join(dir, 'run', 'shibd.sock');
  mkdirSync(path.join(dir, 'run'), { recursive: true });
  chmodSync(path.join(dir, 'run'), 0o777);
  const shib2 = [
    '<SPConfig xmlns="urn:mace:shibboleth:3.0:native:sp:config" xmlns:conf="urn:mace:shibboleth:3.0:native:sp:config" clockSkew="180">',
    `  <OutOfProcess logger="${dir}/shibd.logger" tranLogFormat="%u|%s|%IDP|%i|%ac|%t|%attr|%n|%b|%E|%S|%SS|%L|%UA|%a"/>`,
    `  <InProcess logger="${dir}/native.logger"/>`,
    `  <UnixListener address="${socket}"/>`,
    '  <RequestMapper type="Native">',
    '    <RequestMap>',
    `      <Host name="127.0.0.1" port="${port}" scheme="http">`,
    '        <Path name="protected" authType="shibboleth" requireSession="true"/>',
    '      </Host>',
    '    </RequestMap>',
    '  </RequestMapper>',
    `  <ApplicationDefaults entityID="${entityId}" REMOTE_USER="nameid-email persistent-id"${
      opts.signedPostRequests
        ? ' signing="true" signingAlg="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" digestAlg="http://www.w3.org/2001/04/xmlenc#sha256"'
        : ''
    }>`,
    // Plain http on loopback: handlers and cookies without TLS.
    '    <Sessions lifetime="28800" timeout="3600" relayState="ss:mem" checkAddress="false" handlerSSL="false" cookieProps="http" redirectLimit="exact">',
    `      <SSO entityID="${xmlAttr(opts.idpEntityId)}"${opts.signedPostRequests ? ' outgoingBindings="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"' : ''}>SAML2</SSO>`,
    '      <Logout>SAML2 Local</Logout>',
    '      <Handler type="MetadataGenerator" Location="/Metadata" signing="false"/>',
    '      <Handler type="Status" Location="/Status" acl="127.0.0.1 ::1"/>',
    '      <Handler type="Session" Location="/Session" showAttributeValues="true"/>',
    '    </Sessions>',
    '    <Errors supportContact="root@localhost" helpLocation="/about.html" styleSheet="/shibboleth-sp/main.css"/>',
    `    <MetadataProvider type="XML" validate="true" path="${dir}/idp-metadata.xml"/>`,
    `    <AttributeExtractor type="XML" validate="true" reloadChanges="false" path="${dir}/attribute-map.xml"/>`,
    `    <AttributeFilter type="XML" validate="true" path="${dir}/attribute-policy.xml"/>`,
    `    <CredentialResolver type="File" use="signing" key="${signing.keyFile}" certificate="${signing.certFile}"/>`,
    `    <CredentialResolver type="File" use="encryption" key="${encryption.keyFile}" certificate="${encryption.certFile}"/>`,
    '  </ApplicationDefaults>',
    `  <SecurityPolicyProvider type="XML" validate="true" path="${SHIB_SHARED_CONFIG}/security-policy.xml"/>`,
    `  <ProtocolProvider type="XML" validate="true" reloadChanges="false" path="${SHIB_SHARED_CONFIG}/protocols.xml"/>`,
    '</SPConfig>',
    '',
  ].join('\n');
  const shibConfig = path.join(dir, 'shibboleth2.xml');
  writeReadable(shibConfig, shib2);

  const shibd = spawnLogged(SHIBD_BIN, ['-f', '-F', '-c', shibConfig, '-p', path.join(dir, 'run', 'shibd.pid')]);
  const shibLogs = () =>
    `--- shibd output ---\n${shibd.output()}\n--- ${dir}/shibd.log ---\n${readIf(path.join(dir, 'shibd.log'))}\n--- ${dir}/native.log ---\n${readIf(path.join(dir, 'native.log'))}`;
  try {
    await waitFor(
      'shibd',
      async () =>
        existsSync(socket) &&
        /Listener service starting|listener service starting/i.test(readIf(path.join(dir, 'shibd.log')) + shibd.output()),
      () => (shibd.child.exitCode !== null ? `exited with ${shibd.child.exitCode}` : null),
      60_000,
      shibLogs,
    );
  } catch (err) {
    await stopProcess(shibd);
    throw err;
  }

  let sp: RunningApache;
  try {
    sp = await startApache(dir, {
      port,
      modules: { mod_shib: 'mod_shib.so' },
      siteConfig: () =>
        [
          `ShibConfig "${shibConfig}"`,
          'ShibCompatValidUser Off',
          '<Location /Shibboleth.sso>',
          '  SetHandler shib',
          '</Location>',
          '<Location /protected>',
          '  AuthType shibboleth',
          '  ShibRequestSetting requireSession 1',
          '  ShibUseEnvironment On',
          '  Require shib-session',
          '</Location>',
        ].join('\n'),
    });
  } catch (err) {
    await stopProcess(shibd);
    throw new Error(`${(err as Error).message}\n${shibLogs()}`, { cause: err });
  }
  return {
    ...sp,
    entityId,
    metadataUrl: `${baseUrl}/Shibboleth.sso/Metadata`,
    logoutUrl: (returnTo) => `${baseUrl}/Shibboleth.sso/Logout?return=${encodeURIComponent(returnTo)}`,
    shibd,
    logs: () => `${sp.logs()}\n${shibLogs()}`,
    stop: async () => {
      await sp.stop();
      await stopProcess(shibd);
    },
  };
}

/** Removes a peer's directory, unless the test failed and KEEP_INTEROP_LOGS or a failure asks to keep it. */
export function removePeerDir(dir: string, keep: boolean): void {
  if (keep || process.env.KEEP_INTEROP_LOGS === '1') {
    console.warn(`    interop logs kept in ${dir}`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}
