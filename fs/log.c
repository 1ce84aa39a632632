/*
 * fs/log.c - the daemon's messages: stderr until a background daemon is
 * detached (so the user sees why a mount failed), syslog after that.
 * tfs_log_msg is also the store's log callback.
 */
#include <stdarg.h>
#include <stdio.h>

#include "tfs.h"

/* Mount-wide state (fs/tfs.h). */
struct tfs_fs tfs;

/* Set once by tfs_log_to_syslog() before the loop starts. */
static int log_to_syslog;

void tfs_log_to_syslog(void)
{
	openlog("topicfs", LOG_PID, LOG_DAEMON);
	log_to_syslog = 1;
}

void tfs_log_msg(int prio, const char *msg)
{
	if (log_to_syslog)
		syslog(prio, "%s", msg);
	else
		fprintf(stderr, "topicfs: %s\n", msg);
}

void tfs_log(int prio, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (prio > LOG_NOTICE && !tfs.foreground)
		return; /* a daemon keeps its log to what matters */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tfs_log_msg(prio, msg);
}
