#!/usr/bin/python3
"""Our SigV4 signer against botocore's, on random EC2-like requests.

Generates a few hundred requests from a fixed seed (POST form bodies and
GET query strings, parameter names and values with unicode, spaces, ':',
'/', '~', '*' and friends, headers with odd spacing, repeated headers,
optional session tokens, odd paths, non-default ports), signs each with
botocore's SigV4Auth at a frozen time and with tests/tools/sigv4_sign
(src/sigv4 + src/query), and compares the canonical request, X-Amz-Date,
Authorization and the body or query string that would be sent, exactly.

Run with Debian's interpreter, which has python3-botocore:
    /usr/bin/python3 tests/sigv4/test_botocore.py
The tool is build/tools/sigv4_sign unless $SIGV4_SIGN names another one.
Skips (loudly) when the tool is not built or botocore cannot be imported.
"""

import datetime
import os
import random
import subprocess
import sys
import unittest
from unittest import mock
from urllib.parse import quote

try:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    BOTOCORE_ERROR = None
except ImportError as e:  # pragma: no cover - depends on the host
    BOTOCORE_ERROR = e

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
TOOL = os.environ.get('SIGV4_SIGN') or os.path.join(
    ROOT, 'build', 'tools', 'sigv4_sign')
SEED = 20150830
COUNT = 400

UNRESERVED = '-_.~'
ALNUM = ('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
         '0123456789')
SPECIAL = ' :/~*+=&%?#@!$\'(),;[]"<>\\^`{|}\t\n'
UNICODE = ('\u00e9\u00fc\u00f1\u00df\u00f8\u03a9\u0436\u65e5\u672c'
           '\ud55c\u20ac\u00a0\u2028\U0001f600\u1234')
EC2_ACTIONS = ['DescribeSnapshots', 'DescribeVolumes', 'DescribeImages',
               'CreateSnapshot', 'DeleteSnapshot', 'CreateTags',
               'DescribeRegions']
HOSTS = [
    # (scheme, host, port); port None = the scheme's default
    ('https', 'ec2.us-east-1.amazonaws.com', None),
    ('https', 'ec2.eu-west-3.amazonaws.com', None),
    ('https', 'ec2.cn-north-1.amazonaws.com.cn', None),
    ('http', 'localhost', 4566),
    ('https', '127.0.0.1', 8443),
    ('http', 'ec2-emulator.internal', 8080),
    ('https', 'ec2.us-west-2.amazonaws.com', 443),
]
REGIONS = ['us-east-1', 'us-west-2', 'eu-west-3', 'cn-north-1',
           'ap-southeast-2', 'us-gov-west-1']
FORM = 'application/x-www-form-urlencoded'
TCHARS = ALNUM + "!#$&'*+-.^_`|~"


def esc(data):
    """The tool's transport escaping: any byte may be %XX."""
    if isinstance(data, str):
        data = data.encode('utf-8')
    return ''.join(chr(b) if 0x21 <= b <= 0x7e and b != 0x25
                   else '%%%02X' % b for b in data)


def unesc(s):
    out = bytearray()
    i = 0
    while i < len(s):
        if s[i] == '%':
            out.append(int(s[i + 1:i + 3], 16))
            i += 3
        else:
            out.append(ord(s[i]))
            i += 1
    return bytes(out)


def rfc3986(s):
    return quote(s, safe=UNRESERVED)


