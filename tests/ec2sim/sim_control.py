"""The parts of the emulator a test steers: credentials, throttling buckets,
injected faults, and the request log and counters.

All randomness comes from `random.Random` objects seeded from the emulator's
seed, one per purpose, so that a run is repeatable and one kind of draw does
not shift another.  Times are emulator-clock seconds.
"""

import collections
import random
import string
import threading

from sim_store import (IMAGE_STATES, INSTANCE_STATES, SNAPSHOT_STATES,
                       VOL_ID, VOLUME_STATES, tags_from)

# EC2 request token buckets (size, refill per second), from the throttling
# page of the EC2 developer guide.
BUCKETS = {
    "describe": (100, 20.0),
    "describe-unfiltered": (50, 10.0),
    "CreateSnapshot": (100, 5.0),
    "CreateSnapshots": (100, 5.0),
    "DeleteSnapshot": (100, 5.0),
    "CreateTags": (100, 10.0),
}


def make_rng(seed, purpose):
    return random.Random("%s/%s" % (seed, purpose))


# -- credentials ---------------------------------------------------------

class Credential:
    __slots__ = ("access_key", "secret", "token", "expiration", "source")

    def __init__(self, access_key, secret, token=None, expiration=None,
                 source="static"):
        self.access_key = access_key
        self.secret = secret
        self.token = token
        self.expiration = expiration
        self.source = source


class Credentials:
    """Access keys the EC2 endpoint accepts, and the temporary ones handed
    out by the metadata and container endpoints.

    A temporary credential stays valid until its expiration even after a
    newer one has been issued, as with real instance roles."""

    REFRESH_BEFORE = 300.0

    def __init__(self, seed):
        self._lock = threading.Lock()
        self._rng = make_rng(seed, "credentials")
        self._keys = {}
        self._current = {}
        self.lifetime = 21600.0

    def add(self, access_key, secret, token=None, expiration=None,
            source="static"):
        with self._lock:
            c = Credential(access_key, secret, token, expiration, source)
            self._keys[access_key] = c
            return c

    def remove(self, access_key):
        with self._lock:
            self._keys.pop(access_key, None)
            for k, c in list(self._current.items()):
                if c.access_key == access_key:
                    del self._current[k]

    def lookup(self, access_key):
        with self._lock:
            return self._keys.get(access_key)

    def _random(self, alphabet, n):
        return "".join(self._rng.choice(alphabet) for _ in range(n))

    def current(self, source, now, rotate=False):
        """The temporary credential `source` ("imds", "container") hands out
        now; a new one once less than min(5 min, half the lifetime) is
        left."""
        with self._lock:
            c = self._current.get(source)
            window = min(self.REFRESH_BEFORE, self.lifetime / 2.0)
            if rotate or c is None or c.expiration - now <= window:
                key = "ASIA" + self._random(string.ascii_uppercase + string.digits, 16)
                secret = self._random(string.ascii_letters + string.digits + "+/", 40)
                token = "IQoJb3JpZ2luX2VjE" + self._random(
                    string.ascii_letters + string.digits + "+/", 300) + "=="
                c = Credential(key, secret, token, now + self.lifetime, source)
                self._keys[key] = c
                self._current[source] = c
            return c

    def expire(self, access_key, now):
        with self._lock:
            c = self._keys.get(access_key)
            if c is None:
                return False
            c.expiration = now
            return True

    def dump(self):
        with self._lock:
            return [{"access_key": c.access_key, "source": c.source,
                     "temporary": c.token is not None,
                     "expiration": c.expiration}
                    for c in self._keys.values()]


# -- throttling ----------------------------------------------------------

