/*
 * ec2backup: the command line.
 *
 * Parses the options, finds the command in the table, loads and validates
 * every policy before anything else (an invalid one means nothing is
 * done), and maps outcomes to the documented exit codes.  Commands say in
 * the table whether they talk to EC2 and which run mode they are, so those
 * rules are applied here, in one place.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "exitcode.h"
#include "inventory.h"
#include "log.h"
#include "monitor.h"
#include "policy.h"
#include "report.h"
#include "run.h"
#include "secure.h"
#include "text.h"

#ifndef EC2BACKUP_VERSION
#define EC2BACKUP_VERSION "unknown"
#endif

#define JOBS_MAX 64
/* A run that has not ended after this long is stopped, so that a hung
 * endpoint never keeps the lock from the next day's run. */
#define DEFAULT_TIMEOUT_S (12 * 3600)
#define DEFAULT_LOOKUP_S 30

struct options {
	struct run_options run;
	bool dry_run;
	bool now_set;
	bool syslog;
	char *success_argv[2];     /* --on-success PROGRAM */
	char *failure_argv[2];
};

enum command_kind { CMD_EC2, CMD_CHECK, CMD_HELP, CMD_VERSION };

struct command {
	const char *name;
	const char *summary;
	enum command_kind kind;
	enum run_mode mode;
};

static const struct command commands[] = {
	{ "run", "plan and apply: create today's snapshots, prune the old "
	    "(the default)", CMD_EC2, RUN_APPLY },
	{ "plan", "print what run would do, change nothing (as --dry-run)",
	    CMD_EC2, RUN_PLAN },
	{ "list", "list each volume's snapshots and whether the policy owns "
	    "them", CMD_EC2, RUN_LIST },
	{ "monitor", "check that every volume has a fresh snapshot (Nagios "
	    "plugin)", CMD_EC2, RUN_MONITOR },
	{ "doctor", "check, changing nothing, that a run would work: "
	    "credentials,\n           clock, volumes, permissions (DryRun)",
	    CMD_EC2, RUN_DOCTOR },
	{ "check", "validate policy files offline, for CI", CMD_CHECK,
	    RUN_PLAN },
	{ "help", "show this help", CMD_HELP, RUN_PLAN },
	{ "version", "show the version", CMD_VERSION, RUN_PLAN },
	{ NULL, NULL, CMD_EC2, RUN_PLAN }
};

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ec2backup [OPTIONS] [COMMAND] [POLICY...]\n"
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
	    "  -n, --dry-run           print the plan, change nothing\n"
	    "      --create-only       create today's snapshots, delete nothing\n"
	    "      --prune-only        delete what the policies no longer keep,\n"
	    "                          create nothing\n"
	    "      --now TIME          with --dry-run: plan as if it were TIME\n"
	    "                          (2026-11-23T03:00:00Z)\n"
	    "  -o, --output FORMAT     text (default) or json\n"
	    "      --region REGION     AWS region (else policy, environment, "
	    "profile)\n"
	    "      --profile NAME      profile of the AWS shared files\n"
	    "      --endpoint-url URL  EC2 endpoint (default: the region's)\n"
	    "      --ca-bundle FILE    also trust the CAs in this PEM file\n"
	    "  -j, --jobs N            requests in flight (default 8)\n"
	    "      --timeout SECONDS   give up on the whole run after this long\n"
	    "                          (default 43200, 12 hours)\n"
	    "      --lookup-timeout SECONDS\n"
	    "                          how long to look for a snapshot whose\n"
	    "                          CreateSnapshot answer was lost (default "
	    "30)\n"
	    "      --api-rate-scale F  multiply EC2's request rates (raised "
	    "limits)\n"
	    "      --lock-file PATH    the lock that keeps runs apart\n"
	    "      --log-level LEVEL   debug, info, warning or error\n"
	    "  -q, --quiet             warnings and errors only\n"
	    "  -v, --verbose           debug messages too\n"
	    "      --syslog            log to syslog (facility daemon) as well\n"
	    "      --metrics-file PATH write Prometheus metrics there after a "
	    "run\n"
	    "      --on-success PROG   run PROG after a run that succeeded\n"
	    "      --on-failure PROG   run PROG after a run that did not\n"
	    "      --hook-timeout SECONDS\n"
	    "                          time limit of those (default 60)\n"
	    "  -h, --help              show this help and exit\n"
	    "  -V, --version           show the version and exit\n"
	    "\n"
	    "Exit status: 0 done, nothing needs a person; 1 something "
	    "needs a person;\n2 invalid command line, policy or AWS "
	    "configuration; 3 EC2 unreachable or\nrefusing the credentials; "
	    "4 another run holds the lock.  monitor: 0 OK,\n1 WARNING, 2 "
	    "CRITICAL, 3 UNKNOWN.  See ec2backup(8) and ec2backup.cfg(5).\n");
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
cmd_check(struct policy_set *set)
{
	size_t nvol, nsel = 0, ninst = 0;

	nvol = policy_set_nvolumes(set);
	for (size_t i = 0; i < set->npolicies; i++) {
		if (set->policies[i]->nselect_tags > 0)
			nsel++;
		ninst += set->policies[i]->ninstances;
	}
	printf("%zu %s, %zu %s", set->nfiles,
	    plural(set->nfiles, "policy", "policies"), nvol,
	    plural(nvol, "volume", "volumes"));
	if (ninst > 0)
		printf(", %zu %s", ninst, plural(ninst, "instance",
		    "instances"));
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
	return set->nerrors > 0 ? EXIT_USAGE : EXIT_OK;
}