class Gen:
    """Random request descriptions from one seeded generator."""

    def __init__(self, seed):
        self.r = random.Random(seed)

    def text(self, lo, hi, pools):
        r = self.r
        return ''.join(r.choice(r.choice(pools))
                       for _ in range(r.randint(lo, hi)))

    def value(self):
        r = self.r
        k = r.random()
        if k < 0.1:
            return ''
        if k < 0.3:
            return r.choice(['self', 'vol-0123456789abcdef0', 'true',
                             '1000', 'tag:Name', 'snap tool',
                             'a/b/c', '~*~', '2016-11-15T00:00:00.000Z'])
        return self.text(1, 40, [ALNUM, ALNUM + UNRESERVED, SPECIAL,
                                 UNICODE])

    def name(self):
        r = self.r
        i, j = r.randint(1, 12), r.randint(1, 250)
        k = r.random()
        if k < 0.85:
            return r.choice([
                f'Filter.{i}.Name', f'Filter.{i}.Value.{j}',
                f'VolumeId.{j}', f'SnapshotId.{j}', f'Owner.{i}',
                f'TagSpecification.1.Tag.{i}.Key',
                f'TagSpecification.1.Tag.{i}.Value',
                'TagSpecification.1.ResourceType', 'MaxResults',
                'NextToken', 'DryRun', 'Description', 'ImageId.1'])
        # Names EC2 would never use, for the encoder's sake.
        return self.text(1, 20, [ALNUM, SPECIAL, UNICODE, UNRESERVED])

    def params(self):
        r = self.r
        out = []
        for _ in range(r.choice([0, 1, 2, 3, 5, 8, 13, 30])):
            if out and r.random() < 0.15:
                # A repeated name, so pairs sort by value too.
                out.append((r.choice(out)[0], self.value()))
            else:
                out.append((self.name(), self.value()))
        return out

    def header_value(self):
        r = self.r
        words = [self.text(1, 8, [ALNUM, '"/;=,:()']) for _ in
                 range(r.randint(1, 4))]
        out = self.text(0, 3, [' \t'])
        for w in words:
            out += w + self.text(1, 4, [' ', ' \t'])
        return out if r.random() < 0.5 else out.strip(' \t') or 'x'

    def headers(self, post):
        r = self.r
        out = []
        if post:
            ct = r.choice([FORM + '; charset=utf-8', FORM,
                           '  ' + FORM + ';   charset=utf-8 ',
                           FORM + ';\tcharset=UTF-8'])
            out.append((r.choice(['Content-Type', 'content-type',
                                  'CONTENT-TYPE']), ct))
        for _ in range(r.choice([0, 0, 0, 1, 2, 3])):
            name = r.choice(['X-Custom', 'My-Header1', 'X-Amz-Meta-Foo',
                             'Accept', 'x-dup'])
            if r.random() < 0.3:
                name = 'X-' + self.text(1, 10, [TCHARS])
            out.append((name, self.header_value()))
        if r.random() < 0.1:
            # The same header twice: values joined with ',' in order.
            out.append(('X-Repeat', self.header_value()))
            out.append(('x-repeat', self.header_value()))
        return out

    def path(self):
        r = self.r
        if r.random() < 0.8:
            return '/'
        segs = [r.choice(['a', 'b', '.', '..', '', 'example space',
                          '%41', '$delete', '~user', '*', 'x:y', 'a=b',
                          '@', ';p', '\u00e9t\u00e9', '\U0001f600',
                          'x+y', 'c,d'])
                for _ in range(r.randint(1, 6))]
        return '/' + '/'.join(segs) + r.choice(['', '/'])

    def request(self, index):
        r = self.r
        scheme, host, port = r.choice(HOSTS)
        default = {'http': 80, 'https': 443}[scheme]
        host_header = host if port in (None, default) else f'{host}:{port}'
        netloc = host if port is None else f'{host}:{port}'
        post = r.random() < 0.6
        when = datetime.datetime(2000, 1, 1) + datetime.timedelta(
            seconds=r.randint(0, 38 * 365 * 86400))
        token = None
        if r.random() < 0.5:
            token = self.text(16, 1000, [ALNUM, '/+='])
        req = {
            'index': index,
            'method': 'POST' if post else 'GET',
            'scheme': scheme,
            'netloc': netloc,
            'host': host_header,
            'path': self.path(),
            'region': r.choice(REGIONS),
            'service': r.choice(['ec2'] * 8 + ['sts', 'monitoring']),
            'when': when,
            'access_key': r.choice(['AKIA', 'ASIA']) + self.text(
                16, 16, ['ABCDEFGHIJKLMNOPQRSTUVWXYZ234567']),
            'secret_key': self.text(40, 40, [ALNUM, '/+']),
            'token': token,
            'headers': self.headers(post),
            'action': None,
            'params': [],
            'body': None,
        }
        if post and r.random() < 0.08:
            # A raw body: arbitrary bytes, or nothing at all.
            req['body'] = bytes(r.randrange(256) for _ in
                                range(r.choice([0, 1, 100])))
        else:
            req['action'] = r.choice(EC2_ACTIONS)
            req['params'] = self.params()
        return req


def tool_input(req):
    lines = [
        'method ' + req['method'],
        'host ' + esc(req['host']),
        'path ' + esc(req['path']),
        'region ' + req['region'],
        'service ' + req['service'],
        'date ' + req['when'].strftime('%Y%m%dT%H%M%SZ'),
        'access_key ' + esc(req['access_key']),
        'secret_key ' + esc(req['secret_key']),
    ]
    if req['token'] is not None:
        lines.append('token ' + esc(req['token']))
    for name, value in req['headers']:
        lines.append(f'header {esc(name)} {esc(value)}')
    if req['action'] is not None:
        lines.append('action ' + req['action'])
        lines.append('version 2016-11-15')
        for name, value in req['params']:
            lines.append(f'param {esc(name)} {esc(value)}')
    if req['body'] is not None:
        lines.append('body ' + esc(req['body']))
    lines.append('sign')
    return '\n'.join(lines) + '\n'


