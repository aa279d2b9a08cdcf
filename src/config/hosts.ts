import { isIP } from 'node:net';

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * Normalized [http] allow entry (host names lowercased), or undefined when the entry is neither a
 * host name, an IP address nor a CIDR. Ports, schemes and wildcards are refused: the SSRF check
 * compares hosts and addresses, and an entry it cannot match would silently allow nothing.
 */
export function normalizeAllowEntry(entry: string): string | undefined {
  const text = entry.trim();
  if (text.includes('/')) return isCidr(text) ? text : undefined;
  if (isIP(text)) return text;
  return isHostName(text) ? text.toLowerCase().replace(/\.$/, '') : undefined;
}

function isCidr(text: string): boolean {
  const [address, prefix, ...rest] = text.split('/');
  const family = isIP(address);
  if (rest.length > 0 || family === 0 || !/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

function isHostName(text: string): boolean {
  const name = text.replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return false;
  const labels = name.split('.');
  // an all-digit last label is a mistyped IPv4 address ("10.0.0.256"), not a host
  if (/^\d+$/.test(labels[labels.length - 1])) return false;
  return labels.every((label) => LABEL.test(label));
}