class Throttle:
    """One token bucket per action and category.  Buckets refill with the
    emulator clock at the documented rate times `scale`; their sizes never
    change.  A clock set backwards refills nothing."""

    def __init__(self, scale=1.0, enabled=True):
        self._lock = threading.Lock()
        self.scale = float(scale)
        self.enabled = enabled
        self.overrides = {}
        self._buckets = {}     # name -> [tokens, last refill time, category]

    def _limits(self, category):
        return self.overrides.get(category, BUCKETS[category])

    def take(self, name, category, now):
        """Take one token; False when the bucket is empty."""
        with self._lock:
            if not self.enabled:
                return True
            size, rate = self._limits(category)
            b = self._buckets.get(name)
            if b is None:
                b = self._buckets[name] = [float(size), now, category]
            elif now > b[1]:
                b[0] = min(float(size), b[0] + (now - b[1]) * rate * self.scale)
                b[1] = now
            else:
                b[1] = now
            # Times are epoch floats (about 2e-7 s apart at today's dates),
            # so a refill meant to give one token may give 0.99999.
            if b[0] >= 1.0 - 1e-3:
                b[0] = max(0.0, b[0] - 1.0)
                return True
            return False

    def refill(self):
        with self._lock:
            self._buckets.clear()

    def status(self, now):
        with self._lock:
            out = {}
            for name, (tokens, last, category) in self._buckets.items():
                size, rate = self._limits(category)
                if now > last:
                    tokens = min(float(size), tokens + (now - last) * rate * self.scale)
                out[name] = {"category": category, "tokens": round(tokens, 3),
                             "size": size, "refill_per_second": rate * self.scale}
            return {"enabled": self.enabled, "scale": self.scale,
                    "categories": {k: {"size": self._limits(k)[0],
                                       "refill_per_second": self._limits(k)[1]}
                                   for k in BUCKETS},
                    "buckets": out}


# -- faults --------------------------------------------------------------

# Faults in how a reply travels, or whether the call is answered at all;
# decided when the call arrives.
WIRE_KINDS = ("internal_error", "unavailable", "throttle", "reset_before",
              "reset_after", "latency", "truncate", "malformed", "trickle")
# Faults after which the action has not been applied.
BEFORE_ACTION = ("internal_error", "unavailable", "throttle", "reset_before")

LISTINGS = ("DescribeSnapshots", "DescribeVolumes", "DescribeImages",
            "DescribeInstances")
# Faults in what an action answers, with the actions that have them.  The
# action consults them where they apply (at the deletion, for each page),
# so that a rule's count is spent only on answers it changed.
ACTION_KINDS = {
    "return_false": ("DeleteSnapshot",),
    "repeat_items": LISTINGS,
    "token_loop": LISTINGS,
    "token_chain": LISTINGS,
}
FAULT_KINDS = WIRE_KINDS + tuple(ACTION_KINDS)

# What a repeated item may disagree in, per listing, and the states its
# copy may be given.
REPEAT_VARIANTS = {
    "DescribeSnapshots": ("identical", "volume_id", "state", "tags"),
    "DescribeVolumes": ("identical", "state", "tags"),
    "DescribeImages": ("identical", "state", "tags"),
    "DescribeInstances": ("identical", "state", "tags"),
}
_STATES = {"DescribeSnapshots": SNAPSHOT_STATES,
           "DescribeVolumes": VOLUME_STATES,
           "DescribeImages": IMAGE_STATES,
           "DescribeInstances": tuple(INSTANCE_STATES)}
CHAIN_ITEMS = ("none", "same")

_WIRE_OPTIONS = {"latency_ms", "jitter_ms", "fraction", "chunked",
                 "bytes", "interval_ms"}
_ACTION_OPTIONS = {"return_false": set(),
                   "repeat_items": {"repeat", "variant", "value"},
                   "token_loop": {"tokens"},
                   "token_chain": {"items"}}
_FAULT_OPTIONS = _WIRE_OPTIONS.union(*_ACTION_OPTIONS.values())


class Fault:
    """One decided fault: its kind, options, and the state its rule keeps
    across calls (the token cycles of a token_loop)."""

    __slots__ = ("kind", "options", "state")

    def __init__(self, kind, options, state=None):
        self.kind = kind
        self.options = options
        self.state = state if state is not None else {}

    def get(self, name, default):
        v = self.options.get(name)
        return default if v is None else v


