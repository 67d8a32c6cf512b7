"""Pages of a listing served the way a broken EC2, or a broken proxy in
front of it, may serve them when a fault rule asks: items of the page
before served again (the same, or contradicting the first copy), and page
tokens that never lead to the end of the listing.

A client that trusts pages to be disjoint counts a snapshot twice, or
keeps whichever copy came last; one that trusts tokens to make progress
never finishes.  Each hostile page is cut from the same cached listing as
a normal one (see sim_store), so everything else about it stays true.
"""

import copy

from sim_store import Image, Instance, Snapshot, Store, Volume, tags_from

# Faults that make sense on the first page of a listing, which follows no
# other page and was given no token.
FIRST_PAGE_KINDS = ("token_chain",)

# The state a contradicting copy claims when the rule names none: an odd
# one, or the usual one for an item already in the odd state.
_OTHER_STATE = {Snapshot: ("error", "completed"),
                Volume: ("error", "available"),
                Image: ("failed", "available"),
                Instance: ("terminated", "running")}

# The tag a contradicting copy carries when the item has no tags to drop.
REPEAT_TAG = ("ec2sim:repeated", "true")


class Page:
    """One page asked of a listing: its cached full result (objects and
    their sequence numbers), where the page starts, its size, the ids not
    to show, the token the call carried, and how tokens are made."""

    __slots__ = ("key", "items", "seqs", "after", "size", "hidden", "token",
                 "make_token")

    def __init__(self, key, items, seqs, after, size, hidden, token, make_token):
        self.key = key
        self.items = items
        self.seqs = seqs
        self.after = after
        self.size = size
        self.hidden = hidden
        self.token = token
        self.make_token = make_token

    def normal(self, size=None):
        """(objects, sequence number to resume after or None) of the page
        as EC2 serves it."""
        return Store.page(self.items, self.seqs, self.after,
                          size or self.size, self.hidden)

    def next_token(self, resume, fresh=False):
        """The token for resuming after `resume`; a fresh one differs from
        every token made before while leading to the same place."""
        if resume is None:
            return None
        return self.make_token(self.key, resume, fresh)


def serve(page, fault):
    """(objects, next token) of a page as the fault has it."""
    return _SERVE[fault.kind](page, fault)


def _repeat_items(page, fault):
    """The page opens with the last `repeat` items of the page before it,
    then goes on with new items.  Repeats take the place of new items, and
    at least one new item is served, so that the page keeps to MaxResults
    and the listing still ends."""
    n = min(fault.options["repeat"], page.size - 1)
    again = Store.before(page.items, page.seqs, page.after, n, page.hidden)
    fresh, resume = page.normal(page.size - len(again))
    variant = fault.options["variant"]
    value = fault.options.get("value")
    again = [contradicting(o, variant, value) for o in again]
    return again + fresh, page.next_token(resume)


def _token_loop(page, fault):
    """The page for the token given, then a token that leads back.

    With `tokens` 1 that is the very token given.  With k tokens, the first
    token given starts a cycle, the next k - 1 pages are served with their
    real next tokens, and the k-th page points back to the first token
    (sooner if the listing ends first).  Cycles are kept per query, so a
    client paging through several at once meets one in each."""
    objs, resume = page.normal()
    cycles = fault.state.setdefault("cycles", {})
    cycle = cycles.get(page.key)
    if cycle is None or page.token not in cycle:
        cycle = cycles[page.key] = [page.token]
    i = cycle.index(page.token)
    if i + 1 < len(cycle):
        return objs, cycle[i + 1]
    if len(cycle) < fault.options["tokens"] and resume is not None:
        cycle.append(page.next_token(resume))
        return objs, cycle[-1]
    return objs, cycle[0]


def _token_chain(page, fault):
    """No progress at all: zero items (or the items of this page again)
    and a token never seen before that leads to this same place."""
    objs = page.normal()[0] if fault.options["items"] == "same" else []
    return objs, page.next_token(page.after, fresh=True)


_SERVE = {"repeat_items": _repeat_items,
          "token_loop": _token_loop,
          "token_chain": _token_chain}


# -- contradicting copies ------------------------------------------------

def contradicting(o, variant, value=None):
    """o itself for "identical", else a copy of o that differs in one
    respect: its volume id, its state or its tags, as `value` or, without
    one, as chosen below."""
    if variant == "identical":
        return o
    c = copy.copy(o)
    if variant == "volume_id":
        c.volume_id = value or next_volume_id(o.volume_id)
    elif variant == "state":
        _claim_state(c, value or other_state(o))
    elif variant == "tags":
        c.tags = (tags_from(value) if value is not None
                  else () if o.tags else (REPEAT_TAG,))
    else:
        raise ValueError("unknown variant %r" % variant)
    if isinstance(c, (Snapshot, Volume)):
        c.xml = None
    return c


def next_volume_id(vid):
    """The id after vid (same width, wrapping), which in a seeded or
    generated account is usually another existing volume."""
    digits = vid[4:]
    n = (int(digits, 16) + 1) % (16 ** len(digits))
    return "vol-%0*x" % (len(digits), n)


def other_state(o):
    odd, usual = _OTHER_STATE[type(o)]
    return usual if o.state == odd else odd


def _claim_state(c, state):
    """Give a copy another state, with a snapshot's progress and
    completion time agreeing with it."""
    c.state = state
    if isinstance(c, Snapshot):
        if state == "completed":
            c.progress = "100%"
            if c.completion is None:
                c.completion = c.start
        elif state == "pending":
            c.progress = "0%"
            c.completion = None
