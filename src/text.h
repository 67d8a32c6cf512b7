/*
 * Text that came from outside (snapshot descriptions, tag values, EC2's
 * error messages), made safe to print for people.
 *
 * A description holding a newline could forge a line of a listing or of
 * a log; one holding U+202E could make a snapshot id read backwards.  So
 * C0 and C1 control characters, DEL, the Unicode bidirectional controls
 * and bytes that are not UTF-8 are written as visible escapes: \n, \t,
 * \xNN for bytes, \u{NNNN} for characters.  Everything else, including
 * non-ASCII letters, is kept.
 */
#ifndef EC2BACKUP_TEXT_H
#define EC2BACKUP_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most bytes one input byte can become (\u{NNNN} for a 3-byte
 * character is 8 bytes for 3, \xNN is 4 for 1). */
#define TEXT_ESCAPE_GROWTH 4

/*
 * Decodes one UTF-8 sequence at s[0..len), strictly (no overlong forms,
 * surrogates or values past U+10FFFF): returns its length and stores the
 * code point, or returns 0 when the sequence is invalid or incomplete.
 */
size_t text_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* The number of code points of s, or -1 when s is not valid UTF-8. */
long text_utf8_length(const char *s);

/* Characters that could break a line or hide what follows them: C0 and
 * C1 controls, DEL, bidi controls, line and paragraph separators. */
bool text_unsafe(uint32_t cp);

/* True when s prints as it is. */
bool text_plain(const char *s);

/*
 * Writes s escaped into out (len bytes, always NUL-terminated when len >
 * 0), cut at an escape or character boundary when it does not fit.
 * Returns the number of bytes written, without the NUL.
 */
size_t text_escape(const char *s, char *out, size_t len);

/*
 * Of names[0..n), the one nearest to word if it is near enough to be a
 * typo of it (at most two edits, fewer than word's length), else NULL.
 */
const char *text_nearest(const char *word, const char *const *names,
    size_t n);

#endif