def expected_sent(req):
    """What the request carries, encoded here with Python's quote()."""
    if req['body'] is not None:
        return req['body']
    pairs = [('Action', req['action']), ('Version', '2016-11-15')]
    pairs += req['params']
    enc = [(rfc3986(n), rfc3986(v)) for n, v in pairs]
    if req['method'] == 'GET':
        enc.sort()
    return '&'.join(f'{n}={v}' for n, v in enc).encode('ascii')


class CapturingSigV4Auth(SigV4Auth if BOTOCORE_ERROR is None else object):
    def canonical_request(self, request):
        self.last_creq = super().canonical_request(request)
        return self.last_creq


def botocore_sign(req):
    """Signs req with botocore; returns (canonical request, headers)."""
    when = req['when']

    class Frozen(datetime.datetime):
        @classmethod
        def utcnow(cls):
            return cls(when.year, when.month, when.day, when.hour,
                       when.minute, when.second)

        @classmethod
        def now(cls, tz=None):
            t = cls.utcnow()
            return t.replace(tzinfo=tz) if tz is not None else t

    url = f"{req['scheme']}://{req['netloc']}{req['path']}"
    params = None
    data = None
    if req['method'] == 'GET':
        params = [('Action', req['action']), ('Version', '2016-11-15')]
        params += req['params']
    else:
        data = expected_sent(req)
    request = AWSRequest(method=req['method'], url=url, params=params,
                         data=data)
    for name, value in req['headers']:
        request.headers[name] = value  # appends, like a repeated header
    creds = Credentials(req['access_key'], req['secret_key'], req['token'])
    auth = CapturingSigV4Auth(creds, req['service'], req['region'])
    with mock.patch('botocore.auth.datetime.datetime', Frozen):
        auth.add_auth(request)
    return auth.last_creq, request.headers


def parse_tool_output(text):
    blocks = []
    for block in text.split('\n\n'):
        if not block.strip():
            continue
        fields = {}
        for line in block.split('\n'):
            key, _, value = line.partition(' ')
            fields[key] = value
        blocks.append(fields)
    return blocks


class BotocoreComparison(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if BOTOCORE_ERROR is not None:
            msg = (f'SKIP: botocore not importable by {sys.executable} '
                   f'({BOTOCORE_ERROR}); run with /usr/bin/python3 and '
                   'python3-botocore installed')
            print(msg, file=sys.stderr)
            raise unittest.SkipTest(msg)
        if not os.access(TOOL, os.X_OK):
            msg = (f'SKIP: sigv4_sign not built at {TOOL} '
                   '(make tools, or set SIGV4_SIGN)')
            print(msg, file=sys.stderr)
            raise unittest.SkipTest(msg)

    def test_random_requests(self):
        gen = Gen(SEED)
        reqs = [gen.request(i) for i in range(COUNT)]
        proc = subprocess.run([TOOL, '-v'],
                              input=''.join(tool_input(r) for r in reqs),
                              capture_output=True, text=True, check=False,
                              timeout=300)
        self.assertEqual(proc.returncode, 0, proc.stdout[-2000:] +
                         proc.stderr[-2000:])
        blocks = parse_tool_output(proc.stdout)
        self.assertEqual(len(blocks), COUNT)

        failures = []
        kinds = {'POST': 0, 'GET': 0, 'token': 0, 'path': 0, 'port': 0}
        for req, ours in zip(reqs, blocks):
            creq, headers = botocore_sign(req)
            want = {
                'sent': expected_sent(req),
                'creq': creq.encode('utf-8'),
                'x-amz-date': headers['X-Amz-Date'],
                'authorization': headers['Authorization'],
            }
            got = {
                'sent': unesc(ours.get('sent', '')),
                'creq': unesc(ours.get('creq', '')),
                'x-amz-date': ours.get('x-amz-date'),
                'authorization': ours.get('authorization'),
            }
            if 'error' in ours:
                failures.append(f"request {req['index']}: tool error: "
                                f"{ours['error']}")
                continue
            for key in ('sent', 'creq', 'x-amz-date', 'authorization'):
                if want[key] != got[key]:
                    failures.append(f"request {req['index']}: {key}:\n"
                                    f"  botocore {want[key]!r}\n"
                                    f"  ours     {got[key]!r}")
                    break
            kinds[req['method']] += 1
            kinds['token'] += req['token'] is not None
            kinds['path'] += req['path'] != '/'
            kinds['port'] += ':' in req['host']
        self.assertEqual(failures, [], '\n'.join(failures[:5]))
        # The mix must stay varied if the generator is edited.
        for kind, n in kinds.items():
            self.assertGreater(n, COUNT // 20, kind)
        print(f'\nsigv4 vs botocore: {COUNT} requests identical '
              f'({kinds["POST"]} POST, {kinds["GET"]} GET, '
              f'{kinds["token"]} with session token, {kinds["path"]} '
              f'with a non-root path, {kinds["port"]} with a port)',
              file=sys.stderr)


if __name__ == '__main__':
    unittest.main()
