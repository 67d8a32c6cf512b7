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


def snapshot_info_item(s, az):
    """An `<item>` of CreateSnapshots' snapshotSet (shape SnapshotInfo):
    `state`, not `status`, and the volume's availability zone."""
    i = " " * 12
    return "".join([
        "        <item>\n",
        element(i, "snapshotId", s.id),
        element(i, "volumeId", s.volume_id),
        element(i, "state", s.state),
        element(i, "startTime", iso_ms(s.start)),
        element(i, "progress", ""),
        element(i, "ownerId", s.owner),
        element(i, "volumeSize", s.size),
        element(i, "description", s.description),
        element(i, "encrypted", boolean(s.encrypted)),
        tag_set(i, s.tags),
        element(i, "availabilityZone", az),
        "        </item>\n",
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
        a = v.attachment
        if a is not None:
            j = i + "        "
            out += [i, "<attachmentSet>\n", i, "    <item>\n",
                    element(j, "volumeId", v.id),
                    element(j, "instanceId", a.instance_id),
                    element(j, "device", a.device),
                    element(j, "status", a.status),
                    element(j, "attachTime", iso_ms(a.time)),
                    element(j, "deleteOnTermination",
                            boolean(a.delete_on_termination)),
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


# What stateReason says for the states a user's request leads to.
_USER_SHUTDOWN = ("Client.UserInitiatedShutdown",
                  "Client.UserInitiatedShutdown: User initiated shutdown")


def _instance_item(inst, indent):
    i = indent + "    "
    j = i + "    "
    k = j + "    "
    m = k + "    "
    stopped = inst.state in ("stopping", "stopped", "shutting-down", "terminated")
    reason = ("User initiated (%s GMT)"
              % time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(int(inst.state_time)))
              if stopped else "")
    out = [indent, "<item>\n",
           element(i, "instanceId", inst.id),
           element(i, "imageId", inst.image_id),
           i, "<instanceState>\n",
           element(j, "code", inst.code),
           element(j, "name", inst.state),
           i, "</instanceState>\n",
           element(i, "privateDnsName", ""),
           element(i, "dnsName", ""),
           element(i, "reason", reason),
           element(i, "amiLaunchIndex", 0),
           element(i, "productCodes", ""),
           element(i, "instanceType", inst.itype),
           element(i, "launchTime", iso_ms(inst.launch_time)),
           i, "<placement>\n",
           element(j, "availabilityZone", inst.az),
           element(j, "groupName", ""),
           element(j, "tenancy", "default"),
           i, "</placement>\n",
           i, "<monitoring>\n",
           element(j, "state", "disabled"),
           i, "</monitoring>\n",
           element(i, "groupSet", "")]
    if stopped:
        out += [i, "<stateReason>\n",
                element(j, "code", _USER_SHUTDOWN[0]),
                element(j, "message", _USER_SHUTDOWN[1]),
                i, "</stateReason>\n"]
    out += [element(i, "architecture", "x86_64"),
            element(i, "rootDeviceType", "ebs"),
            element(i, "rootDeviceName", inst.root_device)]
    if inst.attachments:
        out += [i, "<blockDeviceMapping>\n"]
        for a in inst.attachments:
            out += [j, "<item>\n",
                    element(k, "deviceName", a.device),
                    k, "<ebs>\n",
                    element(m, "volumeId", a.volume_id),
                    element(m, "status", a.status),
                    element(m, "attachTime", iso_ms(a.time)),
                    element(m, "deleteOnTermination",
                            boolean(a.delete_on_termination)),
                    k, "</ebs>\n",
                    j, "</item>\n"]
        out += [i, "</blockDeviceMapping>\n"]
    else:
        out.append(element(i, "blockDeviceMapping", ""))
    out += [element(i, "virtualizationType", "hvm"),
            element(i, "clientToken", ""),
            tag_set(i, inst.tags),
            element(i, "hypervisor", "xen"),
            element(i, "networkInterfaceSet", ""),
            element(i, "ebsOptimized", "false"),
            indent, "</item>\n"]
    return "".join(out)


def reservation_set(instances, next_token=None):
    """DescribeInstances' reservationSet: consecutive instances of one
    reservation share its item."""
    groups = []
    for inst in instances:
        if groups and groups[-1][0].reservation == inst.reservation:
            groups[-1].append(inst)
        else:
            groups.append([inst])
    items = []
    i = " " * 12
    for group in groups:
        first = group[0]
        items.append("".join(
            ["        <item>\n",
             element(i, "reservationId", first.reservation),
             element(i, "ownerId", first.owner),
             element(i, "groupSet", ""),
             i, "<instancesSet>\n"] +
            [_instance_item(inst, i + "    ") for inst in group] +
            [i, "</instancesSet>\n", "        </item>\n"]).encode("utf-8"))
    return item_set("reservationSet", items, next_token)


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