def _fault_spec(spec, defaults, state=None):
    """A Fault from a kind name or an object with 'kind'; its own options
    must be ones its kind takes, while `defaults` (a rule's options for all
    of its sequence) are kept only where they apply."""
    if isinstance(spec, str):
        kind, options = spec, {}
    elif isinstance(spec, dict):
        kind = spec.get("kind")
        options = {k: v for k, v in spec.items() if k != "kind"}
    else:
        raise ValueError("a fault is a kind name or an object with 'kind'")
    if kind in (None, "ok", "none"):
        return None
    if kind not in FAULT_KINDS:
        raise ValueError("unknown fault kind %r (known: %s)"
                         % (kind, ", ".join(FAULT_KINDS)))
    unknown = set(options) - _FAULT_OPTIONS
    if unknown:
        raise ValueError("unknown fault option(s): %s" % ", ".join(sorted(unknown)))
    takes = _ACTION_OPTIONS.get(kind, _WIRE_OPTIONS)
    stray = set(options) - takes
    if stray:
        raise ValueError("option(s) %s do not apply to %s"
                         % (", ".join(sorted(stray)), kind))
    merged = {k: v for k, v in defaults.items() if k in takes}
    merged.update(options)
    return Fault(kind, merged, state)


def _whole(options, name, default, minimum):
    v = options.get(name, default)
    if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
        raise ValueError("%s must be a whole number of at least %d" % (name, minimum))
    return v


def _check_repeat(action, options):
    options["repeat"] = _whole(options, "repeat", 1, 1)
    variant = options.setdefault("variant", "identical")
    if variant not in REPEAT_VARIANTS[action]:
        raise ValueError("variant for %s is one of %s"
                         % (action, ", ".join(REPEAT_VARIANTS[action])))
    value = options.get("value")
    if value is None:
        return
    if variant == "identical":
        raise ValueError("'value' needs a variant other than identical")
    if variant == "state" and value not in _STATES[action]:
        raise ValueError("state value for %s is one of %s"
                         % (action, ", ".join(_STATES[action])))
    if variant == "volume_id" and not (isinstance(value, str) and VOL_ID.match(value)):
        raise ValueError("volume_id value must be a volume id")
    if variant == "tags":
        tags_from(value)


def _check_action_fault(action, fault, resources):
    """Validate (and complete with defaults) a fault that changes what
    `action` answers."""
    if action not in ACTION_KINDS[fault.kind]:
        raise ValueError("%s applies to %s only; name one as 'action'"
                         % (fault.kind, ", ".join(ACTION_KINDS[fault.kind])))
    if action in LISTINGS and resources is not None:
        raise ValueError("'resources' cannot limit %s: paginated calls name "
                         "no ids" % fault.kind)
    o = fault.options
    if fault.kind == "repeat_items":
        _check_repeat(action, o)
    elif fault.kind == "token_loop":
        o["tokens"] = _whole(o, "tokens", 1, 1)
    elif fault.kind == "token_chain":
        o.setdefault("items", "none")
        if o["items"] not in CHAIN_ITEMS:
            raise ValueError("items is one of %s" % ", ".join(CHAIN_ITEMS))


def _resources(value):
    if value is None:
        return None
    if (not isinstance(value, list) or not value or
            not all(isinstance(r, str) and r for r in value)):
        raise ValueError("resources must be a non-empty list of ids")
    return frozenset(value)


