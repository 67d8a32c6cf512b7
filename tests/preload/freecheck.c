/*
 * LD_PRELOAD library for tests: watches every free() and realloc() of the
 * process for a block that still holds one of the secrets named in
 * FREECHECK_SECRETS (separated by ':').  Freed memory is where a secret
 * that was not wiped lingers until it is reused, or until a core file or
 * a swap page writes it out.
 *
 * At exit it writes "checked N" and "found N" lines to FREECHECK_REPORT;
 * each finding is also described on standard error with a backtrace.
 * realloc counts as a free of the old block even when it grows in place:
 * a buffer holding a secret should not be reallocated at all.
 */
#define _GNU_SOURCE
#include <execinfo.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SECRETS 8

extern void __libc_free(void *p);
extern void *__libc_realloc(void *p, size_t n);

static char secrets[4096];
static const char *secret[MAX_SECRETS];
static size_t secret_len[MAX_SECRETS];
static size_t nsecrets;
static unsigned long checked, found;
static int busy;

__attribute__((constructor)) static void
freecheck_init(void)
{
	const char *env = getenv("FREECHECK_SECRETS");
	char *p;

	if (env == NULL || strlen(env) >= sizeof(secrets))
		return;
	strcpy(secrets, env);
	for (p = strtok(secrets, ":"); p != NULL && nsecrets < MAX_SECRETS;
	    p = strtok(NULL, ":")) {
		secret[nsecrets] = p;
		secret_len[nsecrets++] = strlen(p);
	}
}

__attribute__((destructor)) static void
freecheck_report(void)
{
	const char *path = getenv("FREECHECK_REPORT");
	FILE *f;

	busy = 1;
	if (path == NULL || (f = fopen(path, "w")) == NULL)
		return;
	fprintf(f, "checked %lu\nfound %lu\n", checked, found);
	fclose(f);
}

static void
inspect(void *p)
{
	size_t n;

	if (p == NULL || busy || nsecrets == 0)
		return;
	busy = 1;
	n = malloc_usable_size(p);
	checked++;
	for (size_t i = 0; i < nsecrets; i++) {
		void *frames[32];
		char msg[128];
		int len;

		if (memmem(p, n, secret[i], secret_len[i]) == NULL)
			continue;
		found++;
		len = snprintf(msg, sizeof(msg), "freecheck: a freed block of "
		    "%zu bytes holds secret #%zu; freed from:\n", n, i + 1);
		if (len > 0)
			(void)!write(2, msg, (size_t)len);
		backtrace_symbols_fd(frames, backtrace(frames, 32), 2);
		break;
	}
	busy = 0;
}

void
free(void *p)
{
	inspect(p);
	__libc_free(p);
}

void *
realloc(void *p, size_t n)
{
	inspect(p);
	return __libc_realloc(p, n);
}
