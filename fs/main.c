/*
 * fs/main.c - the topicfs daemon: command line, logging, daemonizing, and
 * the FUSE session around the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "opts.h"
#include "tfs.h"

/*
 * libfuse logs some messages in pieces ("unknown option(s): `", "-o ",
 * "bogus'\n"): collect them up to the newline so a message stays one line.
 * Only the main thread logs in pieces (option parsing), so one buffer does.
 */
static void fuse_log_to_tfs(enum fuse_log_level level, const char *fmt,
			    va_list ap)
{
	static char msg[1024];
	size_t n = strlen(msg);

	vsnprintf(msg + n, sizeof(msg) - n, fmt, ap);
	n = strlen(msg);
	if (n && msg[n - 1] != '\n' && n < sizeof(msg) - 1)
		return;
	if (n && msg[n - 1] == '\n')
		msg[n - 1] = '\0';
	tfs_log_msg((int)level, msg);
	msg[0] = '\0';
}

/* Segment files are opened lazily, but thousands of partitions still want
 * more than the default 1024 descriptors. */
static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/*
 * Detach before anything starts a thread (the store's flusher); the parent
 * waits for one status byte so `topicfs DATA MNT` exits non-zero when the
 * mount fails, like mount(8).  Returns the fd to report on, or -1 in the
 * foreground.
 */
