"""The EC2 Query API: request authentication, parameters, and the actions.

Checks run in the order a client meets them on EC2: the signature (SigV4,
rebuilt from the request and compared), then the Action and Version, then
unknown parameters and their syntax, then permission (a test can revoke an
action), then DryRun, and only then the state of the resources.  Every
refusal is an `Ec2Error` carrying EC2's code, message and HTTP status.
"""

import base64
import datetime
import hashlib
import hmac
import re
import struct

import sim_pages
import sim_sigv4
import sim_xml
from sim_store import AMI_ID, INSTANCE_ID, SNAP_ID, VOL_ID, merge_tags

API_VERSION = "2016-11-15"

STATUS = {
    "AuthFailure": 401,
    "MissingAuthenticationToken": 401,
    "SignatureDoesNotMatch": 403,
    "UnauthorizedOperation": 403,
    "DryRunOperation": 412,
    "RequestLimitExceeded": 503,
    "Unavailable": 503,
    "InternalError": 500,
}


class Ec2Error(Exception):
    def __init__(self, code, message, status=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.status = status or STATUS.get(code, 400)


def _missing(name):
    return Ec2Error("MissingParameter",
                    "The request must contain the parameter %s" % name)


# -- authentication ------------------------------------------------------

def _parse_amz_date(value):
    try:
        dt = datetime.datetime.strptime(value, "%Y%m%dT%H%M%SZ")
    except ValueError:
        return None
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def _parse_http_date(value):
    try:
        dt = datetime.datetime.strptime(value, "%a, %d %b %Y %H:%M:%S GMT")
    except ValueError:
        return None, None
    dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp(), dt.strftime("%Y%m%dT%H%M%SZ")


def authenticate(sim, method, raw_path, raw_query, headers, body, now, note):
    """Check the request's SigV4 signature and credentials.

    headers: (name, value) pairs as received.  `note` is the log entry, to
    which the canonical request is added when the signature is wrong.
    Returns the Credential used."""
    cfg = sim.config
    get = {}
    for name, value in headers:
        get.setdefault(name.lower(), value)
    value = get.get("authorization")
    if value is None:
        raise Ec2Error("MissingAuthenticationToken",
                       "Request is missing Authentication Token")
    try:
        auth = sim_sigv4.parse_authorization(value)
    except ValueError as e:
        raise Ec2Error("IncompleteSignature", str(e)) from None
    note["access_key"] = auth["access_key"]
    cred = sim.credentials.lookup(auth["access_key"])
    if cred is None:
        raise Ec2Error("AuthFailure",
                       "AWS was not able to validate the provided access credentials")
    if auth["terminator"] != "aws4_request":
        raise Ec2Error("SignatureDoesNotMatch",
                       "Credential should be scoped with a valid terminator: "
                       "'aws4_request', not '%s'." % auth["terminator"])
    if auth["region"] != cfg.region:
        raise Ec2Error("SignatureDoesNotMatch",
                       "Credential should be scoped to a valid region, not '%s'."
                       % auth["region"])
    if auth["service"] != "ec2":
        raise Ec2Error("SignatureDoesNotMatch",
                       "Credential should be scoped to correct service: 'ec2'.")
    signed = [h.lower() for h in auth["signed"]]
    if "host" not in signed:
        raise Ec2Error("IncompleteSignature",
                       "'Host' must be a 'SignedHeader' in the AWS Authorization.")
    if "x-amz-date" in get:
        amz_date = get["x-amz-date"]
        when = _parse_amz_date(amz_date)
        if when is None:
            raise Ec2Error("IncompleteSignature",
                           "X-Amz-Date must be in the ISO8601 Long Format "
                           "(yyyyMMdd'T'HHmmss'Z')")
    elif "date" in get:
        when, amz_date = _parse_http_date(get["date"])
        if when is None:
            raise Ec2Error("IncompleteSignature", "Date header is not valid")
    else:
        raise Ec2Error("IncompleteSignature",
                       "Authorization header requires existence of either a "
                       "'X-Amz-Date' or a 'Date' header.")
    if auth["date"] != amz_date[:8]:
        raise Ec2Error("SignatureDoesNotMatch",
                       "Date in Credential scope does not match YYYYMMDD from "
                       "ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'."
                       % (auth["date"], amz_date[:8], amz_date))
    creq = sim_sigv4.canonical_request(
        method, raw_path, raw_query, headers, signed,
        hashlib.sha256(body).hexdigest())
    scope = sim_sigv4.credential_scope(auth["date"], auth["region"], "ec2")
    sts = sim_sigv4.string_to_sign(amz_date, scope, creq)
    key = sim_sigv4.signing_key(cred.secret, auth["date"], auth["region"], "ec2")
    if not hmac.compare_digest(sim_sigv4.signature(key, sts),
                               auth["signature"].lower()):
        note["canonical_request"] = creq
        note["string_to_sign"] = sts
        raise Ec2Error("SignatureDoesNotMatch",
                       "The request signature we calculated does not match the "
                       "signature you provided. Check your AWS Secret Access Key "
                       "and signing method. Consult the service documentation "
                       "for details.")
    if cfg.max_skew and abs(now - when) > cfg.max_skew:
        raise Ec2Error("RequestExpired",
                       "Request has expired. X-Amz-Date %s is more than %d "
                       "seconds away from the server time %s."
                       % (amz_date, cfg.max_skew, sim_xml.iso_s(now)))
    token = get.get("x-amz-security-token")
    if cred.token is None:
        if token is not None:
            raise Ec2Error("AuthFailure",
                           "The security token included in the request is invalid.")
    elif token != cred.token:
        raise Ec2Error("AuthFailure",
                       "AWS was not able to validate the provided access credentials")
    if cred.expiration is not None and now >= cred.expiration:
        raise Ec2Error("RequestExpired",
                       "The security token included in the request is expired")
    return cred


# -- parameters ----------------------------------------------------------

_FILTER = r"Filter\.[1-9]\d*\.(?:Name|Value\.[1-9]\d*)"
_TAGSPEC = r"TagSpecification\.[1-9]\d*\.(?:ResourceType|Tag\.[1-9]\d*\.(?:Key|Value))"


def _params(*alternatives):
    return re.compile(r"^(?:Action|Version|DryRun|%s)$" % "|".join(alternatives))


KNOWN = {
    "DescribeSnapshots": _params(_FILTER, r"(?:Owner|RestorableBy|SnapshotId)\.[1-9]\d*",
                                 "MaxResults", "NextToken"),
    "DescribeVolumes": _params(_FILTER, r"VolumeId\.[1-9]\d*", "MaxResults",
                               "NextToken", "IncludeManagedResources"),
    "CreateSnapshot": _params("VolumeId", "Description", "OutpostArn",
                              "Location", _TAGSPEC),
    "DeleteSnapshot": _params("SnapshotId"),
    "DescribeImages": _params(_FILTER, r"(?:ExecutableBy|ImageId|Owner)\.[1-9]\d*",
                              "IncludeDeprecated", "IncludeDisabled",
                              "MaxResults", "NextToken"),
    "CreateTags": _params(r"ResourceId\.[1-9]\d*", r"Tag\.[1-9]\d*\.(?:Key|Value)"),
    "DescribeInstances": _params(_FILTER, r"InstanceId\.[1-9]\d*", "MaxResults",
                                 "NextToken"),
    "CreateSnapshots": _params(r"InstanceSpecification\.(?:InstanceId|ExcludeBootVolume"
                               r"|ExcludeDataVolumeId\.[1-9]\d*)",
                               "Description", "CopyTagsFromSource", "OutpostArn",
                               "Location", _TAGSPEC),
}


class Params:
    """The request's parameters by wire name."""

    def __init__(self, pairs):
        self.raw = {}
        for name, value in pairs:
            self.raw[name] = value

    def get(self, name, default=None):
        return self.raw.get(name, default)

    def require(self, name):
        v = self.raw.get(name)
        if v is None or v == "":
            raise _missing(name)
        return v

    def check_known(self, action):
        pattern = KNOWN[action]
        for name in self.raw:
            if not pattern.match(name):
                raise Ec2Error("UnknownParameter",
                               "The parameter %s is not recognized" % name)

    def _numbered(self, regex):
        """{index: value} for names matching regex with one number group."""
        out = {}
        for name, value in self.raw.items():
            m = regex.match(name)
            if m:
                out[int(m.group(1))] = value
        return [out[k] for k in sorted(out)]

    def indexed(self, prefix):
        return self._numbered(re.compile(r"^%s\.([1-9]\d*)$" % re.escape(prefix)))

    def boolean(self, name):
        v = self.raw.get(name)
        if v is None:
            return False
        if v.lower() == "true":
            return True
        if v.lower() == "false":
            return False
        raise Ec2Error("InvalidParameterValue",
                       "Value (%s) for parameter %s is invalid. Expected: "
                       "'true' or 'false'." % (v, name))

    def dry_run(self):
        return self.boolean("DryRun")

    def max_results(self, cap, minimum=5):
        """MaxResults, or None when absent; values above cap become cap."""
        v = self.raw.get("MaxResults")
        if v is None:
            return None
        try:
            n = int(v)
        except ValueError:
            raise Ec2Error("InvalidParameterValue",
                           "Invalid value '%s' for MaxResults" % v) from None
        if n < minimum:
            raise Ec2Error("InvalidParameterValue",
                           "Value ( %s ) for parameter maxResults is invalid. "
                           "Expecting a value greater than %d." % (v, minimum - 1))
        return min(n, cap)

    def filters(self):
        """[(name, [values])] in index order."""
        groups = {}
        rx = re.compile(r"^Filter\.([1-9]\d*)\.(Name|Value\.([1-9]\d*))$")
        for name, value in self.raw.items():
            m = rx.match(name)
            if not m:
                continue
            g = groups.setdefault(int(m.group(1)), {"name": None, "values": {}})
            if m.group(2) == "Name":
                g["name"] = value
            else:
                g["values"][int(m.group(3))] = value
        out = []
        for idx in sorted(groups):
            g = groups[idx]
            if not g["name"]:
                raise _missing("Filter.%d.Name" % idx)
            out.append((g["name"], [g["values"][k] for k in sorted(g["values"])]))
        return out

    def tags(self, prefix):
        """[(key, value)] from prefix.N.Key / prefix.N.Value."""
        keys = {}
        values = {}
        rx = re.compile(r"^%s\.([1-9]\d*)\.(Key|Value)$" % re.escape(prefix))
        for name, value in self.raw.items():
            m = rx.match(name)
            if m:
                (keys if m.group(2) == "Key" else values)[int(m.group(1))] = value
        for idx in values:
            if idx not in keys:
                raise _missing("%s.%d.Key" % (prefix, idx))
        return [(keys[i], values.get(i, "")) for i in sorted(keys)]


def check_tags(tags):
    seen = set()
    for key, value in tags:
        if key == "":
            raise Ec2Error("InvalidParameterValue", "Tag key cannot be empty")
        if len(key) > 127:
            raise Ec2Error("InvalidParameterValue",
                           "Tag key exceeds the maximum length of 127 characters")
        if len(value) > 256:
            raise Ec2Error("InvalidParameterValue",
                           "Tag value exceeds the maximum length of 256 characters")
        if key.lower().startswith("aws:"):
            raise Ec2Error("InvalidParameterValue",
                           "Tag keys starting with 'aws:' are reserved for internal use")
        if key in seen:
            raise Ec2Error("InvalidParameterValue",
                           "Duplicate tag key '%s' specified." % key)
        seen.add(key)
    if len(tags) > 50:
        raise Ec2Error("TagLimitExceeded",
                       "The maximum number of Tags for a resource has been reached.")


# -- filters -------------------------------------------------------------

def _wildcard(value):
    """A compiled pattern for a filter value with * or ?, else None.

    '*' matches any run of characters, '?' zero or one character, and a
    backslash makes the next character literal."""
    if "*" not in value and "?" not in value and "\\" not in value:
        return None
    out = []
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and i + 1 < len(value):
            out.append(re.escape(value[i + 1]))
            i += 2
            continue
        out.append(".*" if c == "*" else ".?" if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


def _matcher(values, accessor):
    literal = set()
    patterns = []
    for v in values:
        p = _wildcard(v)
        if p is None:
            literal.add(v)
        else:
            patterns.append(p)
    if not patterns:
        return lambda o: any(x in literal for x in accessor(o))

    def match(o):
        for x in accessor(o):
            if x in literal or any(p.fullmatch(x) for p in patterns):
                return True
        return False
    return match


def _b(v):
    return "true" if v else "false"


def _tag_values(key):
    return lambda o: [v for k, v in o.tags if k == key]


def _tag_keys(o):
    return [k for k, _ in o.tags]


SNAPSHOT_FILTERS = {
    "description": lambda s: (s.description,),
    "encrypted": lambda s: (_b(s.encrypted),),
    "owner-alias": lambda s: (s.alias,) if s.alias else (),
    "owner-id": lambda s: (s.owner,),
    "progress": lambda s: (s.progress,),
    "snapshot-id": lambda s: (s.id,),
    "start-time": lambda s: (sim_xml.iso_ms(s.start),),
    "status": lambda s: (s.state,),
    "storage-tier": lambda s: ("standard",),
    "volume-id": lambda s: (s.volume_id,),
    "volume-size": lambda s: (str(s.size),),
    "tag-key": _tag_keys,
}


def _attached(field):
    """A volume filter on its attachment: nothing when unattached."""
    return lambda v: (field(v.attachment),) if v.attachment else ()


VOLUME_FILTERS = {
    "attachment.attach-time": _attached(lambda a: sim_xml.iso_ms(a.time)),
    "attachment.delete-on-termination": _attached(lambda a: _b(a.delete_on_termination)),
    "attachment.device": _attached(lambda a: a.device),
    "attachment.instance-id": _attached(lambda a: a.instance_id),
    "attachment.status": _attached(lambda a: a.status),
    "availability-zone": lambda v: (v.az,),
    "create-time": lambda v: (sim_xml.iso_ms(v.create_time),),
    "encrypted": lambda v: (_b(v.encrypted),),
    "size": lambda v: (str(v.size),),
    "snapshot-id": lambda v: (v.snapshot_id,),
    "status": lambda v: (v.state,),
    "volume-id": lambda v: (v.id,),
    "volume-type": lambda v: (v.vtype,),
    "tag-key": _tag_keys,
}

IMAGE_FILTERS = {
    "block-device-mapping.snapshot-id": lambda i: i.snapshot_ids,
    "description": lambda i: (i.description,),
    "image-id": lambda i: (i.id,),
    "image-type": lambda i: ("machine",),
    "is-public": lambda i: (_b(i.public),),
    "name": lambda i: (i.name,),
    "owner-alias": lambda i: (i.alias,) if i.alias else (),
    "owner-id": lambda i: (i.owner,),
    "state": lambda i: (i.state,),
    "tag-key": _tag_keys,
}


def _mappings(field):
    """An instance filter on its block device mappings."""
    return lambda i: [field(a) for a in i.attachments]


INSTANCE_FILTERS = {
    "availability-zone": lambda i: (i.az,),
    "block-device-mapping.attach-time": _mappings(lambda a: sim_xml.iso_ms(a.time)),
    "block-device-mapping.delete-on-termination":
        _mappings(lambda a: _b(a.delete_on_termination)),
    "block-device-mapping.device-name": _mappings(lambda a: a.device),
    "block-device-mapping.status": _mappings(lambda a: a.status),
    "block-device-mapping.volume-id": _mappings(lambda a: a.volume_id),
    "image-id": lambda i: (i.image_id,),
    "instance-id": lambda i: (i.id,),
    "instance-state-code": lambda i: (str(i.code),),
    "instance-state-name": lambda i: (i.state,),
    "instance-type": lambda i: (i.itype,),
    "launch-time": lambda i: (sim_xml.iso_ms(i.launch_time),),
    "owner-id": lambda i: (i.owner,),
    "reservation-id": lambda i: (i.reservation,),
    "root-device-name": lambda i: (i.root_device,),
    "root-device-type": lambda i: ("ebs",),
    "tag-key": _tag_keys,
}


def compile_filters(filters, table, limit):
    """(predicates, cache key, literals).

    predicates: [(filter name, predicate)].  literals: {filter name: set of
    values} for the names used by exactly one filter whose values have no
    wildcard, so that an index can select the candidates instead of that
    filter's predicate."""
    predicates = []
    literals = {}
    names = [name for name, _ in filters]
    total = 0
    for name, values in filters:
        if not values:
            raise Ec2Error("InvalidParameterValue",
                           "The filter '%s' requires at least one value" % name)
        total += len(values)
        if name.startswith("tag:") and len(name) > 4:
            accessor = _tag_values(name[4:])
        elif name in table:
            accessor = table[name]
        else:
            raise Ec2Error("InvalidParameterValue",
                           "The filter '%s' is invalid" % name)
        predicates.append((name, _matcher(values, accessor)))
        if names.count(name) == 1 and all(_wildcard(v) is None for v in values):
            literals[name] = set(values)
    if limit and total > limit:
        raise Ec2Error("FilterLimitExceeded",
                       "The maximum number of filter values specified on a "
                       "single call is %d" % limit)
    key = tuple(sorted((n, tuple(sorted(v))) for n, v in filters))
    return predicates, key, literals


OWNER_WORDS = ("self", "amazon", "aws-marketplace", "aws-backup-vault")


def _check_users(values, words):
    for v in values:
        if v not in words and not re.match(r"^\d{12}$", v):
            raise Ec2Error("InvalidUserID.Malformed", 'Invalid user id: "%s"' % v)


# -- actions -------------------------------------------------------------

# A page token holds a sequence number in its low 40 bits (a trillion
# objects); the bits above number the fresh tokens of a token_chain.
_SEQ_BITS = 40
_SEQ_MASK = (1 << _SEQ_BITS) - 1
_NONCE_LIMIT = (1 << (64 - _SEQ_BITS)) - 1


def _any_kind(_):
    return True


def _itself(o):
    return o


def _check_instance_id(iid):
    if not INSTANCE_ID.match(iid):
        raise Ec2Error("InvalidInstanceID.Malformed", 'Invalid id: "%s"' % iid)


def _instances_not_found(ids):
    """EC2's error naming every unknown instance id of a call."""
    if len(ids) == 1:
        return Ec2Error("InvalidInstanceID.NotFound",
                        "The instance ID '%s' does not exist" % ids[0])
    return Ec2Error("InvalidInstanceID.NotFound",
                    "The instance IDs '%s' do not exist" % ", ".join(ids))


def _snapshot_plan(inst, exclude_boot, excluded):
    """The block device mappings CreateSnapshots snapshots (attached ones,
    less the exclusions), and the error a bad exclusion earns, or None."""
    problem = None
    mine = {a.volume_id: a for a in inst.attachments}
    for vid in excluded:
        a = mine.get(vid)
        if a is None:
            problem = problem or Ec2Error(
                "InvalidParameterValue",
                "The volume '%s' is not attached to instance '%s'." % (vid, inst.id))
        elif a.device == inst.root_device:
            problem = problem or Ec2Error(
                "InvalidParameterValue",
                "The volume '%s' is the root volume of instance '%s'; exclude "
                "it with ExcludeBootVolume, not ExcludeDataVolumeIds."
                % (vid, inst.id))
    chosen = [a for a in inst.attachments
              if a.status == "attached" and a.volume_id not in excluded and
              not (exclude_boot and a.device == inst.root_device)]
    return chosen, problem


class Ec2Api:
    def __init__(self, sim):
        self.sim = sim
        self.store = sim.store
        self._fresh = 0

    def dispatch(self, action, params, ctx):
        """Run one action; returns the success document (bytes)."""
        handler = getattr(self, "_" + action)
        params.check_known(action)
        return handler(params, ctx)

    def _authorize(self, action, dry_run, resources=(), tags=None):
        """Refuse a revoked action, or one naming a revoked resource id, or
        one without a tag the rules require, whether DryRun or not; then
        answer a DryRun."""
        if self.sim.permissions.refuses(action, resources, tags):
            raise Ec2Error(
                "UnauthorizedOperation",
                "You are not authorized to perform this operation. Encoded "
                "authorization failure message: " + self.sim.opaque(120))
        if dry_run:
            raise Ec2Error("DryRunOperation",
                           "Request would have succeeded, but DryRun flag is set.")

    # pagination tokens: opaque, bound to the query and to this store's
    # lifetime; standard base64 so that they contain '+', '/' and '='.
    # A fresh token leads to a place already handed out under another
    # token, for the fault rules whose tokens never end.

    def _mask(self, raw):
        pad = hashlib.sha256(self.sim.token_secret + b"/mask").digest()
        return bytes(a ^ b for a, b in zip(raw, pad))

    def _token(self, key, seq, fresh=False):
        if fresh:
            self._fresh = self._fresh % _NONCE_LIMIT + 1
            seq |= self._fresh << _SEQ_BITS
        digest = hashlib.sha256(repr(key).encode()).digest()[:8]
        raw = struct.pack(">IQ", self.sim.token_epoch, seq) + digest
        mac = hmac.new(self.sim.token_secret, raw, hashlib.sha256).digest()[:11]
        return base64.b64encode(b"\xfb\xff\xbf" + self._mask(raw) + mac).decode()

    def _untoken(self, token, key):
        bad = Ec2Error("InvalidNextToken", "The token '%s' is invalid." % token)
        try:
            data = base64.b64decode(token, validate=True)
        except (ValueError, TypeError):
            raise bad from None
        if len(data) != 34 or data[:3] != b"\xfb\xff\xbf":
            raise bad
        raw, mac = self._mask(data[3:23]), data[23:]
        good = hmac.new(self.sim.token_secret, raw, hashlib.sha256).digest()[:11]
        if not hmac.compare_digest(mac, good):
            raise bad
        epoch, seq = struct.unpack(">IQ", raw[:12])
        if (epoch != self.sim.token_epoch or
                raw[12:] != hashlib.sha256(repr(key).encode()).digest()[:8]):
            raise bad
        return seq & _SEQ_MASK

    def _listing(self, action, key, build, token, limit, render, ctx,
                 hidden=None):
        """Render a (possibly paginated) listing; returns (items, token).

        hidden: ids not to show.  Each page of a paginated listing is where
        the fault rules for pages are consulted."""
        after = self._untoken(token, key) if token else 0
        items, seqs = self.store.results(key, build)
        if limit is None and token is None:
            return [render(o) for o in items
                    if not o.deleted and not (hidden and o.id in hidden)], None
        size = limit or 1000
        if self.sim.config.page_size > 0:
            size = min(size, self.sim.config.page_size)
        page = sim_pages.Page(key, items, seqs, after, size, hidden,
                              token, self._token)
        fault = self.sim.faults.take(
            action, lambda kind: token is not None or kind in sim_pages.FIRST_PAGE_KINDS)
        if fault is None:
            objs, resume = page.normal()
            next_token = page.next_token(resume)
        else:
            ctx.note["fault"] = fault.kind
            objs, next_token = sim_pages.serve(page, fault)
        return [render(o) for o in objs], next_token

    def _visibility(self, owners, restorable):
        """Predicate on owner/public: the Owner.N and RestorableBy.N rules."""
        account = self.store.account
        if restorable:
            own_ok = any(r in ("self", account) for r in restorable)
        else:
            own_ok = True
        base = ((lambda o: o.owner == account or o.public) if own_ok
                else (lambda o: o.public))
        if not owners:
            return base
        ids = {account if o == "self" else o for o in owners if o not in OWNER_WORDS[1:]}
        aliases = {o for o in owners if o in OWNER_WORDS[1:]}
        if ids == {account} and not aliases and own_ok:
            return lambda o: o.owner == account
        return lambda o: base(o) and (o.owner in ids or
                                      (o.alias is not None and o.alias in aliases))

    # DescribeSnapshots ------------------------------------------------

    def _DescribeSnapshots(self, p, ctx):
        ids = p.indexed("SnapshotId")
        for sid in ids:
            if not SNAP_ID.match(sid):
                raise Ec2Error("InvalidSnapshotID.Malformed",
                               'Invalid id: "%s" (expecting "snap-...")' % sid)
        owners = p.indexed("Owner")
        _check_users(owners, OWNER_WORDS)
        restorable = p.indexed("RestorableBy")
        _check_users(restorable, ("self", "all"))
        preds, fkey, literals = compile_filters(
            p.filters(), SNAPSHOT_FILTERS, self.sim.config.filter_value_limit)
        limit = p.max_results(1000)
        token = p.get("NextToken")
        if ids and (limit is not None or token is not None):
            raise Ec2Error("InvalidParameterCombination",
                           "The parameter snapshotIdsSet cannot be used with "
                           "the parameter maxResults")
        self._authorize("DescribeSnapshots", p.dry_run(), ids)
        store = self.store
        visible = self._visibility(owners, restorable)
        with store.lock:
            self.sim.tick(ctx.now)
            hidden = store.hidden(ctx.now, self.sim.config.visibility_delay)
            if ids:
                found = {}
                for sid in ids:
                    s = store.snapshots.get(sid)
                    if s is None or (hidden and sid in hidden):
                        raise Ec2Error("InvalidSnapshot.NotFound",
                                       "The snapshot '%s' does not exist." % sid)
                    if visible(s) and all(f(s) for _, f in preds):
                        found[sid] = s
                items = [sim_xml.snapshot_item(s)
                         for s in sorted(found.values(), key=lambda s: s.seq)]
                next_token = None
            else:
                def build():
                    indexed = None
                    if "snapshot-id" in literals:
                        indexed = "snapshot-id"
                        cands = sorted((store.snapshots[i] for i in literals[indexed]
                                        if i in store.snapshots), key=lambda s: s.seq)
                    elif "volume-id" in literals:
                        indexed = "volume-id"
                        cands = store.snapshots_of_volumes(literals[indexed])
                    else:
                        cands = store.snapshots.values()
                    rest = [f for name, f in preds if name != indexed]
                    if rest:
                        return [s for s in cands
                                if visible(s) and all(f(s) for f in rest)]
                    return [s for s in cands if visible(s)]
                key = ("snapshots", tuple(sorted(owners)),
                       tuple(sorted(restorable)), fkey)
                items, next_token = self._listing(
                    "DescribeSnapshots", key, build, token, limit,
                    sim_xml.snapshot_item, ctx, hidden)
            body = sim_xml.item_set("snapshotSet", items, next_token)
        return sim_xml.document("DescribeSnapshots", ctx.request_id, body)

    # DescribeVolumes --------------------------------------------------

    def _DescribeVolumes(self, p, ctx):
        ids = p.indexed("VolumeId")
        for vid in ids:
            if not VOL_ID.match(vid):
                raise Ec2Error("InvalidVolumeID.Malformed",
                               'Invalid id: "%s" (expecting "vol-...")' % vid)
        p.boolean("IncludeManagedResources")
        preds, fkey, literals = compile_filters(
            p.filters(), VOLUME_FILTERS, self.sim.config.filter_value_limit)
        limit = p.max_results(500)
        token = p.get("NextToken")
        if ids and (limit is not None or token is not None):
            raise Ec2Error("InvalidParameterCombination",
                           "The parameter volumeIdsSet cannot be used with "
                           "the parameter maxResults")
        self._authorize("DescribeVolumes", p.dry_run(), ids)
        store = self.store
        with store.lock:
            if ids:
                found = {}
                for vid in ids:
                    v = store.volumes.get(vid)
                    if v is None:
                        raise Ec2Error("InvalidVolume.NotFound",
                                       "The volume '%s' does not exist." % vid)
                    if all(f(v) for _, f in preds):
                        found[vid] = v
                items = [sim_xml.volume_item(v)
                         for v in sorted(found.values(), key=lambda v: v.seq)]
                next_token = None
            else:
                def build():
                    if "volume-id" in literals:
                        cands = sorted((store.volumes[i] for i in literals["volume-id"]
                                        if i in store.volumes), key=lambda v: v.seq)
                    else:
                        cands = store.volumes.values()
                    return [v for v in cands if all(f(v) for _, f in preds)]
                items, next_token = self._listing(
                    "DescribeVolumes", ("volumes", fkey), build, token, limit,
                    sim_xml.volume_item, ctx)
            body = sim_xml.item_set("volumeSet", items, next_token)
        return sim_xml.document("DescribeVolumes", ctx.request_id, body)

    # CreateSnapshot ---------------------------------------------------

    def _tag_specifications(self, p, resource_type):
        specs = {}
        rx = re.compile(r"^TagSpecification\.([1-9]\d*)\.")
        for name in p.raw:
            m = rx.match(name)
            if m:
                specs.setdefault(int(m.group(1)), None)
        tags = []
        for idx in sorted(specs):
            rtype = p.get("TagSpecification.%d.ResourceType" % idx)
            if not rtype:
                raise _missing("TagSpecification.%d.ResourceType" % idx)
            if rtype != resource_type:
                raise Ec2Error("InvalidParameterValue",
                               "'%s' is not a valid taggable resource type for "
                               "this operation." % rtype)
            tags.extend(p.tags("TagSpecification.%d.Tag" % idx))
        check_tags(tags)
        return tuple(tags)

    def _CreateSnapshot(self, p, ctx):
        vid = p.require("VolumeId")
        if not VOL_ID.match(vid):
            raise Ec2Error("InvalidVolumeID.Malformed",
                           'Invalid id: "%s" (expecting "vol-...")' % vid)
        description = p.get("Description", "")
        if len(description) > 255:
            raise Ec2Error("InvalidParameterValue",
                           "Description exceeds the maximum length of 255 characters")
        tags = self._tag_specifications(p, "snapshot")
        dry = p.dry_run()
        if tags:
            self._authorize("CreateTags", False)
        self._authorize("CreateSnapshot", dry, (vid,), [k for k, _ in tags])
        store = self.store
        now = ctx.now
        with store.lock:
            self.sim.tick(now)
            vol = store.volumes.get(vid)
            if vol is None:
                raise Ec2Error("InvalidVolume.NotFound",
                               "The volume '%s' does not exist." % vid)
            self._check_volume_rules(vol, now)
            s = self._new_snapshot(vol, now, description, tags)
            body = sim_xml.created_snapshot(s)
        return sim_xml.document("CreateSnapshot", ctx.request_id, body)

    def _check_volume_rules(self, vol, now):
        """The per-volume rules of CreateSnapshot and CreateSnapshots: a
        volume that can be snapshotted, 15 s since its last snapshot was
        started, fewer than 5 in progress (1 for sc1 and st1)."""
        if vol.state not in ("available", "in-use"):
            raise Ec2Error("IncorrectState",
                           "The volume '%s' is '%s' and cannot be "
                           "snapshotted." % (vol.id, vol.state))
        if vol.last_create is not None and 0 <= now - vol.last_create < 15:
            raise Ec2Error("SnapshotCreationPerVolumeRateExceeded",
                           "The maximum per volume CreateSnapshot request "
                           "rate has been exceeded. Use an increasing or "
                           "variable sleep interval between requests.")
        limit = 1 if vol.vtype in ("sc1", "st1") else 5
        if self.store.busy_on_volume(vol.id) >= limit:
            raise Ec2Error("ConcurrentSnapshotLimitExceeded",
                           "Maximum allowed in-progress snapshots for a "
                           "single volume (%d) exceeded for volume '%s'."
                           % (limit, vol.id))

    def _new_snapshot(self, vol, now, description, tags):
        store = self.store
        sid = self.sim.new_id("snap", lambda i: i in store.snapshots or
                              i in store.pending)
        s = store.add_snapshot(sid, vol.id, state="pending", start=now,
                               progress="0%", description=description,
                               tags=tags)
        store.created[sid] = now
        vol.last_create = now
        return s

    # CreateSnapshots --------------------------------------------------

    def _CreateSnapshots(self, p, ctx):
        iid = p.require("InstanceSpecification.InstanceId")
        _check_instance_id(iid)
        exclude_boot = p.boolean("InstanceSpecification.ExcludeBootVolume")
        excluded = p.indexed("InstanceSpecification.ExcludeDataVolumeId")
        for vid in excluded:
            if not VOL_ID.match(vid):
                raise Ec2Error("InvalidVolumeID.Malformed",
                               'Invalid id: "%s" (expecting "vol-...")' % vid)
        if len(excluded) > 40:
            raise Ec2Error("InvalidParameterValue",
                           "At most 40 volume IDs can be given in "
                           "ExcludeDataVolumeIds; %d were given." % len(excluded))
        description = p.get("Description", "")
        if len(description) > 255:
            raise Ec2Error("InvalidParameterValue",
                           "Description exceeds the maximum length of 255 characters")
        tags = self._tag_specifications(p, "snapshot")
        copy_tags = p.get("CopyTagsFromSource")
        if copy_tags is not None and copy_tags != "volume":
            raise Ec2Error("InvalidParameterValue",
                           "Value (%s) for parameter CopyTagsFromSource is "
                           "invalid. Expected: 'volume'." % copy_tags)
        dry = p.dry_run()
        store = self.store
        now = ctx.now
        with store.lock:
            self.sim.tick(now)
            inst = store.instances.get(iid)
            chosen, problem = (_snapshot_plan(inst, exclude_boot, excluded)
                               if inst is not None else ([], None))
            # IAM sees the instance and the volumes to be snapshotted.
            if tags:
                self._authorize("CreateTags", False)
            self._authorize("CreateSnapshots", dry,
                            (iid,) + tuple(a.volume_id for a in chosen),
                            [k for k, _ in tags])
            if inst is None:
                raise _instances_not_found([iid])
            if inst.state in ("shutting-down", "terminated"):
                raise Ec2Error("IncorrectState",
                               "The instance '%s' is '%s'; the volumes of an "
                               "instance in this state cannot be snapshotted."
                               % (iid, inst.state))
            if problem is not None:
                raise problem
            if not chosen:
                raise Ec2Error("InvalidParameterValue",
                               "The instance '%s' has no attached EBS volume "
                               "left to snapshot." % iid)
            volumes = [store.volumes[a.volume_id] for a in chosen]
            per_volume = []
            for vol in volumes:
                self._check_volume_rules(vol, now)
                # Copied volume tags first; a key given in
                # TagSpecification wins over the volume's.
                own = merge_tags(vol.tags, tags) if copy_tags else tags
                if len(own) > 50:
                    raise Ec2Error("TagLimitExceeded",
                                   "The maximum number of Tags for a resource "
                                   "has been reached.")
                per_volume.append(own)
            made = [self._new_snapshot(vol, now, description, own)
                    for vol, own in zip(volumes, per_volume)]
            store.add_set(made)
            body = sim_xml.item_set("snapshotSet", [
                sim_xml.snapshot_info_item(s, vol.az)
                for s, vol in zip(made, volumes)])
        return sim_xml.document("CreateSnapshots", ctx.request_id, body)

    # DescribeInstances ------------------------------------------------

    def _DescribeInstances(self, p, ctx):
        ids = p.indexed("InstanceId")
        for iid in ids:
            _check_instance_id(iid)
        preds, fkey, literals = compile_filters(
            p.filters(), INSTANCE_FILTERS, self.sim.config.filter_value_limit)
        limit = p.max_results(1000)
        token = p.get("NextToken")
        if ids and (limit is not None or token is not None):
            raise Ec2Error("InvalidParameterCombination",
                           "The parameter instancesSet cannot be used with "
                           "the parameter maxResults")
        self._authorize("DescribeInstances", p.dry_run(), ids)
        store = self.store
        with store.lock:
            self.sim.tick(ctx.now)
            if ids:
                missing = [i for i in dict.fromkeys(ids) if i not in store.instances]
                if missing:
                    raise _instances_not_found(missing)
                found = {}
                for iid in ids:
                    inst = store.instances[iid]
                    if all(f(inst) for _, f in preds):
                        found[iid] = inst
                objs = sorted(found.values(), key=lambda i: i.seq)
                next_token = None
            else:
                def build():
                    if "instance-id" in literals:
                        cands = sorted((store.instances[i] for i in literals["instance-id"]
                                        if i in store.instances), key=lambda i: i.seq)
                    else:
                        cands = store.instances.values()
                    return [i for i in cands if all(f(i) for _, f in preds)]
                objs, next_token = self._listing(
                    "DescribeInstances", ("instances", fkey), build, token, limit,
                    _itself, ctx)
            body = sim_xml.reservation_set(objs, next_token)
        return sim_xml.document("DescribeInstances", ctx.request_id, body)

    # DeleteSnapshot ---------------------------------------------------

    def _DeleteSnapshot(self, p, ctx):
        sid = p.require("SnapshotId")
        if not SNAP_ID.match(sid):
            raise Ec2Error("InvalidSnapshotID.Malformed",
                           'Invalid id: "%s" (expecting "snap-...")' % sid)
        self._authorize("DeleteSnapshot", p.dry_run(), (sid,))
        store = self.store
        with store.lock:
            self.sim.tick(ctx.now)
            s = store.snapshots.get(sid)
            if s is None:
                raise Ec2Error("InvalidSnapshot.NotFound",
                               "The snapshot '%s' does not exist." % sid)
            if s.owner != store.account:
                raise Ec2Error("UnauthorizedOperation",
                               "You are not authorized to perform this operation.")
            users = store.in_use.get(sid)
            if users:
                raise Ec2Error("InvalidSnapshot.InUse",
                               "The snapshot %s is currently in use by %s"
                               % (sid, sorted(users)[0]))
            if self.sim.faults.take("DeleteSnapshot", _any_kind, (sid,)):
                # Accepted, and yet not done: the client must read <return>.
                ctx.note["fault"] = "return_false"
                return sim_xml.document("DeleteSnapshot", ctx.request_id,
                                        b"    <return>false</return>\n")
            store.delete_snapshot(s)
        return sim_xml.document("DeleteSnapshot", ctx.request_id,
                                b"    <return>true</return>\n")

    # DescribeImages ---------------------------------------------------

    def _DescribeImages(self, p, ctx):
        ids = p.indexed("ImageId")
        for iid in ids:
            if not AMI_ID.match(iid):
                raise Ec2Error("InvalidAMIID.Malformed",
                               'Invalid id: "%s" (expecting "ami-...")' % iid)
        owners = p.indexed("Owner")
        _check_users(owners, OWNER_WORDS)
        _check_users(p.indexed("ExecutableBy"), ("self", "all"))
        p.boolean("IncludeDeprecated")
        p.boolean("IncludeDisabled")
        preds, fkey, _ = compile_filters(p.filters(), IMAGE_FILTERS,
                                         self.sim.config.filter_value_limit)
        limit = p.max_results(1000)
        token = p.get("NextToken")
        if ids and (limit is not None or token is not None):
            raise Ec2Error("InvalidParameterCombination",
                           "The parameter imageIdsSet cannot be used with "
                           "the parameter maxResults")
        self._authorize("DescribeImages", p.dry_run(), ids)
        store = self.store
        visible = self._visibility(owners, ())
        with store.lock:
            def render(img):
                return sim_xml.image_item(img, store.snapshots)
            if ids:
                found = {}
                for iid in ids:
                    img = store.images.get(iid)
                    if img is None:
                        raise Ec2Error("InvalidAMIID.NotFound",
                                       "The image id '[%s]' does not exist" % iid)
                    if visible(img) and all(f(img) for _, f in preds):
                        found[iid] = img
                items = [render(i) for i in sorted(found.values(), key=lambda i: i.seq)]
                next_token = None
            else:
                def build():
                    return [i for i in store.images.values()
                            if visible(i) and all(f(i) for _, f in preds)]
                key = ("images", tuple(sorted(owners)), fkey)
                items, next_token = self._listing("DescribeImages", key, build,
                                                  token, limit, render, ctx)
            body = sim_xml.item_set("imagesSet", items, next_token)
        return sim_xml.document("DescribeImages", ctx.request_id, body)

    # CreateTags -------------------------------------------------------

    def _CreateTags(self, p, ctx):
        ids = p.indexed("ResourceId")
        if not ids:
            raise _missing("ResourceId")
        tags = p.tags("Tag")
        if not tags:
            raise _missing("Tag")
        check_tags(tags)
        kinds = []
        for rid in ids:
            kind = rid.split("-", 1)[0]
            rx = {"snap": SNAP_ID, "vol": VOL_ID, "ami": AMI_ID}.get(kind)
            if rx is None:
                raise Ec2Error("InvalidID", "The ID '%s' is not valid" % rid)
            if not rx.match(rid):
                code = {"snap": "InvalidSnapshotID.Malformed",
                        "vol": "InvalidVolumeID.Malformed",
                        "ami": "InvalidAMIID.Malformed"}[kind]
                raise Ec2Error(code, 'Invalid id: "%s"' % rid)
            kinds.append(kind)
        self._authorize("CreateTags", p.dry_run(), ids)
        store = self.store
        with store.lock:
            targets = []
            for rid, kind in zip(ids, kinds):
                if kind == "snap":
                    o = store.snapshots.get(rid)
                    if o is None:
                        raise Ec2Error("InvalidSnapshot.NotFound",
                                       "The snapshot '%s' does not exist." % rid)
                    if o.owner != store.account:
                        raise Ec2Error("UnauthorizedOperation",
                                       "You are not authorized to perform this operation.")
                elif kind == "vol":
                    o = store.volumes.get(rid)
                    if o is None:
                        raise Ec2Error("InvalidVolume.NotFound",
                                       "The volume '%s' does not exist." % rid)
                else:
                    o = store.images.get(rid)
                    if o is None:
                        raise Ec2Error("InvalidAMIID.NotFound",
                                       "The image id '[%s]' does not exist" % rid)
                    if o.owner != store.account:
                        raise Ec2Error("UnauthorizedOperation",
                                       "You are not authorized to perform this operation.")
                if len(merge_tags(o.tags, tags)) > 50:
                    raise Ec2Error("TagLimitExceeded",
                                   "The maximum number of Tags for a resource "
                                   "has been reached.")
                targets.append(o)
            for o in targets:
                o.tags = merge_tags(o.tags, tags)
                store.changed(o)
        return sim_xml.document("CreateTags", ctx.request_id,
                                b"    <return>true</return>\n")


ACTIONS = tuple(KNOWN)

# The parameter naming the resources of each action, for revocations and
# fault rules limited to some resource ids.
RESOURCE_PARAMS = {
    "DeleteSnapshot": "SnapshotId",
    "CreateSnapshot": "VolumeId",
    "CreateSnapshots": "InstanceSpecification.InstanceId",
    "DescribeInstances": "InstanceId",
    "CreateTags": "ResourceId",
    "DescribeSnapshots": "SnapshotId",
    "DescribeVolumes": "VolumeId",
    "DescribeImages": "ImageId",
}


def request_resources(action, params):
    """The resource ids a call names (its SnapshotId, VolumeId, or every
    ResourceId.N / SnapshotId.N / VolumeId.N / ImageId.N), unchecked."""
    name = RESOURCE_PARAMS.get(action)
    if name is None:
        return ()
    single = params.get(name)
    if single:
        return (single,)
    return tuple(params.indexed(name))


def bucket_for(action, params):
    """(bucket name, category) of a call for the throttling buckets."""
    if action in ("DescribeSnapshots", "DescribeVolumes", "DescribeInstances"):
        raw = params.raw
        filtered = any(k.startswith(("Filter.", "SnapshotId.", "VolumeId.",
                                     "InstanceId.")) for k in raw)
        paginated = "MaxResults" in raw or "NextToken" in raw
        if not filtered and not paginated:
            return action + "/unfiltered", "describe-unfiltered"
        return action, "describe"
    if action.startswith("Describe"):
        return action, "describe"
    return action, action
