/*
 * libFuzzer target for the EC2 response parser (src/ec2xml.c).
 *
 * The first byte chooses the response kind (modulo the number of kinds,
 * EC2XML_ERROR_ONLY being the last), how the rest is cut into chunks,
 * whether a callback stops the parse and whether the body cap is hit; the
 * rest is the body.  Every string the parser hands out is checked against
 * the limits the header promises.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec2xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	size_t items;
	size_t stop_at;            /* 0: never */
};

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
check_id(const char *id, bool required)
{
	size_t n = strlen(id);

	check(n <= EC2XML_ID_MAX);
	check(!required || n > 0);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		check((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.');
	}
}

static void
check_tags(const struct ec2xml_tag *tags, size_t n)
{
	check(n <= EC2XML_TAGS_MAX);
	for (size_t i = 0; i < n; i++) {
		check(strlen(tags[i].key) <= EC2XML_TAG_KEY_MAX);
		check(strlen(tags[i].value) <= EC2XML_TAG_VALUE_MAX);
		check(ec2xml_tag_get(tags, n, tags[i].key) != NULL);
	}
}

static int
next(struct run *r)
{
	r->items++;
	return r->stop_at != 0 && r->items == r->stop_at;
}

static int
on_snapshot(void *arg, const struct ec2xml_snapshot *s)
{
	check_id(s->id, true);
	check_id(s->volume_id, false);
	check(strlen(s->status) <= EC2XML_STATUS_MAX);
	check(strlen(s->description) <= EC2XML_DESCRIPTION_MAX);
	check(s->start >= 0);
	check_tags(s->tags, s->ntags);
	return next(arg);
}

static int
on_volume(void *arg, const struct ec2xml_volume *v)
{
	check_id(v->id, true);
	check(strlen(v->status) <= EC2XML_STATUS_MAX);
	check_tags(v->tags, v->ntags);
	return next(arg);
}

static int
on_image(void *arg, const struct ec2xml_image *img)
{
	check_id(img->id, true);
	check(img->nsnapshots <= EC2XML_IMAGE_SNAPSHOTS_MAX);
	for (size_t i = 0; i < img->nsnapshots; i++)
		check_id(img->snapshot_ids[i], true);
	return next(arg);
}

static int
on_instance(void *arg, const struct ec2xml_instance *in)
{
	check_id(in->id, true);
	check(strlen(in->state) <= EC2XML_STATUS_MAX);
	check(strlen(in->root_device) <= EC2XML_DEVICE_MAX);
	check(in->nmappings <= EC2XML_MAPPINGS_MAX);
	check(in->nmappings == 0 || in->mappings != NULL);
	for (size_t i = 0; i < in->nmappings; i++) {
		const struct ec2xml_mapping *m = &in->mappings[i];

		check(strlen(m->device) <= EC2XML_DEVICE_MAX);
		check_id(m->volume_id, false);
		check(strlen(m->status) <= EC2XML_STATUS_MAX);
	}
	check_tags(in->tags, in->ntags);
	return next(arg);
}

/* One log line: no byte below 0x20, no DEL. */
static void
check_line(const char *s, size_t max)
{
	size_t n = strlen(s);

	check(n <= max + 3);
	for (size_t i = 0; i < n; i++)
		check((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct ec2xml_callbacks cb = {
		.snapshot = on_snapshot,
		.volume = on_volume,
		.image = on_image,
		.instance = on_instance,
	};
	struct run r = { 0, 0 };
	struct ec2xml *x;
	const char *body;
	size_t len, off = 0, n;
	uint32_t rng;
	unsigned ctl, how;
	int rc = 0;

	if (size < 1)
		return 0;
	ctl = data[0];
	body = (const char *)data + 1;
	len = size - 1;
	how = (ctl >> 3) & 3;
	if (ctl & 0x20)
		r.stop_at = 1 + ctl % 3;
	x = ec2xml_new((enum ec2xml_kind)(ctl % (EC2XML_ERROR_ONLY + 1)),
	    &cb, &r);
	if (x == NULL)
		return 0;
	if ((ctl & 0xc0) == 0xc0)
		ec2xml_set_max_bytes(x, len / 2);
	rng = ctl * 2654435761u + (uint32_t)len;
	while (off < len && rc == 0) {
		switch (how) {
		case 0:
			n = len;
			break;
		case 1:
			n = 1;
			break;
		case 2:
			n = 1 + ctl % 13;
			break;
		default:
			rng = rng * 1103515245u + 12345u;
			n = 1 + (rng >> 16) % 97;
			break;
		}
		if (n > len - off)
			n = len - off;
		rc = ec2xml_feed(x, body + off, n);
		off += n;
	}
	if (rc == 0)
		rc = ec2xml_finish(x);

	check(r.items == ec2xml_items(x));
	check((rc == 0) == (ec2xml_failure(x) == EC2XML_OK));
	check((rc == 0) == (ec2xml_failure_text(x)[0] == '\0'));
	check(ec2xml_finish(x) == rc);
	check_line(ec2xml_failure_text(x), 512);
	check_line(ec2xml_error_code(x), EC2XML_CODE_MAX);
	check_line(ec2xml_error_message(x), EC2XML_MESSAGE_MAX);
	check_line(ec2xml_request_id(x), EC2XML_REQUEST_ID_MAX);
	check(strlen(ec2xml_next_token(x)) <= EC2XML_TOKEN_MAX);
	if (rc == 0 && ec2xml_is_error(x))
		check(ec2xml_error_code(x)[0] != '\0');
	if (rc == 0 && r.stop_at != 0)
		check(r.items < r.stop_at);
	ec2xml_free(x);
	return 0;
}
