/*
 * ec2backup: the command line.
 *
 * Parses global options, finds the command in the table, and maps every
 * outcome to the documented exit codes.  Commands say in the table what
 * they need (credentials, whether they change anything), so those rules are
 * applied here, in one place.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "policy.h"

#ifndef EC2BACKUP_VERSION
#define EC2BACKUP_VERSION "unknown"
#endif

/* Exit codes: a contract, documented in ec2backup(8) EXIT STATUS. */
enum {
	EXIT_OK = 0,
	EXIT_PARTIAL = 1,   /* some actions failed, others completed */
	EXIT_USAGE = 2,     /* bad command line or policy; nothing done */
	EXIT_EC2 = 3,       /* EC2 unreachable or refused us; nothing done */
	EXIT_LOCKED = 4     /* another run holds the lock */
};

struct command {
	const char *name;
	int (*run)(int argc, char *const argv[]);
	const char *summary;
};

static int cmd_check(int argc, char *const argv[]);

static const struct command commands[] = {
	{ "check", cmd_check, "validate policy files offline" },
	{ NULL, NULL, NULL }
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ec2backup [OPTIONS] COMMAND [POLICY...]\n"
	    "\n"
	    "Keeps EBS snapshots on a retention policy.\n"
	    "\n"
	    "Commands:\n");
	for (const struct command *c = commands; c->name != NULL; c++)
		fprintf(out, "  %-8s %s\n", c->name, c->summary);
	fprintf(out,
	    "\n"
	    "POLICY is a policy file or a directory of *.cfg files\n"
	    "(default: " POLICY_DEFAULT_DIR ").\n"
	    "\n"
	    "Options:\n"
	    "  -h, --help     show this help and exit\n"
	    "  -V, --version  show the version and exit\n"
	    "\n"
	    "Exit status: 0 success, 1 some actions failed, 2 invalid "
	    "command line or\npolicy, 3 EC2 unreachable or access refused, "
	    "4 another run holds the lock.\nSee ec2backup(8) and "
	    "ec2backup.cfg(5).\n");
}

static int usage_error(const char *fmt, ...) LOG_PRINTF(1, 2);

static int
usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ec2backup: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'ec2backup --help' for more information.\n", stderr);
	return EXIT_USAGE;
}

static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static int
cmd_check(int argc, char *const argv[])
{
	struct policy_set *set;
	size_t nvol, nsel = 0;
	int rc;

	set = policy_load_all(argv, (size_t)argc, stderr);
	if (set == NULL) {
		log_error("out of memory");
		return EXIT_USAGE;
	}
	nvol = policy_set_nvolumes(set);
	for (size_t i = 0; i < set->npolicies; i++)
		if (set->policies[i]->nselect_tags > 0)
			nsel++;
	printf("%zu %s, %zu %s", set->nfiles,
	    plural(set->nfiles, "policy", "policies"), nvol,
	    plural(nvol, "volume", "volumes"));
	if (nsel > 0)
		printf(", %zu %s", nsel,
		    plural(nsel, "tag selection", "tag selections"));
	if (set->nerrors > 0)
		printf(": %zu %s", set->nerrors,
		    plural(set->nerrors, "error", "errors"));
	else
		printf(": ok");
	if (set->nwarnings > 0)
		printf(", %zu %s", set->nwarnings,
		    plural(set->nwarnings, "warning", "warnings"));
	putchar('\n');
	rc = set->nerrors > 0 ? EXIT_USAGE : EXIT_OK;
	policy_set_free(set);
	return rc;
}

/* A report lost to a full disk must not look like success in cron. */
static int
close_stdout(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
		log_error("cannot write standard output");
		return rc == EXIT_OK ? EXIT_PARTIAL : rc;
	}
	return rc;
}

int
main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const struct command *cmd;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return close_stdout(EXIT_OK);
		case 'V':
			printf("ec2backup %s\n", EC2BACKUP_VERSION);
			return close_stdout(EXIT_OK);
		default:
			if (optopt != 0) {
				char word[3] = { '-', (char)optopt, '\0' };
				return usage_error("unknown option '%s'",
				    word);
			}
			return usage_error("unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return usage_error("no command given; the commands are "
		    "listed by --help");
	for (cmd = commands; cmd->name != NULL; cmd++)
		if (strcmp(cmd->name, argv[optind]) == 0)
			break;
	if (cmd->name == NULL)
		return usage_error("unknown command '%s'", argv[optind]);
	optind++;
	/* Options after the command are errors, not policy files. */
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			memmove(&argv[i], &argv[i + 1],
			    (size_t)(argc - i) * sizeof(*argv));
			argc--;
			break;
		}
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return close_stdout(EXIT_OK);
		}
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage_error("unknown option '%s'", argv[i]);
	}
	return close_stdout(cmd->run(argc - optind, argv + optind));
}