static int daemon_start(void)
{
	int pfd[2];
	char status = 1;
	pid_t pid;

	if (pipe(pfd) != 0) {
		perror("topicfs: pipe");
		exit(1);
	}
	pid = fork();
	if (pid < 0) {
		perror("topicfs: fork");
		exit(1);
	}
	if (pid > 0) {
		close(pfd[1]);
		if (read(pfd[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(pfd[0]);
	setsid();
	return pfd[1];
}

static void daemon_ready(int fd, char status)
{
	int null;

	if (fd < 0)
		return;
	if (status == 0) {
		if (chdir("/") != 0)
			status = 1;
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2)
				close(null);
		}
		tfs_log_to_syslog();
	}
	if (write(fd, &status, 1) != 1)
		status = 1;
	close(fd);
}

static int serve(struct fuse_session *se, int single)
{
	if (single)
		return fuse_session_loop(se);
	return tfs_loop_run(se);
}

/* Most time a stopping daemon gives followers to close their files. */
#define DRAIN_MS 2000

/*
 * Stopping.  SIGINT, SIGTERM and SIGHUP only wake the stopper thread; the
 * loop keeps serving while it ends what uses the mount: followers parked
 * at the end get EOF and DRAIN_MS to close their files (their FLUSH and
 * RELEASE are answered, not ENOTCONN), and the stream flusher, which may
 * be inside a request to this very mount, is stopped and joined.  Only
 * then is the loop told to exit (a request read by a worker after that is
 * never answered: libfuse drops it, so nothing of ours may be waiting).
 */
static struct {
	sem_t sem;		 /* posted by the signal handler */
	_Atomic bool signalled;	 /* a stop signal came */
	_Atomic bool loop_done;	 /* the request loop returned */
	struct fuse_session *se; /* the session to end */
	pthread_t loop;		 /* the thread in the request loop */
	pthread_t thread;	 /* the stopper */
	bool started;		 /* the stopper runs */
} stopper;

static void stop_signal(int sig)
{
	(void)sig;
	if (!atomic_exchange(&stopper.signalled, true))
		sem_post(&stopper.sem); /* async-signal-safe */
}

static void kick_signal(int sig)
{
	(void)sig; /* only interrupts the loop's wait */
}

static void *stopper_main(void *arg)
{
	(void)arg;
	while (sem_wait(&stopper.sem) && errno == EINTR)
		;
	if (!stopper.se) /* the loop ended by itself: stop_join */
		return NULL;
	tfs_view_end(NULL);
	tfs_stream_halt(true);
	if (tfs_view_open_count())
		tfs_log(LOG_INFO, "stopping: %d view files still open; waiting up to %d ms for them to close",
			tfs_view_open_count(), DRAIN_MS);
	for (int i = 0; i < DRAIN_MS / 10 && tfs_view_open_count(); i++)
		usleep(10000);
	fuse_session_exit(stopper.se);
	/* a kick between the loop's check and its wait is lost: again */
	while (!atomic_load(&stopper.loop_done)) {
		pthread_kill(stopper.loop, SIGUSR2);
		usleep(50000);
	}
	return NULL;
}

/* Handlers and the stopper thread; 0 or -1. */
static int stop_setup(struct fuse_session *se)
{
	struct sigaction sa = { .sa_handler = stop_signal };
	struct sigaction ign = { .sa_handler = SIG_IGN };
	struct sigaction kick = { .sa_handler = kick_signal };

	sem_init(&stopper.sem, 0, 0);
	stopper.se = se;
	stopper.loop = pthread_self();
	sigemptyset(&sa.sa_mask);
	sigemptyset(&kick.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
	    sigaction(SIGHUP, &sa, NULL) || sigaction(SIGPIPE, &ign, NULL) ||
	    sigaction(SIGUSR2, &kick, NULL))
		return -1;
	if (pthread_create(&stopper.thread, NULL, stopper_main, NULL))
		return -1;
	stopper.started = true;
	return 0;
}

/* After the loop: end the stopper (if no signal came, the loop ended by
 * itself, e.g. an unmount) and put the default handlers back. */
static void stop_join(void)
{
	atomic_store(&stopper.loop_done, true);
	if (stopper.started) {
		if (!atomic_exchange(&stopper.signalled, true)) {
			stopper.se = NULL;
			sem_post(&stopper.sem);
		}
		pthread_join(stopper.thread, NULL);
		stopper.started = false;
	}
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	sem_destroy(&stopper.sem);
}

/* Whether path b is a or inside it (both real paths). */
static bool nested(const char *a, const char *b)
{
	size_t n = strlen(a);

	return !strncmp(a, b, n) &&
	       (b[n] == '\0' || b[n] == '/' || (n == 1 && a[0] == '/'));
}

/* Open the store and mount; 0 or the exit status. */
static int start(struct fuse_session *se, struct tfs_cli *cli,
		 struct tfs_store_opts *so)
{
	int err;

	raise_nofile();
	tfs_io_setup(!cli->nosplice);
	so->log = tfs_log_msg;
	so->grew = tfs_view_wake; /* stream write-backs stored late */
	so->refused = tfs_stream_inval; /* drop the kernel's refused copy */
	err = tfs_store_open(tfs.datadir, so, &tfs.st);
	if (err) {
		fprintf(stderr, "topicfs: %s: %s\n", tfs.datadir,
			tfs_strerror(err));
		return 1;
	}
	/* the real path: a daemon leaves the cwd (chdir /) before it
	 * unmounts */
	/* the handlers before the mount: a signal then ends the loop at
	 * once, never the process with the mount left behind */
	if (stop_setup(se) != 0)
		goto out_close;
	if (fuse_session_mount(se, tfs.mountpoint) != 0)
		goto out_stop;
	if (tfs_io_attach(se) != 0)
		goto out_unmount;
	if (tfs.stream && tfs_stream_start(se) != 0)
		goto out_unmount;
	return 0;
out_unmount:
	fuse_session_unmount(se);
out_stop:
	stop_join();
out_close:
	tfs_store_close(tfs.st);
	tfs.st = NULL;
	return 1;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct tfs_store_opts so;
	struct tfs_cli cli = { 0 };
	struct timespec now;
	struct fuse_session *se;
	int ret = 2, status_fd = -1;

	if (tfs_cli_parse(&args, &cli, &so) != 0)
		goto out_args;
	ret = 0;
	if (cli.show_help) {
		tfs_usage(stdout);
		goto out_args;
	}
	if (cli.show_version) {
		printf("topicfs %s (libfuse %s)\n", TFS_VERSION,
		       fuse_pkgversion());
		goto out_args;
	}
	ret = 1;
	tfs.datadir = realpath(cli.datadir, NULL);
	if (!tfs.datadir) {
		fprintf(stderr, "topicfs: %s: %s\n", cli.datadir,
			strerror(errno));
		goto out_args;
	}
	tfs.mountpoint = realpath(cli.mountpoint, NULL);
	if (!tfs.mountpoint) {
		fprintf(stderr, "topicfs: %s: %s\n", cli.mountpoint,
			strerror(errno));
		goto out_args;
	}
	if (nested(tfs.datadir, tfs.mountpoint) ||
	    nested(tfs.mountpoint, tfs.datadir)) {
		/* the store would work on its own files through its mount */
		fprintf(stderr,
			"topicfs: the data dir %s and the mount point %s must not be the same directory or one inside the other\n",
			tfs.datadir, tfs.mountpoint);
		ret = 2;
		goto out_args;
	}
	tfs.foreground = cli.foreground;
	tfs.stream = cli.stream;
	tfs.writeback_ms = cli.writeback;
	tfs.uid = getuid();
	tfs.gid = getgid();
	clock_gettime(CLOCK_REALTIME, &now);
	tfs.start_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	fuse_set_log_func(fuse_log_to_tfs);
	/* the kernel checks the modes shown (with -o allow_other, other
	 * users read but do not append, create or delete) */
	fuse_opt_add_arg(&args,
			 "-ofsname=topicfs,subtype=topicfs,default_permissions");
	se = fuse_session_new(&args, &tfs_ops, sizeof(tfs_ops), NULL);
	if (!se) {
		fprintf(stderr, "topicfs: see 'topicfs -h'\n");
		ret = 2;
		goto out_args;
	}
	if (!cli.foreground)
		status_fd = daemon_start();
	ret = start(se, &cli, &so);
	daemon_ready(status_fd, (char)ret);
	if (ret)
		goto out_session;
	tfs_log(LOG_INFO, "serving %s at %s", tfs.datadir, cli.mountpoint);
	ret = serve(se, cli.single) < 0 ? 1 : 0;
	stop_join();
	tfs_view_end(NULL); /* an unmount with followers (-z) */
	tfs_stream_stop();
	fuse_session_unmount(se);
	tfs_view_free_all();
	tfs_files_free_all();
	tfs_store_close(tfs.st);
	tfs_log(LOG_INFO, "unmounted %s", cli.mountpoint);
out_session:
	fuse_session_destroy(se);
out_args:
	free(tfs.datadir);
	free(tfs.mountpoint);
	tfs_cli_free(&cli);
	fuse_opt_free_args(&args);
	return ret;
}