/* Colour only for a terminal that can show it, and never when NO_COLOR
 * is set to anything (https://no-color.org). */
static bool
colour_wanted(int fd)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");

	return isatty(fd) && (no == NULL || no[0] == '\0') && term != NULL &&
	    strcmp(term, "dumb") != 0;
}

/*
 * The problems the policy loader wrote ("FILE:LINE: error: MESSAGE", line
 * 0 when it has none) as a JSON array, for -o json.
 */
static json_object *
problems_json(const char *text)
{
	json_object *arr = json_object_new_array();

	for (const char *p = text != NULL ? text : ""; *p != '\0';) {
		const char *eol = strchr(p, '\n'), *sev;
		size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
		char *line = strndup(p, len), *colon;
		json_object *o;
		long lineno = 0;
		bool error;

		p += len + (eol != NULL);
		if (line == NULL)
			break;
		error = (sev = strstr(line, ": error: ")) != NULL;
		if (!error && (sev = strstr(line, ": warning: ")) == NULL) {
			free(line);
			continue;
		}
		line[sev - line] = '\0';
		colon = strrchr(line, ':');
		if (colon != NULL && colon[1] >= '0' && colon[1] <= '9') {
			lineno = strtol(colon + 1, NULL, 10);
			*colon = '\0';
		}
		o = json_object_new_object();
		json_object_object_add(o, "file", json_object_new_string(line));
		json_object_object_add(o, "line", json_object_new_int64(lineno));
		json_object_object_add(o, "severity", json_object_new_string(
		    error ? "error" : "warning"));
		json_object_object_add(o, "message", json_object_new_string(
		    sev + (error ? 9 : 11)));
		json_object_array_add(arr, o);
		free(line);
	}
	return arr;
}

/* {"problems", "status", "warnings", "errors"}: a command that stopped
 * because of its policies. */
static void
json_failure(int rc, const char *problems)
{
	json_object *arr = problems_json(problems);

	fputs("{\"problems\":", stdout);
	fputs(json_object_to_json_string_ext(arr, REPORT_JSON_FLAGS),
	    stdout);
	json_object_put(arr);
	fputc(',', stdout);
	report_json_status(stdout, rc);
	fputs("}\n", stdout);
}

/* check -o json: {"files", "policies": [{"name", "file", "volumes",
 * "tag_selection"}], "problems", "status", "warnings", "errors"}. */
