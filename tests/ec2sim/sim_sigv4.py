"""AWS Signature Version 4, as the stages a server needs to check a request.

Each stage is a pure function of its inputs (no clock, no I/O): the canonical
request, the string to sign, the signing key and the signature.  The emulator
rebuilds the signature of every incoming request from these stages and
compares it with the one the client sent; tests use `sign_headers` to make
requests with the same stages.
"""

import hashlib
import hmac
import re
import urllib.parse

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_SPACES = re.compile(r"\s+")


def uri_encode(data, keep_slash=False):
    """Percent-encode str or bytes: only RFC 3986 unreserved bytes stay."""
    return urllib.parse.quote(data, safe="/" if keep_slash else "")


def canonical_uri(raw_path):
    """The path decoded, freed of '.', '..' and empty segments, re-encoded."""
    segments = []
    for seg in raw_path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if segments:
                segments.pop()
            continue
        segments.append(uri_encode(urllib.parse.unquote_to_bytes(seg)))
    path = "/" + "/".join(segments)
    if raw_path.endswith("/") and segments:
        path += "/"
    return path


def canonical_query(raw_query):
    """Sort the parameters by encoded name, then encoded value."""
    pairs = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, _, value = piece.partition("=")
        pairs.append((uri_encode(urllib.parse.unquote_to_bytes(name)),
                      uri_encode(urllib.parse.unquote_to_bytes(value))))
    pairs.sort()
    return "&".join(n + "=" + v for n, v in pairs)


def canonical_headers(headers, signed):
    """headers: (name, value) pairs as sent; signed: lowercase names.

    Values of a repeated header are joined with ',' in sending order; each
    value is trimmed and inner runs of white space become one space.
    """
    values = {}
    for name, value in headers:
        key = name.lower()
        if key in signed:
            values.setdefault(key, []).append(_SPACES.sub(" ", value.strip()))
    return "".join("%s:%s\n" % (name, ",".join(values.get(name, [])))
                   for name in sorted(signed))


def canonical_request(method, raw_path, raw_query, headers, signed, payload_hash):
    return "\n".join([
        method,
        canonical_uri(raw_path),
        canonical_query(raw_query),
        canonical_headers(headers, signed),
        ";".join(sorted(signed)),
        payload_hash,
    ])


def credential_scope(date, region, service):
    return "%s/%s/%s/aws4_request" % (date, region, service)


def string_to_sign(amz_date, scope, creq):
    return "\n".join([ALGORITHM, amz_date, scope,
                      hashlib.sha256(creq.encode("utf-8")).hexdigest()])


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, date, region, service):
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def signature(key, sts):
    return hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()


_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 +Credential=([^,\s]+)\s*,\s*"
    r"SignedHeaders=([^,\s]+)\s*,\s*Signature=([0-9a-fA-F]+)\s*$")


def parse_authorization(value):
    """Split an Authorization header into its parts.

    Returns a dict (access_key, date, region, service, terminator, signed,
    signature) or raises ValueError with the reason.
    """
    if not value.startswith(ALGORITHM + " "):
        raise ValueError("Unsupported authorization type")
    m = _AUTH.match(value)
    if not m:
        raise ValueError("Authorization header requires 'Credential', "
                         "'SignedHeaders' and 'Signature' parameters")
    cred = m.group(1).split("/")
    if len(cred) != 5:
        raise ValueError("Credential should have five slash-separated parts")
    return {
        "access_key": cred[0],
        "date": cred[1],
        "region": cred[2],
        "service": cred[3],
        "terminator": cred[4],
        "signed": m.group(2).split(";"),
        "signature": m.group(3),
    }


def sign_headers(method, host, raw_path, raw_query, headers, body,
                 access_key, secret, region, service, amz_date, token=None):
    """Headers to add to a request so that it is signed (for test clients):
    Host, X-Amz-Date, the token if any, and Authorization.

    headers: the other (name, value) pairs the caller will send; all of
    them are signed.
    """
    extra = [("Host", host), ("X-Amz-Date", amz_date)]
    if token is not None:
        extra.append(("X-Amz-Security-Token", token))
    every = list(headers) + extra
    signed = sorted({name.lower() for name, _ in every})
    creq = canonical_request(method, raw_path, raw_query, every, signed,
                             hashlib.sha256(body).hexdigest())
    scope = credential_scope(amz_date[:8], region, service)
    sig = signature(signing_key(secret, amz_date[:8], region, service),
                    string_to_sign(amz_date, scope, creq))
    auth = "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        ALGORITHM, access_key, scope, ";".join(signed), sig)
    return extra + [("Authorization", auth)]