class FaultRule:
    def __init__(self, rid, spec):
        self.id = rid
        self.action = spec.get("action", "*")
        if not isinstance(self.action, str):
            raise ValueError("'action' must be a string")
        self.probability = spec.get("probability")
        if self.probability is not None and not 0 <= float(self.probability) <= 1:
            raise ValueError("probability must be within 0..1")
        self.remaining = spec.get("count")
        if self.remaining is not None and int(self.remaining) < 1:
            raise ValueError("count must be at least 1")
        self.resources = _resources(spec.get("resources"))
        self.state = {}
        defaults = {k: v for k, v in spec.items() if k in _FAULT_OPTIONS}
        seq = spec.get("sequence")
        if seq is not None:
            if not isinstance(seq, list) or not seq:
                raise ValueError("sequence must be a non-empty list")
            self.sequence = collections.deque(
                _fault_spec(s, defaults, self.state) for s in seq)
            self.fault = None
            faults = [f for f in self.sequence if f is not None]
        else:
            self.sequence = None
            self.fault = _fault_spec(dict(defaults, kind=spec.get("kind")), {},
                                     self.state)
            if self.fault is None:
                raise ValueError("a fault rule needs 'kind' or 'sequence'")
            faults = [self.fault]
        self.in_action = self._group(faults)
        if self.in_action:
            for f in faults:
                _check_action_fault(self.action, f, self.resources)
        self.fired = 0

    @staticmethod
    def _group(faults):
        """True for a rule of faults in what an action answers, which are
        consulted at another moment than the others and cannot share a
        sequence with them."""
        groups = {f.kind in ACTION_KINDS for f in faults}
        if len(groups) > 1:
            raise ValueError("a sequence cannot mix %s with %s"
                             % ("/".join(ACTION_KINDS), "/".join(WIRE_KINDS)))
        return groups == {True}

    def matches(self, action, ec2, resources=()):
        """The rule's action (or "*" for any EC2 action), and, for a rule
        limited to some resources, a call that names one of them."""
        if not (self.action == action or (self.action == "*" and ec2)):
            return False
        return self.resources is None or any(r in self.resources for r in resources)

    def draw(self, rng):
        """The fault for one matching call (None for none) and whether the
        rule is used up."""
        if self.sequence is not None:
            f = self.sequence.popleft()
            return f, not self.sequence
        if self.probability is not None and rng.random() >= float(self.probability):
            return None, False
        if self.remaining is not None:
            self.remaining -= 1
            return self.fault, self.remaining <= 0
        return self.fault, False

    def dump(self):
        d = {"id": self.id, "action": self.action, "fired": self.fired}
        if self.resources is not None:
            d["resources"] = sorted(self.resources)
        if self.sequence is not None:
            d["sequence"] = [f.kind if f else "ok" for f in self.sequence]
        else:
            d["kind"] = self.fault.kind
            d.update(self.fault.options)
            if self.probability is not None:
                d["probability"] = self.probability
            if self.remaining is not None:
                d["count"] = self.remaining
        return d


class Faults:
    """Fault rules, consulted in the order they were added.  Latency rules
    add up; of the other kinds the first rule that fires wins, and the
    rules after it are not consulted for that call.

    Rules of the kinds in ACTION_KINDS are not consulted when a call
    arrives but by the action, through take(), and draw from their own
    generator so that adding one does not shift the draws of the others."""

    def __init__(self, seed):
        self._lock = threading.Lock()
        self._rng = make_rng(seed, "faults")
        self._action_rng = make_rng(seed, "faults/action")
        self._rules = []
        self._next = 1

    def add(self, spec):
        with self._lock:
            rule = FaultRule(self._next, spec)
            self._next += 1
            self._rules.append(rule)
            return rule.id

    def clear(self, action=None):
        with self._lock:
            if action is None:
                self._rules = []
            else:
                self._rules = [r for r in self._rules if r.action != action]

    def decide(self, action, ec2=True, resources=()):
        """(latency in seconds, the fault or None) for one call.  Rules for
        "*" match every EC2 action, but not the metadata endpoints.
        resources: the ids the call names, for rules limited to some."""
        latency = 0.0
        chosen = None
        with self._lock:
            for rule in list(self._rules):
                if rule.in_action or not rule.matches(action, ec2, resources):
                    continue
                if chosen is not None and (rule.sequence is not None or
                                           rule.fault.kind != "latency"):
                    continue
                f, used_up = rule.draw(self._rng)
                if used_up:
                    self._rules.remove(rule)
                if f is None:
                    continue
                rule.fired += 1
                if f.kind == "latency":
                    latency += (float(f.get("latency_ms", 0)) +
                                self._rng.uniform(0, float(f.get("jitter_ms", 0)))) / 1000.0
                elif chosen is None:
                    chosen = f
        return latency, chosen

    def take(self, action, applies, resources=()):
        """The fault that changes this answer of `action`, or None.

        An action asks where it could misbehave: once per deletion, once per
        page of a paginated listing.  applies(kind) says whether a kind
        makes sense there (a repeat needs a page before it); a rule whose
        kind does not is left for later, with its count intact.  A
        sequence spends one step at each such point, and a step whose kind
        does not apply there counts as "ok"."""
        with self._lock:
            for rule in list(self._rules):
                if not rule.in_action or not rule.matches(action, True, resources):
                    continue
                if rule.sequence is None and not applies(rule.fault.kind):
                    continue
                f, used_up = rule.draw(self._action_rng)
                if used_up:
                    self._rules.remove(rule)
                if f is None or not applies(f.kind):
                    continue
                rule.fired += 1
                return f
        return None

    def dump(self):
        with self._lock:
            return [r.dump() for r in self._rules]