static int
cmd_check_json(struct policy_set *set, const char *problems)
{
	json_object *pols = json_object_new_array();
	json_object *probs = problems_json(problems);
	int rc = set->nerrors > 0 ? EXIT_USAGE : EXIT_OK;

	for (size_t i = 0; i < set->npolicies; i++) {
		const struct policy *p = set->policies[i];
		json_object *o = json_object_new_object();
		json_object_object_add(o, "name", json_object_new_string(
		    p->name));
		json_object_object_add(o, "file", json_object_new_string(
		    p->file));
		json_object_object_add(o, "volumes", json_object_new_int64(
		    (int64_t)p->nvolumes));
		json_object_object_add(o, "instances", json_object_new_int64(
		    (int64_t)p->ninstances));
		json_object_object_add(o, "tag_selection",
		    json_object_new_boolean(p->nselect_tags > 0));
		json_object_array_add(pols, o);
	}
	printf("{\"files\":%zu,\"policies\":%s,\"problems\":%s,", set->nfiles,
	    json_object_to_json_string_ext(pols, REPORT_JSON_FLAGS),
	    json_object_to_json_string_ext(probs, REPORT_JSON_FLAGS));
	json_object_put(pols);
	json_object_put(probs);
	report_json_status(stdout, rc);
	fputs("}\n", stdout);
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

/* A word that names a policy file or directory rather than a command. */
static bool
looks_like_path(const char *s)
{
	size_t n = strlen(s);

	return strchr(s, '/') != NULL || (n > 4 && strcmp(s + n - 4, ".cfg")
	    == 0);
}

/* Whole numbers within bounds, or -1. */
static long
number(const char *s, long min, long max)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -1;
	v = strtol(s, &end, 10);
	return *end != '\0' || v < min || v > max ? -1 : v;
}

/*
 * --now: a UTC time, or a date meaning that day at this time of day (UTC),
 * so "--now 2026-11-24" asks what tomorrow's run at this hour will do.
 */
static int
parse_now(const char *s, int64_t *out)
{
	int32_t day = inv_parse_date(s);

	if (day != INV_NO_DATE) {
		int64_t t = (int64_t)time(NULL);
		*out = (int64_t)day * 86400 + ((t % 86400) + 86400) % 86400;
		return 0;
	}
	return inv_parse_time(s, out);
}

enum {
	OPT_NOW = 256, OPT_REGION, OPT_PROFILE, OPT_ENDPOINT, OPT_CA,
	OPT_TIMEOUT, OPT_RATE, OPT_LOCK, OPT_LEVEL, OPT_SYSLOG, OPT_LOOKUP,
	OPT_CREATE_ONLY, OPT_PRUNE_ONLY, OPT_METRICS, OPT_ON_SUCCESS,
	OPT_ON_FAILURE, OPT_HOOK_TIMEOUT
};

