/*
 * libFuzzer target for EC2 error documents (src/ec2xml.c).
 *
 * The first byte chooses the kind the body is parsed as and whether the
 * rest is a whole document or three pieces (split at the first two NUL
 * bytes) put into the code, message and request id of an error document,
 * raw, so that the cleaning of those fields meets every byte there is.
 * What comes out must fit one log line: bounded, valid UTF-8, no control
 * characters (C0, DEL, C1) and no line or paragraph separators.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ec2xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
check_line(const char *str, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t len = strlen(str), i = 0;

	check(len <= max + 3);
	check(len == 0 || (s[0] != ' ' && s[len - 1] != ' '));
	while (i < len) {
		uint32_t cp;
		size_t n;

		if (s[i] < 0x80) {
			cp = s[i];
			n = 1;
		} else if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			cp = s[i] & 0x1f;
			n = 2;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			cp = s[i] & 0x0f;
			n = 3;
		} else {
			check(s[i] >= 0xf0 && s[i] <= 0xf4);
			cp = s[i] & 0x07;
			n = 4;
		}
		check(i + n <= len);
		for (size_t k = 1; k < n; k++) {
			check((s[i + k] & 0xc0) == 0x80);
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		check(cp >= 0x20 && !(cp >= 0x7f && cp <= 0x9f));
		check(cp != 0x2028 && cp != 0x2029);
		check(!(cp >= 0x202a && cp <= 0x202e));
		check(!(cp >= 0x2066 && cp <= 0x2069));
		i += n;
	}
}

static const char *
piece(const char **p, const char *end, size_t *len)
{
	const char *start = *p;
	const char *nul = memchr(start, '\0', (size_t)(end - start));

	if (nul == NULL)
		nul = end;
	*len = (size_t)(nul - start);
	*p = nul < end ? nul + 1 : end;
	return start;
}

static int
feed_all(struct ec2xml *x, const char *s, size_t len, size_t step)
{
	for (size_t off = 0; off < len; off += step)
		if (ec2xml_feed(x, s + off, len - off < step ? len - off :
		    step) != 0)
			return -1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const heads[] = {
		"<Response><Errors><Error><Code>",
		"<ErrorResponse xmlns=\"http://ec2.amazonaws.com/doc/"
		"2016-11-15/\"><Error><Type>Sender</Type><Code>",
	};
	static const char *const mids[] = {
		"</Code><Message>", "</Code><Message>",
	};
	static const char *const ids[] = {
		"</Message></Error></Errors><RequestID>",
		"</Message></Error><RequestId>",
	};
	static const char *const tails[] = {
		"</RequestID></Response>", "</RequestId></ErrorResponse>",
	};
	struct ec2xml *x;
	const char *p, *end;
	unsigned ctl;
	size_t step;
	int rc;

	if (size < 1)
		return 0;
	ctl = data[0];
	p = (const char *)data + 1;
	end = (const char *)data + size;
	/* Mostly "errors only"; sometimes a success kind, which must also
	 * recognise an error root. */
	x = ec2xml_new(ctl & 0x80 ? (enum ec2xml_kind)(ctl % 6) :
	    EC2XML_ERROR_ONLY, NULL, NULL);
	if (x == NULL)
		return 0;
	step = ctl & 0x40 ? 1 + ctl % 5 : size;
	if (ctl & 0x20) {
		size_t shape = ctl & 1, lc, lm, lr;
		const char *code = piece(&p, end, &lc);
		const char *msg = piece(&p, end, &lm);
		const char *rid = piece(&p, end, &lr);

		rc = feed_all(x, heads[shape], strlen(heads[shape]), step);
		if (rc == 0)
			rc = feed_all(x, code, lc, step);
		if (rc == 0)
			rc = feed_all(x, mids[shape], strlen(mids[shape]),
			    step);
		if (rc == 0)
			rc = feed_all(x, msg, lm, step);
		if (rc == 0)
			rc = feed_all(x, ids[shape], strlen(ids[shape]), step);
		if (rc == 0)
			rc = feed_all(x, rid, lr, step);
		if (rc == 0)
			rc = feed_all(x, tails[shape], strlen(tails[shape]),
			    step);
	} else {
		rc = feed_all(x, p, (size_t)(end - p), step);
	}
	if (rc == 0)
		rc = ec2xml_finish(x);

	check((rc == 0) == (ec2xml_failure(x) == EC2XML_OK));
	check_line(ec2xml_failure_text(x), 512);
	check_line(ec2xml_error_code(x), EC2XML_CODE_MAX);
	check_line(ec2xml_error_message(x), EC2XML_MESSAGE_MAX);
	check_line(ec2xml_request_id(x), EC2XML_REQUEST_ID_MAX);
	if (rc == 0 && ec2xml_is_error(x))
		check(ec2xml_error_code(x)[0] != '\0');
	ec2xml_free(x);
	return 0;
}
