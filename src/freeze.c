/*
 * The freeze hook runner and the client side of its socket.
 *
 * Requests are length-prefixed: a 32-bit length, then the body.  "P"
 * (run a pre hook, owe its post hook) carries the id, the time limit, the
 * pre argv, the post argv, the environment and a description; "T" (run
 * the post hook owed) the id alone.  Every answer is one fixed-size
 * record.  Numbers are in host order: both ends are one program.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "freeze.h"
#include "secure.h"

#define REQ_PRE 'P'
#define REQ_POST 'T'

struct answer {
	uint32_t id;
	int32_t status;
	int32_t signal;
	int32_t timed_out;
	int32_t ran;               /* the hook was started */
	char err[256];             /* why it could not be, or "" */
};

/* A post hook owed, on either side. */
struct owed {
	unsigned id;
	char **post;
	char **env;
	long timeout_ms;
	char *what;
};

struct freeze {
	pid_t pid;
	int sock;
	unsigned next_id;
	bool lost;                 /* the runner is gone */
	/* What the runner owes, kept here too in case it is lost: the
	 * caller's strings, not copies. */
	struct freeze_hooks *owed;
	unsigned *owed_ids;
	size_t nowed, capowed;
};

/* --- I/O --- */

static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = send(fd, p, len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* 0, or -1 at end of file or on an error. */
static int
read_all(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len > 0) {
		ssize_t r = read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* A growing request body. */
struct msg {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void
put(struct msg *m, const void *data, size_t len)
{
	if (m->failed)
		return;
	if (m->len + len > FREEZE_MESSAGE_MAX) {
		m->failed = true;
		return;
	}
	if (m->len + len > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		char *grown;
		while (cap < m->len + len)
			cap *= 2;
		if ((grown = realloc(m->buf, cap)) == NULL) {
			m->failed = true;
			return;
		}
		m->buf = grown;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, data, len);
	m->len += len;
}

static void
put_u32(struct msg *m, uint32_t v)
{
	put(m, &v, sizeof(v));
}

static void
put_str(struct msg *m, const char *s)
{
	size_t n = strlen(s);

	if (n > FREEZE_STRING_MAX) {
		m->failed = true;
		return;
	}
	put_u32(m, (uint32_t)n);
	put(m, s, n);
}

static void
put_list(struct msg *m, char *const *list)
{
	uint32_t n = 0;

	while (list != NULL && list[n] != NULL)
		n++;
	if (n > FREEZE_ARGS_MAX) {
		m->failed = true;
		return;
	}
	put_u32(m, n);
	for (uint32_t i = 0; i < n; i++)
		put_str(m, list[i]);
}

/* Reading a body: every length is checked against what is left. */
struct cursor {
	const char *p;
	size_t left;
	bool failed;
};

static uint32_t
get_u32(struct cursor *c)
{
	uint32_t v = 0;

	if (c->failed || c->left < sizeof(v)) {
		c->failed = true;
		return 0;
	}
	memcpy(&v, c->p, sizeof(v));
	c->p += sizeof(v);
	c->left -= sizeof(v);
	return v;
}

static char *
get_str(struct cursor *c)
{
	uint32_t n = get_u32(c);
	char *s;

	if (c->failed || n > FREEZE_STRING_MAX || n > c->left ||
	    (s = malloc(n + 1)) == NULL) {
		c->failed = true;
		return NULL;
	}
	memcpy(s, c->p, n);
	s[n] = '\0';
	c->p += n;
	c->left -= n;
	return s;
}

static void
free_list(char **list)
{
	for (char **p = list; p != NULL && *p != NULL; p++)
		free(*p);
	free(list);
}

/* A list as put_list wrote it; an empty one is NULL. */
static char **
get_list(struct cursor *c)
{
	uint32_t n = get_u32(c);
	char **list;

	if (c->failed || n > FREEZE_ARGS_MAX) {
		c->failed = true;
		return NULL;
	}
	if (n == 0)
		return NULL;
	if ((list = calloc(n + 1, sizeof(*list))) == NULL) {
		c->failed = true;
		return NULL;
	}
	for (uint32_t i = 0; i < n && !c->failed; i++)
		list[i] = get_str(c);
	if (c->failed) {
		free_list(list);
		return NULL;
	}
	return list;
}

/* --- the runner --- */

static void
runner_answer(int sock, unsigned id, int ran, const struct hook_result *res,
    const char *err)
{
	struct answer a = { 0 };

	a.id = id;
	a.ran = ran;
	a.status = res->status;
	a.signal = res->signal;
	a.timed_out = res->timed_out;
	snprintf(a.err, sizeof(a.err), "%s", err != NULL ? err : "");
	/* ec2backup may be gone: then the socket's end says so. */
	(void)write_all(sock, &a, sizeof(a));
}

/*
 * Runs argv with env and EC2BACKUP_PHASE; 1 when it ran.  The phase is
 * added here so both hooks share one environment list.
 */
static int
run_phase(char *const *argv, char *const *env, const char *phase,
    long timeout_ms, struct hook_result *res, char *err, size_t errlen)
{
	static char pre[] = "EC2BACKUP_PHASE=pre", post[] = "EC2BACKUP_PHASE=post";
	size_t n = 0;
	char **all;
	int rc;

	while (env != NULL && env[n] != NULL)
		n++;
	if ((all = calloc(n + 2, sizeof(*all))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		all[i] = env[i];
	all[n] = strcmp(phase, "pre") == 0 ? pre : post;
	rc = hook_run(argv, all, NULL, 0, timeout_ms, res, err, errlen);
	free(all);
	return rc == 0;
}

static void
runner_post(struct owed *o, bool orphaned, struct hook_result *res,
    char *err, size_t errlen, int *ran)
{
	char how[80];

	*ran = run_phase(o->post, o->env, "post", o->timeout_ms, res, err,
	    errlen);
	if (!orphaned)
		return;
	/* Nobody else will say it. */
	if (*ran) {
		hook_describe(res, o->timeout_ms, how, sizeof(how));
		dprintf(STDERR_FILENO, "ec2backup: %s: ec2backup ended before "
		    "its post_snapshot hook; the hook ran: %s\n", o->what,
		    how);
	} else {
		dprintf(STDERR_FILENO, "ec2backup: error: %s: ec2backup ended "
		    "before its post_snapshot hook, which could not be run: "
		    "%s; whatever the pre_snapshot hook did (a freeze?) is "
		    "not undone: undo it by hand\n", o->what, err);
	}
}

static void
owed_free(struct owed *o)
{
	free_list(o->post);
	free_list(o->env);
	free(o->what);
}

/* Never returns. */
static void
runner(int sock, int keep_fd)
{
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct owed *owed = NULL;
	size_t nowed = 0;
	int devnull;

	setsid();
	/* Its environment may hold credentials. */
	(void)secure_no_core_dumps();
	sigaction(SIGINT, &ign, NULL);
	sigaction(SIGTERM, &ign, NULL);
	sigaction(SIGHUP, &ign, NULL);
	sigaction(SIGPIPE, &ign, NULL);
	if ((devnull = open("/dev/null", O_RDWR)) >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		if (devnull > STDERR_FILENO)
			close(devnull);
	}
	for (int fd = 3; fd < 1024; fd++)
		if (fd != sock && fd != keep_fd)
			close(fd);

	for (;;) {
		uint32_t len;
		char *body;
		struct cursor c;
		struct hook_result res = { -1, 0, 0 };
		char err[200] = "";
		unsigned id;
		int type;

		if (read_all(sock, &len, sizeof(len)) != 0 || len < 5 ||
		    len > FREEZE_MESSAGE_MAX || (body = malloc(len)) == NULL)
			break;
		if (read_all(sock, body, len) != 0) {
			free(body);
			break;
		}
		c = (struct cursor){ body, len, false };
		type = (unsigned char)*c.p;
		c.p++;
		c.left--;
		id = get_u32(&c);
		if (type == REQ_PRE) {
			struct owed o = { id, NULL, NULL, 0, NULL };
			char **pre;
			struct owed *grown;
			int ran = 1;

			o.timeout_ms = (long)get_u32(&c);
			pre = get_list(&c);
			o.post = get_list(&c);
			o.env = get_list(&c);
			o.what = get_str(&c);
			grown = c.failed ? NULL : realloc(owed, (nowed + 1) *
			    sizeof(*owed));
			if (grown == NULL) {
				/* Nothing was run, so nothing is owed. */
				free_list(pre);
				owed_free(&o);
				runner_answer(sock, id, 0, &res, "the request "
				    "could not be read");
				free(body);
				continue;
			}
			owed = grown;
			/* Owed before the pre hook starts: if ec2backup dies
			 * while it runs, the post hook still follows it. */
			if (o.post != NULL)
				owed[nowed++] = o;   /* it owns o's strings */
			res.status = 0;
			if (pre != NULL)
				ran = run_phase(pre, o.env, "pre", o.timeout_ms,
				    &res, err, sizeof(err));
			free_list(pre);
			if (o.post == NULL)
				owed_free(&o);
			runner_answer(sock, id, ran, &res, err);
		} else if (type == REQ_POST && !c.failed) {
			int ran = 0;
			for (size_t k = 0; k < nowed; k++) {
				if (owed[k].id != id)
					continue;
				runner_post(&owed[k], false, &res, err,
				    sizeof(err), &ran);
				owed_free(&owed[k]);
				owed[k] = owed[--nowed];
				break;
			}
			runner_answer(sock, id, ran, &res, err);
		}
		free(body);
	}
	/* ec2backup is gone, or done: pay what is owed, newest first. */
	while (nowed > 0) {
		struct hook_result res;
		char err[200] = "";
		int ran;

		runner_post(&owed[nowed - 1], true, &res, err, sizeof(err),
		    &ran);
		owed_free(&owed[--nowed]);
	}
	free(owed);
	_exit(0);
}

/* --- ec2backup's side --- */

struct freeze *
freeze_start(int keep_fd, char *err, size_t errlen)
{
	struct freeze *f = calloc(1, sizeof(*f));
	int sv[2];

	if (f == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		snprintf(err, errlen, "socketpair: %s", strerror(errno));
		free(f);
		return NULL;
	}
	fflush(NULL);
	if ((f->pid = fork()) < 0) {
		snprintf(err, errlen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(f);
		return NULL;
	}
	if (f->pid == 0) {
		close(sv[0]);
		runner(sv[1], keep_fd);
	}
	close(sv[1]);
	f->sock = sv[0];
	return f;
}

static void
forget(struct freeze *f, size_t k)
{
	f->owed[k] = f->owed[f->nowed - 1];
	f->owed_ids[k] = f->owed_ids[f->nowed - 1];
	f->nowed--;
}

/* The runner is gone: it can neither run hooks nor pay what it owes,
 * so this process pays. */
static void
lose(struct freeze *f)
{
	if (f->lost)
		return;
	f->lost = true;
	close(f->sock);
	f->sock = -1;
	while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
		;
}

static int
ask(struct freeze *f, struct msg *m, struct answer *a, char *err,
    size_t errlen)
{
	uint32_t len = (uint32_t)m->len;

	if (m->failed) {
		snprintf(err, errlen, "the hook's arguments are too long");
		return -1;
	}
	if (f->lost || write_all(f->sock, &len, sizeof(len)) != 0 ||
	    write_all(f->sock, m->buf, m->len) != 0 ||
	    read_all(f->sock, a, sizeof(*a)) != 0) {
		lose(f);
		snprintf(err, errlen, "the process that runs the freeze hooks "
		    "is gone");
		return -1;
	}
	a->err[sizeof(a->err) - 1] = '\0';
	return 0;
}

static void
result_of(const struct answer *a, struct hook_result *res)
{
	res->status = a->status;
	res->signal = a->signal;
	res->timed_out = a->timed_out;
}

int
freeze_pre(struct freeze *f, const struct freeze_hooks *h, unsigned *id,
    struct hook_result *res, char *err, size_t errlen)
{
	struct msg m = { 0 };
	struct answer a;
	char kind = REQ_PRE;
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	*id = ++f->next_id;
	if (f->lost) {
		/* Nothing runs the pre hook, so no post hook is owed. */
		snprintf(err, errlen, "the process that runs the freeze hooks "
		    "is gone");
		return -1;
	}
	if (h->post != NULL && f->nowed == f->capowed) {
		size_t cap = f->capowed ? f->capowed * 2 : 8;
		struct freeze_hooks *g = realloc(f->owed, cap * sizeof(*g));
		unsigned *gi;
		if (g != NULL)
			f->owed = g;
		gi = g != NULL ? realloc(f->owed_ids, cap * sizeof(*gi)) : NULL;
		if (gi == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		f->owed_ids = gi;
		f->capowed = cap;
	}
	put(&m, &kind, 1);
	put_u32(&m, *id);
	put_u32(&m, (uint32_t)(h->timeout_ms > 0 ? h->timeout_ms : 0));
	put_list(&m, h->pre);
	put_list(&m, h->post);
	put_list(&m, h->env);
	put_str(&m, h->what != NULL ? h->what : "");
	/* Owed here too from now on, in case the runner is lost on the
	 * way: better a thaw too many than one too few. */
	if (h->post != NULL && !m.failed) {
		f->owed[f->nowed] = *h;
		f->owed_ids[f->nowed++] = *id;
	}
	rc = ask(f, &m, &a, err, errlen);
	free(m.buf);
	if (rc != 0)
		return -1;
	result_of(&a, res);
	if (!a.ran) {
		snprintf(err, errlen, "%s", a.err[0] != '\0' ? a.err :
		    "it could not be started");
		return -1;
	}
	return 0;
}

int
freeze_post(struct freeze *f, unsigned id, struct hook_result *res,
    bool *ran, char *err, size_t errlen)
{
	struct msg m = { 0 };
	struct answer a;
	char kind = REQ_POST;
	size_t k;
	int rc;

	memset(res, 0, sizeof(*res));
	res->status = -1;
	*ran = false;
	for (k = 0; k < f->nowed && f->owed_ids[k] != id; k++)
		;
	if (k == f->nowed)
		return 0;            /* nothing owed */
	if (f->lost) {
		/* Run here, then: the hook is still owed. */
		struct freeze_hooks h = f->owed[k];
		forget(f, k);
		*ran = run_phase(h.post, h.env, "post", h.timeout_ms, res, err,
		    errlen);
		return *ran ? 0 : -1;
	}
	put(&m, &kind, 1);
	put_u32(&m, id);
	rc = ask(f, &m, &a, err, errlen);
	free(m.buf);
	if (rc != 0)
		return freeze_post(f, id, res, ran, err, errlen);
	forget(f, k);
	result_of(&a, res);
	*ran = a.ran != 0;
	if (!*ran) {
		snprintf(err, errlen, "%s", a.err[0] != '\0' ? a.err :
		    "it could not be started");
		return -1;
	}
	return 0;
}

pid_t
freeze_runner_pid(const struct freeze *f)
{
	return f->pid;
}

void
freeze_stop(struct freeze *f)
{
	if (f == NULL)
		return;
	if (!f->lost) {
		/* The runner pays what is still owed, then exits. */
		close(f->sock);
		while (waitpid(f->pid, NULL, 0) < 0 && errno == EINTR)
			;
	} else {
		while (f->nowed > 0) {
			struct hook_result res;
			char err[200];
			struct freeze_hooks h = f->owed[f->nowed - 1];
			f->nowed--;
			run_phase(h.post, h.env, "post", h.timeout_ms, &res,
			    err, sizeof(err));
		}
	}
	free(f->owed);
	free(f->owed_ids);
	free(f);
}
