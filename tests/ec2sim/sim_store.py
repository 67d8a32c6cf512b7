"""What the emulated account holds: the clock, volumes, snapshots and images.

The one idea to keep in mind: every volume and snapshot carries a sequence
number that only grows, and every listing walks objects in that order.  A
page token therefore only needs the last sequence number served plus a
fingerprint of the query, and a listing's full result can be cached (keyed
by its fingerprint and the store's generation) and cut into pages with a
bisection.  Any change bumps the generation, except a deletion: deleted
objects are flagged and skipped when pages are cut, so deleting while
listing does not throw the cache away.  Callers hold `Store.lock` around
every use.
"""

import bisect
import collections
import datetime
import gc
import operator
import re
import threading
import time

SNAP_ID = re.compile(r"^snap-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
VOL_ID = re.compile(r"^vol-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
AMI_ID = re.compile(r"^ami-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
INSTANCE_ID = re.compile(r"^i-(?:[0-9a-f]{8}|[0-9a-f]{17})$")
ACCOUNT_ID = re.compile(r"^\d{12}$")

SNAPSHOT_STATES = ("pending", "completed", "error", "recoverable", "recovering")
VOLUME_STATES = ("creating", "available", "in-use", "deleting", "deleted", "error")
VOLUME_TYPES = ("gp2", "gp3", "io1", "io2", "st1", "sc1", "standard")
IMAGE_STATES = ("pending", "available", "invalid", "deregistered",
                "transient", "failed", "error", "disabled")
# Instance states and their codes (the low byte of instanceState/code).
INSTANCE_STATES = {"pending": 0, "running": 16, "shutting-down": 32,
                   "terminated": 48, "stopping": 64, "stopped": 80}
ATTACHMENT_STATES = ("attaching", "attached", "detaching", "detached")

# Whole listings kept so later pages are a bisection, not a new scan.  A
# client paging through many batches at once (ec2backup: one per 200
# volumes, 50 at 10,000 volumes) must not make them evict each other.
RESULT_CACHE_SIZE = 64

_by_seq = operator.attrgetter("seq")


def parse_time(value, now=None):
    """ISO 8601 (naive means UTC) or, given `now`, a number of seconds
    relative to it (negative = in the past).  Returns epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if now is None:
            raise ValueError("a time must be an ISO 8601 string here")
        return now + float(value)
    if not isinstance(value, str):
        raise ValueError("bad time %r" % (value,))
    text = value.strip()
    if text.endswith("Z") or text.endswith("z"):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("bad ISO 8601 time %r" % (value,)) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp()


class Clock:
    """Emulator time: follows the real monotonic clock from a settable base,
    or stands still while frozen.  Only admin calls move it otherwise."""

    def __init__(self, start=None, frozen=False):
        self._lock = threading.Lock()
        self._base = time.time() if start is None else float(start)
        self._mono = time.monotonic()
        self._frozen = frozen

    def now(self):
        with self._lock:
            if self._frozen:
                return self._base
            return self._base + (time.monotonic() - self._mono)

    @property
    def frozen(self):
        return self._frozen

    def set(self, t):
        with self._lock:
            self._base = float(t)
            self._mono = time.monotonic()

    def advance(self, seconds):
        with self._lock:
            self._base += float(seconds)

    def freeze(self, flag):
        with self._lock:
            if flag and not self._frozen:
                self._base += time.monotonic() - self._mono
            elif not flag and self._frozen:
                self._mono = time.monotonic()
            self._frozen = bool(flag)


def tags_from(value):
    """Tags as given in admin JSON ({k: v} or [{"Key","Value"}]) -> tuple."""
    if value is None:
        return ()
    if isinstance(value, dict):
        pairs = list(value.items())
    elif isinstance(value, list):
        pairs = []
        for t in value:
            if not isinstance(t, dict) or "Key" not in t:
                raise ValueError("tags must be {key: value} or [{Key, Value}]")
            pairs.append((t["Key"], t.get("Value", "")))
    else:
        raise ValueError("tags must be {key: value} or [{Key, Value}]")
    return tuple((str(k), "" if v is None else str(v)) for k, v in pairs)


def merge_tags(old, new):
    """Tags after CreateTags: existing keys overwritten, new ones appended."""
    d = dict(old)
    d.update(new)
    return tuple(d.items())


class Attachment:
    """A volume attached to an instance.  The one object is both the
    volume's attachment (DescribeVolumes' attachmentSet) and an entry of
    the instance's block device mappings (DescribeInstances), so the two
    always agree.  A volume seeded in-use without an emulated instance has
    one too, naming an instance the emulator does not model."""

    __slots__ = ("instance_id", "volume_id", "device", "status", "time",
                 "delete_on_termination")

    def __init__(self, instance_id, volume_id, device, status, time,
                 delete_on_termination):
        self.instance_id = instance_id
        self.volume_id = volume_id
        self.device = device
        self.status = status
        self.time = time
        self.delete_on_termination = delete_on_termination

    def dump(self):
        return {"instance_id": self.instance_id, "volume_id": self.volume_id,
                "device": self.device, "status": self.status,
                "attach_time": iso(self.time),
                "delete_on_termination": self.delete_on_termination}


class Volume:
    __slots__ = ("id", "seq", "size", "state", "az", "vtype", "iops",
                 "throughput", "encrypted", "create_time", "snapshot_id",
                 "attachment", "tags", "last_create", "deleted", "xml")

    def __init__(self, vid, seq, size, state, az, vtype, encrypted,
                 create_time, tags, snapshot_id="", instance_id=None,
                 device=None):
        self.id = vid
        self.seq = seq
        self.size = size
        self.state = state
        self.az = az
        self.vtype = vtype
        self.iops = {"gp3": 3000, "io1": 100, "io2": 100}.get(vtype)
        if vtype == "gp2":
            self.iops = max(100, min(16000, 3 * size))
        self.throughput = 125 if vtype == "gp3" else None
        self.encrypted = encrypted
        self.create_time = create_time
        self.snapshot_id = snapshot_id
        self.attachment = None
        if instance_id:
            self.attachment = Attachment(instance_id, vid, device, "attached",
                                         create_time, False)
        self.tags = tags
        self.last_create = None
        self.deleted = False
        self.xml = None

    @property
    def instance_id(self):
        return self.attachment.instance_id if self.attachment else None

    @property
    def device(self):
        return self.attachment.device if self.attachment else None

    def dump(self):
        return {"id": self.id, "size": self.size, "state": self.state,
                "availability_zone": self.az, "type": self.vtype,
                "encrypted": self.encrypted,
                "create_time": iso(self.create_time),
                "instance_id": self.instance_id,
                "attachment": self.attachment.dump() if self.attachment else None,
                "tags": dict(self.tags)}


class Snapshot:
    __slots__ = ("id", "seq", "volume_id", "state", "start", "completion",
                 "progress", "owner", "alias", "description", "size",
                 "encrypted", "tags", "public", "message", "set_id",
                 "deleted", "xml")

    def __init__(self, sid, seq, volume_id, state, start, progress, owner,
                 description, size, encrypted, tags, public=False,
                 alias=None, completion=None, message=None):
        self.id = sid
        self.seq = seq
        self.volume_id = volume_id
        self.state = state
        self.start = start
        self.completion = completion
        self.progress = progress
        self.owner = owner
        self.alias = alias
        self.description = description
        self.size = size
        self.encrypted = encrypted
        self.tags = tags
        self.public = public
        self.message = message
        self.set_id = None      # the CreateSnapshots call that made it
        self.deleted = False
        self.xml = None

    def dump(self):
        return {"id": self.id, "volume_id": self.volume_id,
                "state": self.state, "start_time": iso(self.start),
                "completion_time": (iso(self.completion)
                                    if self.completion is not None else None),
                "progress": self.progress, "owner": self.owner,
                "owner_alias": self.alias, "description": self.description,
                "size": self.size, "encrypted": self.encrypted,
                "public": self.public, "status_message": self.message,
                "set_id": self.set_id, "tags": dict(self.tags)}


class Image:
    __slots__ = ("id", "seq", "name", "owner", "alias", "public", "state",
                 "snapshot_ids", "creation", "tags", "description", "deleted")

    def __init__(self, iid, seq, name, owner, public, snapshot_ids, creation,
                 tags, description="", alias=None):
        self.id = iid
        self.seq = seq
        self.name = name
        self.owner = owner
        self.alias = alias
        self.public = public
        self.state = "available"
        self.snapshot_ids = tuple(snapshot_ids)
        self.creation = creation
        self.tags = tags
        self.description = description
        self.deleted = False

    def dump(self):
        return {"id": self.id, "name": self.name, "owner": self.owner,
                "owner_alias": self.alias, "public": self.public, "state": self.state,
                "snapshot_ids": list(self.snapshot_ids),
                "creation_date": iso(self.creation),
                "description": self.description,
                "tags": dict(self.tags)}


class Instance:
    """An EC2 instance: its state, placement and root device, and its
    block device mappings (`attachments`, in the order they were made).
    A terminated instance has none; it stays listed until
    `terminated_at` plus the configured delay, then is removed."""

    __slots__ = ("id", "seq", "reservation", "owner", "state", "state_time",
                 "itype", "az", "image_id", "root_device", "launch_time",
                 "tags", "attachments", "terminated_at", "deleted")

    def __init__(self, iid, seq, reservation, owner, state, itype, az,
                 image_id, root_device, launch_time, tags, now):
        self.id = iid
        self.seq = seq
        self.reservation = reservation
        self.owner = owner
        self.state = state
        self.state_time = now
        self.itype = itype
        self.az = az
        self.image_id = image_id
        self.root_device = root_device
        self.launch_time = launch_time
        self.tags = tags
        self.attachments = []
        self.terminated_at = now if state == "terminated" else None
        self.deleted = False

    @property
    def code(self):
        return INSTANCE_STATES[self.state]

    def attachment(self, device):
        for a in self.attachments:
            if a.device == device:
                return a
        return None

    def dump(self):
        return {"id": self.id, "reservation_id": self.reservation,
                "state": self.state, "state_code": self.code,
                "type": self.itype, "availability_zone": self.az,
                "image_id": self.image_id,
                "root_device_name": self.root_device,
                "launch_time": iso(self.launch_time),
                "block_device_mappings": [a.dump() for a in self.attachments],
                "terminated_at": (iso(self.terminated_at)
                                  if self.terminated_at is not None else None),
                "tags": dict(self.tags)}


def iso(t):
    secs, ms = divmod(int(round(t * 1000)), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%03dZ" % ms


class Store:
    def __init__(self, account, region):
        self.lock = threading.RLock()
        self.account = account
        self.region = region
        self.az = region + "a"
        self.clear()

    def clear(self):
        self.volumes = {}        # id -> Volume, in sequence order
        self.snapshots = {}      # id -> live Snapshot, in sequence order
        self.images = {}         # id -> Image
        self.by_volume = {}      # volume id -> live Snapshots, in sequence order
        self.in_use = {}         # snapshot id -> set of image ids
        self.pending = {}        # id -> pending Snapshot, deleted ones included
        self.created = {}        # id -> time, of snapshots made by CreateSnapshot(s)
        self.instances = {}      # id -> Instance, in sequence order
        self.terminated = {}     # id -> Instance, terminated and still listed
        self.sets = {}           # set id -> Snapshots of one CreateSnapshots call
        self.seq = 0
        self.generation = 0
        self._results = collections.OrderedDict()

    def _next_seq(self):
        self.seq += 1
        return self.seq

    def changed(self, obj=None):
        """Call after changing an object in place: drops its rendered XML
        and every cached listing."""
        if obj is not None and hasattr(obj, "xml"):
            obj.xml = None
        self.generation += 1

    # -- volumes -------------------------------------------------------

    def add_volume(self, vid, size=8, state="available", az=None,
                   vtype="gp3", encrypted=False, create_time=0.0, tags=(),
                   snapshot_id="", instance_id=None, device=None):
        if not VOL_ID.match(vid):
            raise ValueError("malformed volume id %r (want vol- and 8 or 17 "
                             "lower-case hex digits)" % vid)
        if vid in self.volumes:
            raise ValueError("volume %s already exists" % vid)
        if state not in VOLUME_STATES:
            raise ValueError("bad volume state %r" % state)
        if vtype not in VOLUME_TYPES:
            raise ValueError("bad volume type %r" % vtype)
        if state == "in-use" and not instance_id:
            # attached to an instance the emulator does not model
            instance_id = "i-%017x" % (int(vid[4:], 16) % (1 << 64))
        if instance_id in self.instances:
            raise ValueError("volume %s names instance %s (given, or derived "
                             "from the volume id for an in-use volume), which "
                             "the emulator models: attach it through the "
                             "instance" % (vid, instance_id))
        if instance_id and not device:
            device = "/dev/xvdf"
        v = Volume(vid, self._next_seq(), int(size), state, az or self.az,
                   vtype, bool(encrypted), create_time, tags, snapshot_id,
                   instance_id, device)
        self.volumes[vid] = v
        self.changed()
        return v

    def remove_volume(self, vid):
        """Take a volume away, as when it is deleted behind a client's back;
        its snapshots stay, as on EC2.  An instance it was attached to loses
        that block device mapping."""
        v = self.volumes.pop(vid)
        inst = self.instances.get(v.instance_id)
        if inst is not None:
            inst.attachments.remove(v.attachment)
        v.deleted = True
        self.changed()

    # -- snapshots -----------------------------------------------------

    def add_snapshot(self, sid, volume_id, state="completed", start=0.0,
                     progress=None, owner=None, description="", size=None,
                     encrypted=None, tags=(), public=None, alias=None,
                     completion=None, message=None):
        if not SNAP_ID.match(sid):
            raise ValueError("malformed snapshot id %r (want snap- and 8 or "
                             "17 lower-case hex digits)" % sid)
        if sid in self.snapshots or sid in self.pending:
            raise ValueError("snapshot %s already exists" % sid)
        if state not in SNAPSHOT_STATES:
            raise ValueError("bad snapshot state %r" % state)
        if not VOL_ID.match(volume_id):
            raise ValueError("malformed volume id %r for snapshot %s" % (volume_id, sid))
        owner = owner or self.account
        if not ACCOUNT_ID.match(owner):
            raise ValueError("owner must be a 12-digit account id, not %r" % owner)
        vol = self.volumes.get(volume_id)
        if size is None:
            size = vol.size if vol else 8
        if encrypted is None:
            encrypted = vol.encrypted if vol else False
        if progress is None:
            progress = {"completed": "100%"}.get(state, "0%")
        if public is None:
            public = owner != self.account
        if completion is None and state == "completed":
            completion = start
        s = Snapshot(sid, self._next_seq(), volume_id, state, start, progress,
                     owner, description, int(size), bool(encrypted), tags,
                     bool(public), alias, completion, message)
        self._insert(s)
        self.changed()
        return s

    def _insert(self, s):
        self.snapshots[s.id] = s
        lst = self.by_volume.get(s.volume_id)
        if lst is None:
            self.by_volume[s.volume_id] = [s]
        else:
            lst.append(s)
        if s.state == "pending":
            self.pending[s.id] = s

    def delete_snapshot(self, s):
        """Remove a live snapshot.  A pending one keeps counting against its
        volume's concurrency limit until it would have completed."""
        s.deleted = True
        del self.snapshots[s.id]
        self.created.pop(s.id, None)
        lst = self.by_volume[s.volume_id]
        lst.remove(s)
        if not lst:
            del self.by_volume[s.volume_id]
        if s.id not in self.pending:
            s.xml = None

    def set_state(self, s, state, now, message=None):
        s.state = state
        if state == "completed":
            s.progress = "100%"
            s.completion = now
        if message is not None:
            s.message = message
        if state != "pending":
            self.pending.pop(s.id, None)
        elif not s.deleted:
            # Back to pending (a test's choice): in progress again, so it
            # counts against its volume and completes like a new one.
            s.progress = "0%"
            s.completion = None
            self.pending[s.id] = s
        if not s.deleted:
            self.changed(s)

    def hidden(self, now, delay):
        """Ids of snapshots made by CreateSnapshot less than `delay` seconds
        ago, which listings do not show yet (EC2's eventual consistency);
        None when there are none."""
        if delay <= 0 or not self.created:
            return None
        ids = frozenset(sid for sid, t in self.created.items() if now < t + delay)
        return ids or None

    def busy_on_volume(self, volume_id):
        """Snapshots counting against the volume's concurrency limit:
        pending ones (deleted included) and ones in error."""
        n = sum(1 for s in self.pending.values()
                if s.volume_id == volume_id and s.deleted)
        for s in self.by_volume.get(volume_id, ()):
            if s.state in ("pending", "error"):
                n += 1
        return n

    def generate(self, volumes, per_volume, start, interval, volume_tags,
                 snapshot_tags, prefix, size=8, vtype="gp3",
                 volume_state="in-use", snapshot_state="completed",
                 description="", volume_stagger=0.0, owner=None, render=None):
        """Bulk-create volumes and their snapshots; returns the volume ids.

        Tag values may contain {n} (volume number, from 1), {i} (snapshot
        number within its volume, from 1) and {volume} (the volume id).
        render, if given, is called on each new snapshot (to fill its XML
        cache while the objects are fresh).

        The cyclic garbage collector is paused meanwhile and the new objects
        are frozen afterwards: they hold no cycles, and a collector walking a
        million of them again and again would double the time of this and
        of every later listing."""
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            vids = self._generate(volumes, per_volume, start, interval,
                                  volume_tags, snapshot_tags, prefix, size,
                                  vtype, volume_state, snapshot_state,
                                  description, volume_stagger, owner, render)
        finally:
            gc.freeze()
            if was_enabled:
                gc.enable()
        return vids

    def _generate(self, volumes, per_volume, start, interval, volume_tags,
                  snapshot_tags, prefix, size, vtype, volume_state,
                  snapshot_state, description, volume_stagger, owner, render):
        if not re.match(r"^[0-9a-f]{0,8}$", prefix):
            raise ValueError("id_prefix must be 0 to 8 lower-case hex digits")
        width = 17 - len(prefix)
        vids = ["vol-%s%0*x" % (prefix, width, n + 1) for n in range(volumes)]
        sids_first = "snap-%s%0*x" % (prefix, width, 1)
        for vid in vids:
            if vid in self.volumes:
                raise ValueError("volume %s already exists" % vid)
        if per_volume and (sids_first in self.snapshots or
                           sids_first in self.pending):
            raise ValueError("snapshot %s already exists; use another "
                             "id_prefix" % sids_first)
        if snapshot_state not in SNAPSHOT_STATES:
            raise ValueError("bad snapshot state %r" % snapshot_state)
        if volume_state not in VOLUME_STATES:
            raise ValueError("bad volume state %r" % volume_state)
        owner = owner or self.account
        if not ACCOUNT_ID.match(owner):
            raise ValueError("owner must be a 12-digit account id, not %r" % owner)
        public = owner != self.account
        progress = "100%" if snapshot_state == "completed" else "0%"
        vt_templated = any("{" in v for _, v in volume_tags)
        st_templated = any("{" in v for _, v in snapshot_tags)
        snapshots = self.snapshots
        by_volume = self.by_volume
        pending = self.pending
        seq = self.seq
        counter = 0
        for n, vid in enumerate(vids, 1):
            vtags = volume_tags
            if vt_templated:
                vtags = tuple((k, v.format(n=n, volume=vid, i=0))
                              for k, v in volume_tags)
            self.add_volume(vid, size=size, state=volume_state, vtype=vtype,
                            create_time=start - interval + n * volume_stagger,
                            tags=vtags)
            seq = self.seq
            lst = []
            base = start + (n - 1) * volume_stagger
            for i in range(per_volume):
                counter += 1
                seq += 1
                sid = "snap-%s%0*x" % (prefix, width, counter)
                stags = snapshot_tags
                if st_templated:
                    stags = tuple((k, v.format(n=n, i=i + 1, volume=vid))
                                  for k, v in snapshot_tags)
                t = base + i * interval
                s = Snapshot(sid, seq, vid, snapshot_state, t, progress,
                             owner, description, size, False, stags, public,
                             None, t if snapshot_state == "completed" else None)
                snapshots[sid] = s
                lst.append(s)
                if snapshot_state == "pending":
                    pending[sid] = s
                if render is not None:
                    render(s)
            self.seq = seq
            if lst:
                by_volume.setdefault(vid, []).extend(lst)
        self.changed()
        return vids

    # -- instances -----------------------------------------------------

    def add_instance(self, iid, reservation, state="running", itype="t3.micro",
                     az=None, image_id="ami-0123456789abcdef0",
                     root_device="/dev/xvda", launch_time=0.0, tags=(),
                     now=0.0):
        if not INSTANCE_ID.match(iid):
            raise ValueError("malformed instance id %r (want i- and 8 or 17 "
                             "lower-case hex digits)" % iid)
        if iid in self.instances:
            raise ValueError("instance %s already exists" % iid)
        if state not in INSTANCE_STATES:
            raise ValueError("bad instance state %r (one of %s)"
                             % (state, ", ".join(INSTANCE_STATES)))
        if not AMI_ID.match(image_id):
            raise ValueError("malformed image id %r" % image_id)
        if not root_device or not isinstance(root_device, str):
            raise ValueError("root_device_name must be a device name")
        for v in self.volumes.values():
            if v.instance_id == iid:
                raise ValueError("volume %s was seeded as attached to %s; "
                                 "give the instance another id, or attach "
                                 "the volume through the instance" % (v.id, iid))
        inst = Instance(iid, self._next_seq(), reservation, self.account,
                        state, itype, az or self.az, image_id, root_device,
                        launch_time, tags, now)
        self.instances[iid] = inst
        if state == "terminated":
            self.terminated[iid] = inst
        self.changed()
        return inst

    def attach(self, inst, vol, device, status="attached", time=0.0,
               delete_on_termination=False):
        """Attach an available volume of the instance's zone at `device`."""
        if vol.attachment is not None:
            raise ValueError("volume %s is already attached to %s"
                             % (vol.id, vol.instance_id))
        if vol.state != "available":
            raise ValueError("volume %s is %s, not available" % (vol.id, vol.state))
        if vol.az != inst.az:
            raise ValueError("volume %s is in %s, instance %s in %s"
                             % (vol.id, vol.az, inst.id, inst.az))
        if not device or not isinstance(device, str):
            raise ValueError("a device name is needed (e.g. /dev/sdf)")
        if inst.attachment(device) is not None:
            raise ValueError("device %s of instance %s is taken by %s"
                             % (device, inst.id, inst.attachment(device).volume_id))
        if status not in ATTACHMENT_STATES:
            raise ValueError("attachment status is one of %s"
                             % ", ".join(ATTACHMENT_STATES))
        a = Attachment(inst.id, vol.id, device, status, time,
                       bool(delete_on_termination))
        vol.attachment = a
        vol.state = "in-use"
        inst.attachments.append(a)
        self.changed(vol)
        return a

    def set_attachment_status(self, vol, status):
        vol.attachment.status = status
        self.changed(vol)

    def detach(self, vol):
        """The volume is available again, and its instance (if emulated)
        loses the mapping."""
        a = vol.attachment
        inst = self.instances.get(a.instance_id)
        if inst is not None:
            inst.attachments.remove(a)
        vol.attachment = None
        vol.state = "available"
        self.changed(vol)

    def set_instance_state(self, inst, state, now):
        """Move an instance to `state`.  Termination detaches every volume
        and deletes those marked delete-on-termination; a terminated
        instance changes no more."""
        if state not in INSTANCE_STATES:
            raise ValueError("bad instance state %r (one of %s)"
                             % (state, ", ".join(INSTANCE_STATES)))
        if state == inst.state:
            return
        if inst.state == "terminated":
            raise ValueError("instance %s is terminated and cannot change "
                             "state" % inst.id)
        if state == "terminated":
            for a in list(inst.attachments):
                if a.delete_on_termination:
                    self.remove_volume(a.volume_id)
                else:
                    self.detach(self.volumes[a.volume_id])
            inst.terminated_at = now
            self.terminated[inst.id] = inst
        inst.state = state
        inst.state_time = now
        self.changed()

    def sweep_terminated(self, now, delay):
        """Remove terminated instances listed for `delay` seconds."""
        for inst in list(self.terminated.values()):
            if now >= inst.terminated_at + delay:
                del self.terminated[inst.id]
                del self.instances[inst.id]
                inst.deleted = True
                self.changed()

    # -- snapshot sets ---------------------------------------------------

    def add_set(self, snapshots):
        """Make the snapshots of one CreateSnapshots call a set."""
        set_id = "set-%d" % (len(self.sets) + 1)     # sets are never removed
        for s in snapshots:
            s.set_id = set_id
        self.sets[set_id] = list(snapshots)
        return set_id

    def with_set_mates(self, snapshots):
        """The snapshots followed by the other snapshots of their sets
        (deleted pending ones included), each once, in order."""
        out = {}
        for s in snapshots:
            out.setdefault(s.id, s)
            for mate in self.sets.get(s.set_id, ()):
                if not mate.deleted or mate.id in self.pending:
                    out.setdefault(mate.id, mate)
        return list(out.values())

    # -- images --------------------------------------------------------

    def add_image(self, iid, name, owner, public, snapshot_ids, creation,
                  tags=(), description="", alias=None):
        if not AMI_ID.match(iid):
            raise ValueError("malformed image id %r" % iid)
        if iid in self.images:
            raise ValueError("image %s already exists" % iid)
        for sid in snapshot_ids:
            if sid not in self.snapshots:
                raise ValueError("snapshot %s does not exist" % sid)
        img = Image(iid, self._next_seq(), name, owner, public, snapshot_ids,
                    creation, tags, description, alias)
        self.images[iid] = img
        for sid in snapshot_ids:
            self.in_use.setdefault(sid, set()).add(iid)
        self.changed()
        return img

    def remove_image(self, iid):
        img = self.images.pop(iid)
        img.deleted = True
        for sid in img.snapshot_ids:
            users = self.in_use.get(sid)
            if users:
                users.discard(iid)
                if not users:
                    del self.in_use[sid]
        self.changed()

    # -- listings ------------------------------------------------------

    def results(self, key, build):
        """The cached full result of a listing, or build() it.

        build returns the matching objects in sequence order.  Returns
        (objects, their sequence numbers)."""
        entry = self._results.get(key)
        if entry is not None and entry[0] == self.generation:
            self._results.move_to_end(key)
            return entry[1], entry[2]
        items = build()
        seqs = [o.seq for o in items]
        self._results[key] = (self.generation, items, seqs)
        self._results.move_to_end(key)
        while len(self._results) > RESULT_CACHE_SIZE:
            self._results.popitem(last=False)
        return items, seqs

    @staticmethod
    def page(items, seqs, after, limit, hidden=None):
        """Up to `limit` live objects after sequence number `after`, leaving
        out the ids in `hidden`.

        Returns (objects, sequence number to resume after or None)."""
        i = bisect.bisect_right(seqs, after)
        n = len(items)
        out = []
        while i < n and len(out) < limit:
            o = items[i]
            i += 1
            if not o.deleted and not (hidden and o.id in hidden):
                out.append(o)
        while i < n and (items[i].deleted or (hidden and items[i].id in hidden)):
            i += 1
        if i < n and out:
            return out, out[-1].seq
        return out, None

    @staticmethod
    def before(items, seqs, after, limit, hidden=None):
        """The last `limit` live objects up to sequence number `after`: the
        end of the page that a token for `after` follows."""
        i = bisect.bisect_right(seqs, after)
        out = []
        while i > 0 and len(out) < limit:
            i -= 1
            o = items[i]
            if not o.deleted and not (hidden and o.id in hidden):
                out.append(o)
        out.reverse()
        return out

    def snapshots_of_volumes(self, volume_ids):
        """Live snapshots of the given volumes, in sequence order."""
        found = []
        for vid in set(volume_ids):
            found.extend(self.by_volume.get(vid, ()))
        found.sort(key=_by_seq)
        return found

    def dump(self, summary=False):
        if summary:
            states = collections.Counter(s.state for s in self.snapshots.values())
            return {"volumes": len(self.volumes),
                    "snapshots": len(self.snapshots),
                    "snapshot_states": dict(states),
                    "images": len(self.images),
                    "instances": len(self.instances)}
        return {
            "volumes": [v.dump() for v in self.volumes.values()],
            "snapshots": [s.dump() for s in self.snapshots.values()],
            "images": [i.dump() for i in self.images.values()],
            "instances": [i.dump() for i in self.instances.values()],
            "deleted_pending": sorted(s.id for s in self.pending.values()
                                      if s.deleted),
        }
