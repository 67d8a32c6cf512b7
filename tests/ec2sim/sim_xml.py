"""EC2 response documents, rendered the way EC2 sends them.

Success documents carry the 2016-11-15 namespace, start with a lower-case
`requestId`, have no Result wrapper, and hold lists as `xxxSet` of `item`;
error documents have no namespace and spell `RequestID`.  Output is
indented with four spaces like real responses, so a client must skip white
space between elements.  A snapshot's or volume's `<item>` is rendered once
and cached on the object (the store drops the cache when the object changes).
"""

import time

NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"
PROLOG = '<?xml version="1.0" encoding="UTF-8"?>\n'

_time_cache = {}


def esc(text):
    return (str(text).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;"))


def iso_ms(t):
    """2026-01-01T00:00:00.000Z: UTC with milliseconds, as EC2 writes times."""
    s = _time_cache.get(t)
    if s is None:
        total = int(round(t * 1000))
        secs, ms = divmod(total, 1000)
        s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + ".%03dZ" % ms
        if len(_time_cache) > 200000:
            _time_cache.clear()
        _time_cache[t] = s
    return s


def iso_s(t):
    """2026-01-01T00:00:00Z: the form IMDS uses."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(t)))


def boolean(v):
    return "true" if v else "false"


def element(indent, name, value):
    """One text element; an empty value gives a self-closed element."""
    if value is None or value == "":
        return "%s<%s/>\n" % (indent, name)
    return "%s<%s>%s</%s>\n" % (indent, name, esc(value), name)


_tagset_cache = {}


def tag_set(indent, tags):
    """tagSet for a tuple of (key, value) pairs; omitted when there are none."""
    if not tags:
        return ""
    key = (indent, tags)
    s = _tagset_cache.get(key)
    if s is None:
        i2 = indent + "    "
        i3 = i2 + "    "
        parts = [indent, "<tagSet>\n"]
        for k, v in tags:
            parts += [i2, "<item>\n", element(i3, "key", k),
                      element(i3, "value", v), i2, "</item>\n"]
        parts += [indent, "</tagSet>\n"]
        s = "".join(parts)
        if len(_tagset_cache) > 50000:
            _tagset_cache.clear()
        _tagset_cache[key] = s
    return s


def created_snapshot(s):
    """The Snapshot members of a CreateSnapshot response, directly under the
    root: progress is still empty, and there is no storageTier."""
    i = "    "
    return "".join([
        element(i, "snapshotId", s.id),
        element(i, "volumeId", s.volume_id),
        element(i, "status", s.state),
        element(i, "startTime", iso_ms(s.start)),
        element(i, "progress", ""),
        element(i, "ownerId", s.owner),
        element(i, "volumeSize", s.size),
        element(i, "encrypted", boolean(s.encrypted)),
        element(i, "description", s.description),
        tag_set(i, s.tags),
    ]).encode("utf-8")


_I = " " * 12
_SNAPSHOT_ITEM = (
    "        <item>\n"
    + _I + "<snapshotId>%s</snapshotId>\n"
    + _I + "<volumeId>%s</volumeId>\n"
    + _I + "<status>%s</status>\n"
    "%s"                                         # statusMessage
    + _I + "<startTime>%s</startTime>\n"
    "%s"                                         # completionTime
    "%s"                                         # progress
    + _I + "<ownerId>%s</ownerId>\n"
    "%s"                                         # ownerAlias
    + _I + "<volumeSize>%d</volumeSize>\n"
    "%s"                                         # description
    + _I + "<encrypted>%s</encrypted>\n"
    + _I + "<storageTier>standard</storageTier>\n"
    "%s"                                         # tagSet
    "        </item>\n")
_PROGRESS = {p: element(_I, "progress", p) for p in ("", "0%", "100%")}
_NO_DESCRIPTION = element(_I, "description", "")


def snapshot_item(s):
    """Cached `<item>` of a snapshot inside DescribeSnapshots' snapshotSet.

    One formatting step per item, since listing a million snapshots renders
    each of them once.  Ids, state and owner are validated by the store and
    need no escaping."""
    x = s.xml
    if x is None:
        progress = _PROGRESS.get(s.progress)
        if progress is None:
            progress = element(_I, "progress", s.progress)
        x = (_SNAPSHOT_ITEM % (
            s.id, s.volume_id, s.state,
            element(_I, "statusMessage", s.message) if s.message else "",
            iso_ms(s.start),
            element(_I, "completionTime", iso_ms(s.completion))
            if s.completion is not None else "",
            progress, s.owner,
            element(_I, "ownerAlias", s.alias) if s.alias else "",
            s.size,
            element(_I, "description", s.description) if s.description
            else _NO_DESCRIPTION,
            "true" if s.encrypted else "false",
            tag_set(_I, s.tags))).encode("utf-8")
        s.xml = x
    return x


def volume_item(v):
    x = v.xml
    if x is None:
        i = " " * 12
        out = ["        <item>\n",
               element(i, "volumeId", v.id),
               element(i, "size", v.size),
               element(i, "snapshotId", v.snapshot_id),
               element(i, "availabilityZone", v.az),
               element(i, "status", v.state),
               element(i, "createTime", iso_ms(v.create_time))]
        if v.instance_id:
            j = i + "        "
            out += [i, "<attachmentSet>\n", i, "    <item>\n",
                    element(j, "volumeId", v.id),
                    element(j, "instanceId", v.instance_id),
                    element(j, "device", v.device),
                    element(j, "status", "attached"),
                    element(j, "attachTime", iso_ms(v.create_time)),
                    element(j, "deleteOnTermination", "false"),
                    i, "    </item>\n", i, "</attachmentSet>\n"]
        else:
            out.append(element(i, "attachmentSet", ""))
        out += [element(i, "volumeType", v.vtype)]
        if v.iops:
            out.append(element(i, "iops", v.iops))
        if v.throughput:
            out.append(element(i, "throughput", v.throughput))
        out += [element(i, "encrypted", boolean(v.encrypted)),
                element(i, "multiAttachEnabled", "false"),
                tag_set(i, v.tags),
                "        </item>\n"]
        x = "".join(out).encode("utf-8")
        v.xml = x
    return x


def image_item(img, snapshots):
    """snapshots: id -> Snapshot, for the block device mappings' sizes."""
    i = " " * 12
    j = i + "        "
    k = j + "    "
    out = ["        <item>\n",
           element(i, "imageId", img.id),
           element(i, "imageLocation", "%s/%s" % (img.owner, img.name)),
           element(i, "imageState", img.state),
           element(i, "imageOwnerId", img.owner),
           element(i, "creationDate", iso_ms(img.creation)),
           element(i, "isPublic", boolean(img.public)),
           element(i, "architecture", "x86_64"),
           element(i, "imageType", "machine"),
           element(i, "name", img.name)]
    if img.alias:
        out.append(element(i, "imageOwnerAlias", img.alias))
    if img.description:
        out.append(element(i, "description", img.description))
    out += [element(i, "rootDeviceType", "ebs"),
            element(i, "rootDeviceName", "/dev/xvda"),
            i, "<blockDeviceMapping>\n"]
    for n, sid in enumerate(img.snapshot_ids):
        snap = snapshots.get(sid)
        out += [i, "    <item>\n",
                element(j, "deviceName",
                        "/dev/xvda" if n == 0 else "/dev/xvd" + chr(ord("b") + n - 1)),
                j, "<ebs>\n",
                element(k, "snapshotId", sid),
                element(k, "volumeSize", snap.size if snap else 8),
                element(k, "deleteOnTermination", "true"),
                element(k, "volumeType", "gp3"),
                element(k, "encrypted", boolean(snap.encrypted if snap else False)),
                j, "</ebs>\n", i, "    </item>\n"]
    out += [i, "</blockDeviceMapping>\n",
            element(i, "virtualizationType", "hvm"),
            element(i, "hypervisor", "xen"),
            tag_set(i, img.tags),
            "        </item>\n"]
    return "".join(out).encode("utf-8")


def document(action, request_id, body=b""):
    """A success document; body: the members after requestId, as bytes."""
    return b"".join([
        ('%s<%sResponse xmlns="%s">\n    <requestId>%s</requestId>\n'
         % (PROLOG, action, NAMESPACE, request_id)).encode("utf-8"),
        body,
        ("</%sResponse>" % action).encode("utf-8"),
    ])


def item_set(name, items, next_token=None):
    """A `<nameSet>` of pre-rendered items plus an optional nextToken."""
    if items:
        parts = [("    <%s>\n" % name).encode()]
        parts.extend(items)
        parts.append(("    </%s>\n" % name).encode())
    else:
        parts = [("    <%s/>\n" % name).encode()]
    if next_token:
        parts.append(element("    ", "nextToken", next_token).encode("utf-8"))
    return b"".join(parts)


def error_document(code, message, request_id):
    return (PROLOG +
            "<Response><Errors><Error><Code>%s</Code><Message>%s</Message>"
            "</Error></Errors><RequestID>%s</RequestID></Response>"
            % (esc(code), esc(message), esc(request_id))).encode("utf-8")
