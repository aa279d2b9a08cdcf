import { classifyAddress, isAllowed, resolveAllowedAddress, SsrfRefusedError, type LookupFn } from '../../../src/providers/ssrf';

describe('classifyAddress', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.10', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback (ipv4-mapped)'],
    ['::ffff:7f00:1', 'loopback (ipv4-mapped)'],
    ['::ffff:a9fe:a9fe', 'link-local (ipv4-mapped)'],
    ['::ffff:8.8.8.8', 'ipv4-mapped'],
    ['0:0:0:0:0:ffff:10.0.0.1', 'private (ipv4-mapped)'],
    ['64:ff9b::a00:1', 'private (nat64)'],
    ['fc00::1', 'unique-local'],
    ['fdff:ffff::1', 'unique-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['2002:7f00:1::', '6to4'],
    ['[::1]', 'loopback'],
  ])('%s is %s', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });

  test.each(['8.8.8.8', '1.1.1.1', '172.32.0.1', '172.15.255.255', '100.128.0.1', '93.184.216.34', '2606:4700:4700::1111', '2a00:1450::1'])(
    '%s is public',
    (ip) => {
      expect(classifyAddress(ip)).toBeNull();
    },
  );

  test.each([
    ['2130706433', 'loopback'],
    ['0177.0.0.1', 'loopback'],
    ['0x7f.0.0.1', 'loopback'],
    ['0x7f000001', 'loopback'],
    ['127.1', 'loopback'],
    ['012.1', 'private'],
    ['0', 'unspecified'],
  ])('numeric form %s is %s, like its dotted form', (ip, cls) => {
    expect(classifyAddress(ip)).toBe(cls);
  });

  test.each(['example.com', '', '256.1.1.1', '1.2.3.4.5', '08.0.0.1', ':::1'])(
    '%j is not an address and is never taken for public',
    (text) => {
      expect(classifyAddress(text)).toBe('invalid');
    },
  );
});

describe('isAllowed', () => {
  test('by host name, case-insensitive, trailing dot ignored', () => {
    expect(isAllowed('Hooks.Internal.', '10.0.0.5', ['hooks.internal'])).toBe(true);
    expect(isAllowed('other.internal', '10.0.0.5', ['hooks.internal'])).toBe(false);
  });

  test('by address and CIDR, both families', () => {
    expect(isAllowed('x', '127.0.0.1', ['127.0.0.1'])).toBe(true);
    expect(isAllowed('x', '127.0.0.2', ['127.0.0.1'])).toBe(false);
    expect(isAllowed('x', '10.1.2.3', ['10.0.0.0/8'])).toBe(true);
    expect(isAllowed('x', '10.200.0.1', ['10.0.0.0/9'])).toBe(false);
    expect(isAllowed('x', 'fd00::5', ['fd00::/8'])).toBe(true);
    expect(isAllowed('x', 'fe80::5', ['fd00::/8'])).toBe(false);
  });

  test('an IPv4-mapped address matches the IPv4 rule of the address it carries', () => {
    expect(isAllowed('x', '::ffff:127.0.0.1', ['127.0.0.0/8'])).toBe(true);
    expect(isAllowed('x', '::1', ['0.0.0.0/8'])).toBe(false);
  });

  test('nothing is allowed by default, and bad entries allow nothing', () => {
    expect(isAllowed('localhost', '127.0.0.1', [])).toBe(false);
    expect(isAllowed('x', '10.0.0.1', ['10.0.0.0/33', '', '  '])).toBe(false);
  });
});

describe('resolveAllowedAddress', () => {
  test('refuses when any resolved address is not public, naming host and class', async () => {
    const lookup: LookupFn = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ];
    const refusal = resolveAllowedAddress('mixed.test', [], lookup);
    await expect(refusal).rejects.toBeInstanceOf(SsrfRefusedError);
    await expect(refusal).rejects.toMatchObject({
      code: 'ssrf_refused',
      message: expect.stringMatching(/mixed\.test.*10\.0\.0\.1.*private/),
    });
  });

  test('an address literal is checked without a lookup', async () => {
    const lookup = jest.fn<ReturnType<LookupFn>, Parameters<LookupFn>>();
    await expect(resolveAllowedAddress('::1', [], lookup)).rejects.toMatchObject({ code: 'ssrf_refused' });
    await expect(resolveAllowedAddress('8.8.8.8', [], lookup)).resolves.toEqual({ address: '8.8.8.8', family: 4 });
    expect(lookup).not.toHaveBeenCalled();
  });
});