# -- permissions ---------------------------------------------------------

class Permissions:
    """Actions a test has taken away, wholly or only for some resource ids
    (as an IAM policy with a Deny on some ARNs would)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._whole = set()
        self._some = {}        # action -> ids it is refused on
        self._needs = {}       # action -> tag keys the request must carry

    def revoke(self, action, resources=None):
        with self._lock:
            if resources is None:
                self._whole.add(action)
                self._some.pop(action, None)
            elif action not in self._whole:
                self._some.setdefault(action, set()).update(resources)

    def require_tags(self, action, keys):
        """Allow `action` only when the request tags the new resource with
        every key (an IAM condition on aws:RequestTag/KEY)."""
        with self._lock:
            self._needs[action] = set(keys)

    def restore(self, action):
        with self._lock:
            self._whole.discard(action)
            self._some.pop(action, None)
            self._needs.pop(action, None)

    def clear(self):
        with self._lock:
            self._whole.clear()
            self._some.clear()
            self._needs.clear()

    def refuses(self, action, resources=(), tags=None):
        """Whether a call of `action` naming `resources` (and tagging what
        it makes with `tags`, a list of keys) is refused: the action is
        revoked, one of the ids is, or a required tag is missing."""
        with self._lock:
            if action in self._whole:
                return True
            needs = self._needs.get(action)
            if needs and not needs <= set(tags or ()):
                return True
            ids = self._some.get(action)
            return bool(ids) and any(r in ids for r in resources)

    def dump(self):
        with self._lock:
            out = {"revoked": sorted(self._whole),
                   "resources": {a: sorted(ids) for a, ids in sorted(self._some.items())}}
            if self._needs:
                out["require_tags"] = {a: sorted(k) for a, k in
                                       sorted(self._needs.items())}
            return out


# -- request log and counters ---------------------------------------------

class Recorder:
    """The request log (bounded) and per-action counters."""

    def __init__(self, limit=100000):
        self._lock = threading.Lock()
        self._log = collections.deque(maxlen=limit)
        self._seq = 0
        self._counters = {}

    def record(self, entry):
        with self._lock:
            self._seq += 1
            entry["seq"] = self._seq
            self._log.append(entry)
            c = self._counters.get(entry["action"])
            if c is None:
                c = self._counters[entry["action"]] = {
                    "requests": 0, "ok": 0, "errors": 0, "throttled": 0,
                    "faults": 0, "codes": {}, "fault_kinds": {}}
            c["requests"] += 1
            if entry.get("fault"):
                c["faults"] += 1
                k = entry["fault"]
                c["fault_kinds"][k] = c["fault_kinds"].get(k, 0) + 1
            code = entry.get("code")
            if code == "RequestLimitExceeded":
                c["throttled"] += 1
            if code:
                c["errors"] += 1
                c["codes"][code] = c["codes"].get(code, 0) + 1
            elif entry.get("status", 0) < 400 and not entry.get("fault"):
                c["ok"] += 1

    def log(self, since=0, limit=None, action=None):
        with self._lock:
            out = [e for e in self._log if e["seq"] > since and
                   (action is None or e["action"] == action)]
        if limit is not None:
            out = out[:limit]
        return out

    def counters(self):
        with self._lock:
            actions = {k: dict(v, codes=dict(v["codes"]),
                               fault_kinds=dict(v["fault_kinds"]))
                       for k, v in self._counters.items()}
        total = {k: sum(a[k] for a in actions.values())
                 for k in ("requests", "ok", "errors", "throttled", "faults")}
        return {"actions": actions, "total": total}

    def clear(self):
        with self._lock:
            self._log.clear()
            self._counters = {}
