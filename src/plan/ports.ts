// EXPOSE port specs (BuildKit's convert_expose.go) and STOPSIGNAL names (moby/sys/signal, Linux).

/** A bad port spec or signal; the caller adds the location. */
export class SpecError extends Error {}

function parsePortNumber(raw: string): number {
  if (raw === '') throw new SpecError('value is empty');
  if (!/^[+-]?[0-9]+$/.test(raw)) throw new SpecError('invalid syntax');
  const n = Number(raw);
  if (n < 0 || n > 65535) throw new SpecError('value out of range (0–65535)');
  return n;
}

function parsePortRange(ports: string): [number, number] {
  if (ports === '') throw new SpecError('empty string specified for ports');
  const dash = ports.indexOf('-');
  const start = dash < 0 ? ports : ports.slice(0, dash);
  const end = dash < 0 ? '' : ports.slice(dash + 1);
  let s: number;
  try {
    s = parsePortNumber(start);
  } catch (e) {
    throw new SpecError(`invalid start port '${start}': ${(e as Error).message}`);
  }
  if (dash < 0 || start === end) return [s, s];
  let n: number;
  try {
    n = parsePortNumber(end);
  } catch (e) {
    throw new SpecError(`invalid end port '${end}': ${(e as Error).message}`);
  }
  if (n < s) throw new SpecError('invalid port range: ' + ports);
  return [s, n];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  if (parts.length === 1) return ['', '', parts[0]!];
  if (parts.length === 2) return ['', parts[0]!, parts[1]!];
  const n = parts.length;
  return [parts.slice(0, n - 2).join(':'), parts[n - 2]!, parts[n - 1]!];
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function isIp(s: string): boolean {
  return IPV4.test(s) || (s.includes(':') && /^[0-9A-Fa-f:.]+$/.test(s));
}

/** `[ip:][hostPort:]port[-end][/proto]` → `port/proto` strings (ranges expanded, proto lower-cased, default tcp). */
export function parsePort(raw: string): string[] {
  let [ip, hostPort, containerPort] = splitParts(raw);
  const slash = containerPort.indexOf('/');
  const port = slash < 0 ? containerPort : containerPort.slice(0, slash);
  let proto = slash < 0 ? '' : containerPort.slice(slash + 1);
  if (port === '') throw new SpecError(`invalid port: ${JSON.stringify(raw)}: no port specified`);
  switch (proto.toLowerCase()) {
    case '':
      proto = 'tcp';
      break;
    case 'tcp':
    case 'udp':
    case 'sctp':
      break;
    default:
      throw new SpecError(`invalid port: ${JSON.stringify(raw)}: invalid proto: ${proto}`);
  }
  containerPort = port;
  if (ip.startsWith('[')) ip = ip.replace(/^\[/, '').replace(/\]$/, '');
  if (ip !== '' && !isIp(ip)) throw new SpecError('invalid IP address: ' + ip);
  let start: number;
  let end: number;
  try {
    [start, end] = parsePortRange(containerPort);
  } catch {
    throw new SpecError('invalid containerPort: ' + containerPort);
  }
  if (hostPort !== '') {
    let hs: number;
    let he: number;
    try {
      [hs, he] = parsePortRange(hostPort);
    } catch {
      throw new SpecError('invalid hostPort: ' + hostPort);
    }
    if (end - start !== he - hs && end !== start) {
      throw new SpecError(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
  }
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto.toLowerCase()}`);
  return out;
}

const SIGNALS = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL',
  'PROF', 'PWR', 'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1',
  'USR2', 'VTALRM', 'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/** Throws unless `raw` is a signal number (not 0) or a Linux signal name (with or without SIG). */
export function checkSignal(raw: string): void {
  if (/^[+-]?[0-9]+$/.test(raw)) {
    if (Number(raw) === 0) throw new SpecError(`Invalid signal: ${raw}`);
    return;
  }
  const name = raw.toUpperCase().replace(/^SIG/, '');
  if (!SIGNALS.has(name)) throw new SpecError(`Invalid signal: ${raw}`);
}
