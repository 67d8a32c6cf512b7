"""The test-control interface: JSON over HTTP under /_sim/, unsigned.

Each handler takes the parsed JSON body (or the query for GETs) and returns
a JSON-able object; a ValueError becomes a 400 reply naming the problem.
"""

import re
import urllib.parse

import sim_xml
from sim_control import BUCKETS
from sim_ec2 import ACTIONS, check_tags, Ec2Error
from sim_store import (ATTACHMENT_STATES, INSTANCE_STATES, SNAPSHOT_STATES,
                       merge_tags, parse_time, tags_from)

# Fields of a volume made for an instance (its zone is the instance's, and
# it is attached, so it has no state or attachment fields of its own).
_INSTANCE_VOLUME_FIELDS = {"id", "size", "type", "encrypted", "create_time",
                           "tags", "snapshot_id"}
# Fields of one block device mapping, in a seeded instance or /_sim/attach.
_MAPPING_FIELDS = {"device", "volume_id", "volume", "delete_on_termination",
                   "status", "attach_time"}
# Device names handed out when a mapping names none, after the root device.
_DATA_DEVICES = ["/dev/sd%s" % c for c in "fghijklmnopqrstuvwxyz"]


def _number(obj, name, default=None, minimum=None):
    v = obj.get(name, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError("%s must be a number" % name)
    if minimum is not None and v < minimum:
        raise ValueError("%s must be at least %s" % (name, minimum))
    return v


def _ids(obj, name):
    v = obj[name]
    if not isinstance(v, list) or not v or not all(isinstance(i, str) and i for i in v):
        raise ValueError("%s must be a non-empty list of ids" % name)
    return v


def _check_tag_tuple(tags, what):
    try:
        check_tags(list(tags))
    except Ec2Error as e:
        raise ValueError("%s: %s" % (what, e.message)) from None


class Admin:
    def __init__(self, sim):
        self.sim = sim
        self.routes = {
            ("GET", "health"): self.health,
            ("POST", "seed"): self.seed,
            ("POST", "ami"): self.ami,
            ("GET", "clock"): self.clock,
            ("POST", "clock"): self.clock,
            ("POST", "complete"): self.complete,
            ("POST", "snapshot"): self.snapshot,
            ("POST", "volume"): self.volume,
            ("POST", "instance"): self.instance,
            ("POST", "attach"): self.attach,
            ("POST", "detach"): self.detach,
            ("GET", "log"): self.log,
            ("GET", "counters"): self.counters,
            ("GET", "state"): self.state,
            ("GET", "faults"): self.faults,
            ("POST", "faults"): self.faults,
            ("DELETE", "faults"): self.faults_clear,
            ("GET", "revoke"): self.revoke,
            ("POST", "revoke"): self.revoke,
            ("GET", "credentials"): self.credentials,
            ("POST", "credentials"): self.credentials,
            ("GET", "throttle"): self.throttle,
            ("POST", "throttle"): self.throttle,
            ("GET", "config"): self.config,
            ("POST", "config"): self.config,
            ("POST", "reset"): self.reset,
            ("POST", "shutdown"): self.shutdown,
        }

    def handle(self, method, name, query, body):
        """Returns (status, JSON-able object)."""
        route = self.routes.get((method, name))
        if route is None:
            if any(n == name for _, n in self.routes):
                return 405, {"error": "method %s not allowed on /_sim/%s" % (method, name)}
            return 404, {"error": "no such admin call /_sim/%s" % name,
                         "calls": sorted({n for _, n in self.routes})}
        if method == "GET":
            arg = {k: v for k, v in urllib.parse.parse_qsl(query)}
        else:
            arg = body if body is not None else {}
            if not isinstance(arg, dict):
                return 400, {"error": "the body must be a JSON object"}
        try:
            return 200, route(arg)
        except KeyError as e:
            return 400, {"error": "missing field %s" % e.args[0]}
        except (ValueError, TypeError) as e:
            return 400, {"error": str(e)}

    # -- seeding -------------------------------------------------------

    def health(self, _):
        return {"ok": True, "now": sim_xml.iso_ms(self.sim.clock.now())}

    def seed(self, body):
        """Add volumes, snapshots, images, instances and/or a generated
        fleet."""
        unknown = set(body) - {"volumes", "snapshots", "images", "amis",
                               "instances", "generate", "replace"}
        if unknown:
            raise ValueError("unknown seed key(s): %s" % ", ".join(sorted(unknown)))
        sim = self.sim
        store = sim.store
        now = sim.clock.now()
        out = {"volumes": [], "snapshots": [], "images": [], "instances": []}
        with store.lock:
            if body.get("replace"):
                sim.clear_resources()
            for v in body.get("volumes", []):
                out["volumes"].append(self._volume(v, now).id)
            for s in body.get("snapshots", []):
                out["snapshots"].append(self._snapshot(s, now).id)
            for img in body.get("images", []) + body.get("amis", []):
                out["images"].append(self._image(img, now).id)
            for inst in body.get("instances", []):
                out["instances"].append(self._instance(inst, now).id)
            gen = body.get("generate")
            if gen is not None:
                out["generated"] = self._generate(gen, now)
        return out

    def _volume(self, v, now):
        known = {"id", "size", "state", "type", "availability_zone",
                 "encrypted", "create_time", "tags", "instance_id", "device",
                 "snapshot_id"}
        bad = set(v) - known
        if bad:
            raise ValueError("unknown volume field(s): %s" % ", ".join(sorted(bad)))
        tags = tags_from(v.get("tags"))
        _check_tag_tuple(tags, "volume tags")
        store = self.sim.store
        vid = v.get("id") or self.sim.new_id("vol", lambda i: i in store.volumes)
        return store.add_volume(
            vid, size=int(v.get("size", 8)), state=v.get("state", "in-use"),
            az=v.get("availability_zone"), vtype=v.get("type", "gp3"),
            encrypted=bool(v.get("encrypted", False)),
            create_time=parse_time(v.get("create_time", -86400 * 30), now),
            tags=tags, snapshot_id=v.get("snapshot_id", ""),
            instance_id=v.get("instance_id"), device=v.get("device"))

    def _snapshot(self, s, now):
        known = {"id", "volume", "volume_id", "state", "start_time",
                 "completion_time", "tags", "description", "owner",
                 "owner_alias", "size", "encrypted", "progress", "public",
                 "status_message"}
        bad = set(s) - known
        if bad:
            raise ValueError("unknown snapshot field(s): %s" % ", ".join(sorted(bad)))
        store = self.sim.store
        vol = s.get("volume", s.get("volume_id"))
        if not vol:
            raise ValueError("a snapshot needs 'volume'")
        tags = tags_from(s.get("tags"))
        _check_tag_tuple(tags, "snapshot tags")
        sid = s.get("id") or self.sim.new_id(
            "snap", lambda i: i in store.snapshots or i in store.pending)
        start = parse_time(s.get("start_time", 0), now)
        completion = s.get("completion_time")
        return store.add_snapshot(
            sid, vol, state=s.get("state", "completed"), start=start,
            progress=s.get("progress"), owner=s.get("owner"),
            description=s.get("description", ""), size=s.get("size"),
            encrypted=s.get("encrypted"), tags=tags, public=s.get("public"),
            alias=s.get("owner_alias"),
            completion=parse_time(completion, now) if completion is not None else None,
            message=s.get("status_message"))

    def _image(self, img, now):
        known = {"id", "name", "snapshot_ids", "owner", "owner_alias", "public",
                 "tags", "description", "creation_date"}
        bad = set(img) - known
        if bad:
            raise ValueError("unknown image field(s): %s" % ", ".join(sorted(bad)))
        store = self.sim.store
        sids = img.get("snapshot_ids")
        if not sids or not isinstance(sids, list):
            raise ValueError("an image needs a non-empty 'snapshot_ids' list")
        iid = img.get("id") or self.sim.new_id("ami", lambda i: i in store.images)
        tags = tags_from(img.get("tags"))
        _check_tag_tuple(tags, "image tags")
        return store.add_image(
            iid, img.get("name") or "image-" + iid[4:], img.get("owner", store.account),
            bool(img.get("public", False)), sids,
            parse_time(img.get("creation_date", 0), now), tags,
            img.get("description", ""), img.get("owner_alias"))

    def _generate(self, g, now):
        known = {"volumes", "snapshots_per_volume", "volume_tags",
                 "snapshot_tags", "start", "interval_seconds", "id_prefix",
                 "size", "volume_type", "volume_state", "snapshot_state",
                 "description", "volume_stagger_seconds", "owner", "prerender"}
        bad = set(g) - known
        if bad:
            raise ValueError("unknown generate field(s): %s" % ", ".join(sorted(bad)))
        volumes = int(_number(g, "volumes", 0, 0))
        per = int(_number(g, "snapshots_per_volume", 0, 0))
        interval = float(_number(g, "interval_seconds", 86400))
        start = parse_time(g.get("start", -interval * per), now)
        vtags = tags_from(g.get("volume_tags"))
        stags = tags_from(g.get("snapshot_tags"))
        _check_tag_tuple(vtags, "volume_tags")
        _check_tag_tuple(stags, "snapshot_tags")
        prefix = g.get("id_prefix")
        if prefix is None:
            prefix = "%06x" % self.sim.ids_rng.getrandbits(24)
        vids = self.sim.store.generate(
            volumes, per, start, interval, vtags, stags, str(prefix),
            size=int(g.get("size", 8)), vtype=g.get("volume_type", "gp3"),
            volume_state=g.get("volume_state", "in-use"),
            snapshot_state=g.get("snapshot_state", "completed"),
            description=g.get("description", ""),
            volume_stagger=float(_number(g, "volume_stagger_seconds", 0)),
            owner=g.get("owner"),
            render=sim_xml.snapshot_item if g.get("prerender", True) else None)
        return {"volumes": len(vids), "snapshots": len(vids) * per,
                "first_volume": vids[0] if vids else None,
                "last_volume": vids[-1] if vids else None,
                "id_prefix": prefix}

    def _instance(self, spec, now):
        """An instance and its block device mappings, all or nothing."""
        known = {"id", "state", "type", "availability_zone", "image_id",
                 "root_device_name", "launch_time", "tags", "reservation_id",
                 "volumes"}
        if not isinstance(spec, dict):
            raise ValueError("an instance is a JSON object")
        bad = set(spec) - known
        if bad:
            raise ValueError("unknown instance field(s): %s" % ", ".join(sorted(bad)))
        sim = self.sim
        store = sim.store
        state = spec.get("state", "running")
        tags = tags_from(spec.get("tags"))
        _check_tag_tuple(tags, "instance tags")
        root = spec.get("root_device_name", "/dev/xvda")
        mappings = spec.get("volumes")
        if mappings is None:
            mappings = [] if state == "terminated" else [{"device": root}]
        if not isinstance(mappings, list) or not all(isinstance(m, dict) for m in mappings):
            raise ValueError("'volumes' is a list of objects")
        if state == "terminated" and mappings:
            raise ValueError("a terminated instance has no volumes")
        reservation = spec.get("reservation_id")
        if reservation is None:
            reservation = sim.new_id("r", lambda r: False)
        elif not (isinstance(reservation, str) and
                  re.match(r"^r-(?:[0-9a-f]{8}|[0-9a-f]{17})$", reservation)):
            raise ValueError("malformed reservation id %r" % (reservation,))
        iid = spec.get("id") or sim.new_id("i", lambda i: i in store.instances)
        launch = parse_time(spec.get("launch_time", -86400 * 30), now)
        inst = store.add_instance(
            iid, reservation, state=state, itype=str(spec.get("type", "t3.micro")),
            az=spec.get("availability_zone"),
            image_id=spec.get("image_id", "ami-0123456789abcdef0"),
            root_device=root, launch_time=launch, tags=tags, now=now)
        made = []
        try:
            for m in mappings:
                self._mapping(inst, m, now, launch, made)
        except Exception:
            self._unmake(inst, made)
            raise
        return inst

    def _unmake(self, inst, made):
        """Undo a half-made instance: the volumes made for it go, the
        others are detached again."""
        store = self.sim.store
        for a in list(inst.attachments):
            vol = store.volumes[a.volume_id]
            if vol.id in made:
                store.remove_volume(vol.id)
            else:
                store.detach(vol)
        store.instances.pop(inst.id, None)
        store.terminated.pop(inst.id, None)
        inst.deleted = True
        store.changed()

    def _mapping(self, inst, m, now, default_time, made):
        """Attach to `inst` the volume one mapping names (`volume_id`) or
        describes (`volume`: made in the instance's zone, or a default
        volume when neither is given; its id is added to `made`).
        Returns the Attachment."""
        bad = set(m) - _MAPPING_FIELDS
        if bad:
            raise ValueError("unknown volume mapping field(s): %s"
                             % ", ".join(sorted(bad)))
        store = self.sim.store
        device = m.get("device") or self._free_device(inst)
        status = m.get("status", "attached")
        if status not in ATTACHMENT_STATES:
            raise ValueError("status is one of %s" % ", ".join(ATTACHMENT_STATES))
        when = (parse_time(m["attach_time"], now) if "attach_time" in m
                else default_time)
        dot = m.get("delete_on_termination", device == inst.root_device)
        if not isinstance(dot, bool):
            raise ValueError("delete_on_termination is true or false")
        if "volume_id" in m:
            if "volume" in m:
                raise ValueError("a mapping has 'volume_id' (an existing volume) "
                                 "or 'volume' (a new one), not both")
            vol = store.volumes.get(m["volume_id"])
            if vol is None:
                raise ValueError("no volume %s" % m["volume_id"])
            return store.attach(inst, vol, device, status, when, dot)
        spec = m.get("volume", {})
        if not isinstance(spec, dict):
            raise ValueError("'volume' is an object of volume fields")
        bad = set(spec) - _INSTANCE_VOLUME_FIELDS
        if bad:
            raise ValueError("field(s) %s cannot be given for an instance's "
                             "volume (allowed: %s)" % (", ".join(sorted(bad)),
                                                       ", ".join(sorted(_INSTANCE_VOLUME_FIELDS))))
        vol = self._volume(dict(spec, state="available",
                                availability_zone=inst.az), now)
        if "create_time" not in spec:
            vol.create_time = default_time      # made with the instance
        try:
            a = store.attach(inst, vol, device, status, when, dot)
        except ValueError:
            store.remove_volume(vol.id)
            raise
        made.append(vol.id)
        return a

    @staticmethod
    def _free_device(inst):
        for device in [inst.root_device] + _DATA_DEVICES:
            if inst.attachment(device) is None:
                return device
        raise ValueError("instance %s has no free device name left" % inst.id)

    def ami(self, body):
        store = self.sim.store
        with store.lock:
            if "deregister" in body:
                iid = body["deregister"]
                if iid not in store.images:
                    raise ValueError("no image %s" % iid)
                store.remove_image(iid)
                return {"deregistered": iid}
            img = self._image(body, self.sim.clock.now())
        return {"image_id": img.id}

    # -- time and snapshot states ------------------------------------

    def clock(self, body):
        c = self.sim.clock
        if "set" in body:
            c.set(parse_time(body["set"]))
        if "advance" in body:
            c.advance(float(_number(body, "advance")))
        if "frozen" in body:
            c.freeze(bool(body["frozen"]))
        now = c.now()
        return {"now": sim_xml.iso_ms(now), "epoch": now, "frozen": c.frozen}

    def complete(self, body):
        """Complete pending snapshots (all, or 'ids'); 'fail' puts the listed
        ones in the error state.  A snapshot of a CreateSnapshots set takes
        the rest of its set along, either way; failing wins."""
        sim = self.sim
        store = sim.store
        now = sim.clock.now()
        done, failed = [], []
        with store.lock:
            sim.tick(now)
            fail = store.with_set_mates([self._any_snapshot(sid)
                                         for sid in body.get("fail", [])])
            failing = {s.id for s in fail}
            ids = body.get("ids")
            if ids is None:
                targets = [s for s in store.pending.values() if s.id not in failing] \
                    if not fail or body.get("all") else []
            else:
                targets = [s for s in store.with_set_mates(
                    [self._any_snapshot(sid) for sid in ids]) if s.id not in failing]
            for s in fail:
                store.set_state(s, "error", now, body.get("message", ""))
                failed.append(s.id)
            for s in targets:
                if s.state != "completed":
                    store.set_state(s, "completed", now)
                    done.append(s.id)
        return {"completed": done, "failed": failed}

    def snapshot(self, body):
        """Change snapshots in place, as EC2 or another tool may between
        two calls of a client: their state (and status message), and their
        tags ('untag' drops keys first, then 'tags' adds or overwrites)."""
        unknown = set(body) - {"ids", "state", "message", "tags", "untag"}
        if unknown:
            raise ValueError("unknown snapshot call field(s): %s"
                             % ", ".join(sorted(unknown)))
        sim = self.sim
        store = sim.store
        now = sim.clock.now()
        state = body.get("state")
        if state is not None and state not in SNAPSHOT_STATES:
            raise ValueError("state is one of %s" % ", ".join(SNAPSHOT_STATES))
        tags = tags_from(body.get("tags"))
        untag = body.get("untag", [])
        if not isinstance(untag, list) or not all(isinstance(k, str) for k in untag):
            raise ValueError("untag must be a list of tag keys")
        with store.lock:
            sim.tick(now)
            snaps = [self._live_snapshot(sid) for sid in _ids(body, "ids")]
            retagged = {}
            if tags or untag:
                for s in snaps:
                    kept = tuple((k, v) for k, v in s.tags if k not in untag)
                    retagged[s.id] = merge_tags(kept, tags)
                    _check_tag_tuple(retagged[s.id], "tags of %s" % s.id)
            for s in snaps:
                self._change_snapshot(s, state, body.get("message"),
                                      retagged.get(s.id), now)
            return {"snapshots": [s.dump() for s in snaps]}

    def _any_snapshot(self, sid):
        """A live snapshot, or a deleted one still in progress."""
        store = self.sim.store
        s = store.snapshots.get(sid) or store.pending.get(sid)
        if s is None:
            raise ValueError("no snapshot %s" % sid)
        return s

    def _live_snapshot(self, sid):
        s = self.sim.store.snapshots.get(sid)
        if s is None:
            raise ValueError("no snapshot %s" % sid)
        return s

    def _change_snapshot(self, s, state, message, tags, now):
        store = self.sim.store
        if state is not None:
            store.set_state(s, state, now, message)
        elif message is not None:
            s.message = message
            store.changed(s)
        if tags is not None:
            s.tags = tags
            store.changed(s)

    def volume(self, body):
        """Remove volumes, as when one is deleted while a client works: gone
        from DescribeVolumes and CreateSnapshot, while their snapshots stay."""
        unknown = set(body) - {"remove"}
        if unknown:
            raise ValueError("unknown volume call field(s): %s"
                             % ", ".join(sorted(unknown)))
        store = self.sim.store
        ids = list(dict.fromkeys(_ids(body, "remove")))
        with store.lock:
            for vid in ids:
                if vid not in store.volumes:
                    raise ValueError("no volume %s" % vid)
            for vid in ids:
                store.remove_volume(vid)
        return {"removed": ids}

    # -- instances -----------------------------------------------------

    def instance(self, body):
        """Change instances in place: their state (termination detaches
        their volumes and deletes those marked delete-on-termination) and
        their tags ('untag' drops keys first, then 'tags' adds or
        overwrites)."""
        unknown = set(body) - {"ids", "state", "tags", "untag"}
        if unknown:
            raise ValueError("unknown instance call field(s): %s"
                             % ", ".join(sorted(unknown)))
        sim = self.sim
        store = sim.store
        now = sim.clock.now()
        state = body.get("state")
        if state is not None and state not in INSTANCE_STATES:
            raise ValueError("state is one of %s" % ", ".join(INSTANCE_STATES))
        tags = tags_from(body.get("tags"))
        untag = body.get("untag", [])
        if not isinstance(untag, list) or not all(isinstance(k, str) for k in untag):
            raise ValueError("untag must be a list of tag keys")
        with store.lock:
            sim.tick(now)
            insts = [self._live_instance(iid) for iid in _ids(body, "ids")]
            for inst in insts:
                if state not in (None, "terminated") and inst.state == "terminated":
                    raise ValueError("instance %s is terminated and cannot "
                                     "change state" % inst.id)
            retagged = {}
            if tags or untag:
                for inst in insts:
                    kept = tuple((k, v) for k, v in inst.tags if k not in untag)
                    retagged[inst.id] = merge_tags(kept, tags)
                    _check_tag_tuple(retagged[inst.id], "tags of %s" % inst.id)
            for inst in insts:
                if state is not None:
                    store.set_instance_state(inst, state, now)
                if inst.id in retagged:
                    inst.tags = retagged[inst.id]
                    store.changed()
            return {"instances": [inst.dump() for inst in insts]}

    def _live_instance(self, iid):
        if not isinstance(iid, str) or iid not in self.sim.store.instances:
            raise ValueError("no instance %s" % (iid,))
        return self.sim.store.instances[iid]

    def attach(self, body):
        """Attach a volume (an existing one, or one made for the purpose)
        to an instance at a device; with the volume already there, only
        change the attachment's status (attaching -> attached)."""
        unknown = set(body) - _MAPPING_FIELDS - {"instance_id"}
        if unknown:
            raise ValueError("unknown attach field(s): %s" % ", ".join(sorted(unknown)))
        sim = self.sim
        store = sim.store
        now = sim.clock.now()
        status = body.get("status", "attached")
        if status not in ("attaching", "attached"):
            raise ValueError("status is attaching or attached")
        with store.lock:
            sim.tick(now)
            inst = self._live_instance(body["instance_id"])
            vol = store.volumes.get(body.get("volume_id"))
            if vol is not None and vol.attachment is not None and \
                    vol.instance_id == inst.id and \
                    body.get("device", vol.device) == vol.device:
                store.set_attachment_status(vol, status)
                return {"instance": inst.dump(), "volume": vol.dump()}
            if inst.state in ("shutting-down", "terminated"):
                raise ValueError("instance %s is %s; nothing can be attached"
                                 % (inst.id, inst.state))
            mapping = {k: v for k, v in body.items() if k != "instance_id"}
            mapping.setdefault("delete_on_termination", False)
            a = self._mapping(inst, mapping, now, now, [])
            return {"instance": inst.dump(),
                    "volume": store.volumes[a.volume_id].dump()}

    def detach(self, body):
        """Detach a volume: wholly (it is available again, and its
        instance loses the mapping), or, with 'status', only mark the
        attachment detaching or detached."""
        unknown = set(body) - {"volume_id", "status"}
        if unknown:
            raise ValueError("unknown detach field(s): %s" % ", ".join(sorted(unknown)))
        status = body.get("status")
        if status not in (None, "detaching", "detached"):
            raise ValueError("status is detaching or detached (or absent: "
                             "detach wholly)")
        sim = self.sim
        store = sim.store
        with store.lock:
            sim.tick(sim.clock.now())
            vol = store.volumes.get(body["volume_id"])
            if vol is None:
                raise ValueError("no volume %s" % body["volume_id"])
            if vol.attachment is None:
                raise ValueError("volume %s is not attached" % vol.id)
            inst = store.instances.get(vol.instance_id)
            if status is None:
                store.detach(vol)
            else:
                store.set_attachment_status(vol, status)
            out = {"volume": vol.dump()}
            if inst is not None:
                out["instance"] = inst.dump()
            return out

    # -- observation -------------------------------------------------

    def log(self, q):
        since = int(q.get("since", 0))
        limit = int(q["limit"]) if "limit" in q else None
        entries = self.sim.recorder.log(since, limit, q.get("action"))
        return {"entries": entries,
                "last": entries[-1]["seq"] if entries else since}

    def counters(self, _):
        return self.sim.recorder.counters()

    def state(self, q):
        sim = self.sim
        now = sim.clock.now()
        with sim.store.lock:
            sim.tick(now)
            out = sim.store.dump(summary=q.get("summary") in ("1", "true"))
        out.update({"now": sim_xml.iso_ms(now), "account": sim.config.account,
                    "region": sim.config.region})
        return out

    # -- faults, permissions, credentials, throttling ----------------

    def faults(self, body):
        f = self.sim.faults
        if body.get("clear"):
            f.clear(None if body["clear"] is True else body["clear"])
        rules = body.get("rules", [])
        if "kind" in body or "sequence" in body:
            rules = rules + [{k: v for k, v in body.items()
                              if k not in ("clear", "rules")}]
        ids = [f.add(r) for r in rules]
        return {"added": ids, "rules": f.dump()}

    def faults_clear(self, _):
        self.sim.faults.clear()
        return {"rules": []}

    def revoke(self, body):
        """Take actions away (UnauthorizedOperation), wholly or, with
        'resources', only for calls naming one of those ids; 'restore'
        gives an action back wholly."""
        perms = self.sim.permissions
        actions = body.get("actions", [])
        for name in actions:
            if name not in ACTIONS:
                raise ValueError("unknown action %s" % name)
        resources = None
        if "resources" in body:
            if not actions:
                raise ValueError("'resources' limits the 'actions' being revoked")
            resources = _ids(body, "resources")
        for name in actions:
            if "require_tags" in body:
                keys = body["require_tags"]
                if not isinstance(keys, list) or not all(
                        isinstance(k, str) for k in keys):
                    raise ValueError("'require_tags' is a list of tag keys")
                perms.require_tags(name, keys)
            else:
                perms.revoke(name, resources)
        restore = body.get("restore", [])
        if restore == "all":
            perms.clear()
        else:
            for name in restore:
                perms.restore(name)
        return perms.dump()

    def credentials(self, body):
        sim = self.sim
        creds = sim.credentials
        now = sim.clock.now()
        out = {}
        if "lifetime" in body:
            creds.lifetime = float(_number(body, "lifetime", minimum=1))
        if "container_token" in body:
            sim.config.container_token = body["container_token"]
        if "access_key" in body:
            if not body.get("secret_key"):
                raise ValueError("access_key needs secret_key")
            exp = body.get("expiration")
            creds.add(body["access_key"], body["secret_key"],
                      body.get("session_token"),
                      parse_time(exp, now) if exp is not None else None, "admin")
        for key in body.get("remove", []):
            creds.remove(key)
        for key in body.get("expire", []):
            if not creds.expire(key, now):
                raise ValueError("no access key %s" % key)
        for source in body.get("rotate", []):
            if source not in ("imds", "container"):
                raise ValueError("rotate takes 'imds' and/or 'container'")
            out[source] = creds.current(source, now, rotate=True).access_key
        out["lifetime"] = creds.lifetime
        out["keys"] = creds.dump()
        return out

    def throttle(self, body):
        t = self.sim.throttle
        if "scale" in body:
            t.scale = float(_number(body, "scale", minimum=0))
        if "enabled" in body:
            t.enabled = bool(body["enabled"])
        for category, limits in body.get("buckets", {}).items():
            if category not in BUCKETS:
                raise ValueError("unknown bucket category %s" % category)
            t.overrides[category] = (int(limits["size"]), float(limits["refill_per_second"]))
        if body.get("refill"):
            t.refill()
        return t.status(self.sim.clock.now())

    def config(self, body):
        cfg = self.sim.config
        settable = {"complete_after": float, "imds_v1_disabled": bool,
                    "role_name": str, "max_skew": float,
                    "filter_value_limit": int, "visibility_delay": float,
                    "page_size": int, "terminated_visible_for": float}
        for name, value in body.items():
            if name not in settable:
                raise ValueError("%s cannot be set (settable: %s)"
                                 % (name, ", ".join(sorted(settable))))
            setattr(cfg, name, settable[name](value))
        return {k: getattr(cfg, k) for k in sorted(settable)}

    def reset(self, body):
        self.sim.reset(keep_clock=bool(body.get("keep_clock", False)))
        return {"ok": True}

    def shutdown(self, _):
        return {"ok": True, "shutting_down": True}