/* Returns EXIT_OK, or a status to exit with at once (-1: help shown). */
static int
parse_option(int c, const char *arg, struct options *o)
{
	long n;
	int level;
	char *end;

	switch (c) {
	case 'n':
		o->dry_run = true;
		break;
	case OPT_NOW:
		if (parse_now(arg, &o->run.now) != 0)
			return usage_error("--now '%s' is not a UTC time such as "
			    "2026-11-23T03:00:00Z, or a date such as 2026-11-23",
			    arg);
		o->now_set = true;
		break;
	case 'o':
		if (strcmp(arg, "json") == 0)
			o->run.json = true;
		else if (strcmp(arg, "text") == 0)
			o->run.json = false;
		else
			return usage_error("--output '%s': use text or json",
			    arg);
		break;
	case OPT_REGION: o->run.region = arg; break;
	case OPT_PROFILE: o->run.profile = arg; break;
	case OPT_ENDPOINT: o->run.endpoint_url = arg; break;
	case OPT_CA: o->run.ca_bundle = arg; break;
	case OPT_LOCK: o->run.lock_file = arg; break;
	case 'j':
		if ((n = number(arg, 1, JOBS_MAX)) < 0)
			return usage_error("--jobs '%s': use 1 to %d", arg,
			    JOBS_MAX);
		o->run.jobs = (int)n;
		break;
	case OPT_TIMEOUT:
		if ((n = number(arg, 1, 7 * 86400)) < 0)
			return usage_error("--timeout '%s': use 1 to 604800 "
			    "seconds", arg);
		o->run.timeout_s = n;
		break;
	case OPT_METRICS:
		o->run.metrics_file = arg;
		break;
	case OPT_ON_SUCCESS:
	case OPT_ON_FAILURE:
		if (arg[0] != '/')
			return usage_error("%s '%s': give the program's absolute "
			    "path", c == OPT_ON_SUCCESS ? "--on-success" :
			    "--on-failure", arg);
		if (c == OPT_ON_SUCCESS) {
			o->success_argv[0] = (char *)arg;
			o->run.on_success = o->success_argv;
		} else {
			o->failure_argv[0] = (char *)arg;
			o->run.on_failure = o->failure_argv;
		}
		break;
	case OPT_HOOK_TIMEOUT:
		if ((n = number(arg, 1, POLICY_HOOK_TIMEOUT_MAX)) < 0)
			return usage_error("--hook-timeout '%s': use 1 to %d "
			    "seconds", arg, POLICY_HOOK_TIMEOUT_MAX);
		o->run.hook_timeout_s = (int)n;
		break;
	case OPT_CREATE_ONLY:
	case OPT_PRUNE_ONLY:
		if (o->run.plan_mode != PLAN_MODE_ALL)
			return usage_error("--create-only and --prune-only "
			    "cannot be used together");
		o->run.plan_mode = c == OPT_CREATE_ONLY ?
		    PLAN_MODE_CREATE_ONLY : PLAN_MODE_PRUNE_ONLY;
		break;
	case OPT_LOOKUP:
		if ((n = number(arg, 1, 3600)) < 0)
			return usage_error("--lookup-timeout '%s': use 1 to 3600 "
			    "seconds", arg);
		o->run.lookup_s = n;
		break;
	case OPT_RATE:
		o->run.api_rate_scale = strtod(arg, &end);
		if (*end != '\0' || !(o->run.api_rate_scale >= 0.01 &&
		    o->run.api_rate_scale <= 1000))
			return usage_error("--api-rate-scale '%s': use a number "
			    "from 0.01 to 1000", arg);
		break;
	case OPT_LEVEL:
		if ((level = log_level_parse(arg)) < 0)
			return usage_error("--log-level '%s': use debug, info, "
			    "warning or error", arg);
		log_set_level((enum log_level)level);
		break;
	case 'q': log_set_level(LOG_LEVEL_WARNING); break;
	case 'v': log_set_level(LOG_LEVEL_DEBUG); break;
	case OPT_SYSLOG: o->syslog = true; break;
	case 'h':
		usage(stdout);
		return -1;
	case 'V':
		printf("ec2backup %s\n", EC2BACKUP_VERSION);
		return -1;
	default:
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "now", required_argument, NULL, OPT_NOW },
		{ "output", required_argument, NULL, 'o' },
		{ "region", required_argument, NULL, OPT_REGION },
		{ "profile", required_argument, NULL, OPT_PROFILE },
		{ "endpoint-url", required_argument, NULL, OPT_ENDPOINT },
		{ "ca-bundle", required_argument, NULL, OPT_CA },
		{ "jobs", required_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "lookup-timeout", required_argument, NULL, OPT_LOOKUP },
		{ "create-only", no_argument, NULL, OPT_CREATE_ONLY },
		{ "metrics-file", required_argument, NULL, OPT_METRICS },
		{ "on-success", required_argument, NULL, OPT_ON_SUCCESS },
		{ "on-failure", required_argument, NULL, OPT_ON_FAILURE },
		{ "hook-timeout", required_argument, NULL, OPT_HOOK_TIMEOUT },
		{ "prune-only", no_argument, NULL, OPT_PRUNE_ONLY },
		{ "api-rate-scale", required_argument, NULL, OPT_RATE },
		{ "lock-file", required_argument, NULL, OPT_LOCK },
		{ "log-level", required_argument, NULL, OPT_LEVEL },
		{ "loglevel", required_argument, NULL, OPT_LEVEL },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "syslog", no_argument, NULL, OPT_SYSLOG },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct options o = { 0 };
	const struct command *cmd = &commands[0];
	struct policy_set *set;
	FILE *diag = stderr;
	char *problems = NULL;
	size_t nproblems = 0;
	char **paths;
	int c, rc, npaths;

	/* Before OpenSSL or libcurl allocate anything. */
	if (secure_init() != 0)
		log_debug("cannot install the wiping allocators");
	o.run.jobs = 8;
	o.run.timeout_s = DEFAULT_TIMEOUT_S;
	o.run.hook_timeout_s = POLICY_HOOK_TIMEOUT;
	o.run.lookup_s = DEFAULT_LOOKUP_S;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":no:j:qvhV", longopts, NULL))
	    != -1) {
		if (c == '?') {
			if (optopt != 0)
				return usage_error("unknown option '-%c'",
				    optopt);
			return usage_error("unknown option '%s'",
			    argv[optind - 1]);
		}
		if (c == ':')
			return usage_error("option '%s' needs a value",
			    argv[optind - 1]);
		if ((rc = parse_option(c, optarg, &o)) != EXIT_OK)
			return rc < 0 ? close_stdout(EXIT_OK) : rc;
	}
	/* getopt moved the options first: what is left is COMMAND and
	 * POLICY..., or only POLICY... for the default command. */
	paths = argv + optind;
	npaths = argc - optind;
	if (npaths > 0) {
		for (cmd = commands; cmd->name != NULL; cmd++)
			if (strcmp(cmd->name, paths[0]) == 0)
				break;
		if (cmd->name != NULL) {
			paths++;
			npaths--;
		} else if (looks_like_path(paths[0])) {
			cmd = &commands[0]; /* "ec2backup -n prod.cfg" */
		} else {
			const char *names[8], *near;
			size_t n = 0;
			for (const struct command *k = commands;
			    k->name != NULL; k++)
				names[n++] = k->name;
			if ((near = text_nearest(paths[0], names, n)) != NULL)
				return usage_error("unknown command '%s' (did you "
				    "mean '%s'?)", paths[0], near);
			return usage_error("unknown command '%s'", paths[0]);
		}
	}
	if (cmd->kind == CMD_HELP) {
		usage(stdout);
		return close_stdout(EXIT_OK);
	}
	if (cmd->kind == CMD_VERSION) {
		printf("ec2backup %s\n", EC2BACKUP_VERSION);
		return close_stdout(EXIT_OK);
	}
	o.run.mode = o.dry_run && cmd->mode == RUN_APPLY ? RUN_PLAN :
	    cmd->mode;
	if (o.now_set && o.run.mode != RUN_PLAN)
		return usage_error("--now plans as if it were another time; it "
		    "needs --dry-run (or the plan command)");
	if (!o.now_set)
		o.run.now = (int64_t)time(NULL);
	o.run.now_given = o.now_set;
	if (o.syslog)
		log_use_syslog(true);
	o.run.progress = o.run.mode == RUN_APPLY && !o.syslog &&
	    isatty(STDERR_FILENO) && log_get_level() <= LOG_LEVEL_INFO;
	o.run.colour = colour_wanted(STDOUT_FILENO);
	log_use_colour(colour_wanted(STDERR_FILENO));

	/* Every policy is loaded and checked before anything is done.  For
	 * JSON the problems are kept too, and still shown on stderr. */
	/* monitor's UNKNOWN line names the first error. */
	if (o.run.json || cmd->mode == RUN_MONITOR ||
	    cmd->mode == RUN_DOCTOR)
		log_keep(true);
	if (o.run.json) {
		if ((diag = open_memstream(&problems, &nproblems)) == NULL)
			diag = stderr;
	}
	set = policy_load_all(paths, (size_t)npaths, diag);
	if (diag != stderr) {
		fclose(diag);
		fputs(problems, stderr);
	}
	if (set == NULL) {
		log_error("out of memory");
		rc = EXIT_USAGE;
	} else if (cmd->kind == CMD_CHECK) {
		rc = o.run.json ? cmd_check_json(set, problems) :
		    cmd_check(set);
	} else if (set->nerrors > 0) {
		log_error("%zu %s in the policies; nothing was done (see "
		    "'ec2backup check')", set->nerrors,
		    plural(set->nerrors, "error", "errors"));
		rc = EXIT_USAGE;
		if (cmd->mode == RUN_MONITOR) {
			rc = MONITOR_UNKNOWN;
			if (!o.run.json)
				printf("UNKNOWN: %zu %s in the policies (see "
				    "'ec2backup check')\n", set->nerrors,
				    plural(set->nerrors, "error", "errors"));
		}
		if (o.run.json)
			json_failure(rc, problems);
	} else {
		rc = run_command(set, &o.run);
	}
	policy_set_free(set);
	free(problems);
	log_kept_free();
	return close_stdout(rc);
}
