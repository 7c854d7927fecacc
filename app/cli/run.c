/* chopin run: builds the project in the current folder, runs it, and on every change to a
 * source, migration, Makefile or .env file rebuilds it and restarts it. A build that fails
 * prints the compiler's errors and leaves the running process serving, so a typo never takes
 * the dev server down. */
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

enum { DEBOUNCE_MS = 250, STOP_GRACE_MS = 5000 };

static const char usage[] =
    "Usage: chopin run [-- APP_ARGS...]\n"
    "\n"
    "Builds the project in the current folder (make), runs it, and watches src/, tests/,\n"
    "migrations/, Makefile and .env: on a change it rebuilds and restarts the app. When a\n"
    "build fails its errors are printed and the previous process keeps serving.\n"
    "Arguments after -- go to the app. Stop with Ctrl-C.\n";

/* Adds a watch on `dir` and every folder below it. */
static void watch_tree(int ino, const char *dir)
{
    const uint32_t mask = IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_MOVED_FROM;
    if (inotify_add_watch(ino, dir, mask | IN_ONLYDIR) < 0) return;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sub[4096];
        struct stat st;
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) watch_tree(ino, sub);
    }
    closedir(d);
}

/* Whether a changed file name should trigger a rebuild: sources, migrations, build and
 * environment files; not editor swap files or build output. */
static int relevant(const char *name)
{
    if (!strcmp(name, "Makefile") || !strcmp(name, ".env")) return 1;
    const char *dot = strrchr(name, '.');
    if (!dot || name[0] == '.') return 0;
    return !strcmp(dot, ".c") || !strcmp(dot, ".h") || !strcmp(dot, ".sql");
}

/* Reads pending inotify events; returns 1 if any concerns a relevant file. New folders are
 * watched too. */
static int drain_events(int ino)
{
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    int hit = 0;
    for (;;) {
        ssize_t n = read(ino, buf, sizeof(buf));
        if (n <= 0) break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)(void *)p;
            if (ev->len && relevant(ev->name)) hit = 1;
            if (ev->len && (ev->mask & IN_ISDIR) && (ev->mask & IN_CREATE)) hit = 1;
            p += sizeof(*ev) + ev->len;
        }
    }
    return hit;
}

static pid_t start_app(const char *app, char **args)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        int n = 0;
        while (args[n]) n++;
        char **argv = calloc((size_t)n + 2, sizeof(*argv));
        if (!argv) _exit(127);
        argv[0] = (char *)app;
        for (int i = 0; i < n; i++) argv[i + 1] = args[i];
        execv(app, argv);
        fprintf(stderr, "chopin run: cannot start %s: %s\n", app, strerror(errno));
        _exit(127);
    }
    fprintf(stderr, "chopin run: started %s (pid %d)\n", app, (int)pid);
    return pid;
}

/* SIGTERM, then SIGKILL after the grace period: the app drains its connections first. */
static void stop_app(pid_t pid)
{
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    for (int waited = 0; waited < STOP_GRACE_MS; waited += 50) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        usleep(50 * 1000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int cli_run(int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(usage, stdout);
        return 0;
    }
    char **app_args = argv + argc; /* empty */
    if (argc > 1) {
        if (strcmp(argv[1], "--") != 0)
            return cli_usage_error("run", "unexpected argument '%s' (app arguments go after --)",
                                   argv[1]);
        app_args = argv + 2;
    }
    char app[4096];
    if (cli_project_app("run", app, sizeof(app)) != 0) return 1;

    /* Signals arrive through a descriptor, next to the file events. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    int ino = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (sfd < 0 || ino < 0) return cli_fail("run", "cannot watch files: %s", strerror(errno));
    static const char *const roots[] = {"src", "tests", "migrations", "include", "."};
    for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        if (!strcmp(roots[i], ".")) /* Makefile and .env, not the whole tree (build/) */
            inotify_add_watch(ino, ".", IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_ONLYDIR);
        else
            watch_tree(ino, roots[i]);
    }

    pid_t child = -1;
    if (cli_build("run") == 0) child = start_app(app, app_args);
    else fprintf(stderr, "chopin run: build failed; waiting for changes\n");

    int rc = 0;
    for (;;) {
        struct pollfd pfd[2] = {{.fd = sfd, .events = POLLIN}, {.fd = ino, .events = POLLIN}};
        if (poll(pfd, 2, -1) < 0 && errno != EINTR) break;
        if (pfd[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            int quit = 0;
            while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
                if (si.ssi_signo != SIGCHLD) quit = 1;
            }
            int st;
            if (child > 0 && waitpid(child, &st, WNOHANG) == child) {
                fprintf(stderr, "chopin run: the app exited (%s %d); waiting for changes\n",
                        WIFEXITED(st) ? "status" : "signal",
                        WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
                child = -1;
            }
            if (quit) break;
        }
        if (pfd[1].revents & POLLIN) {
            int hit = drain_events(ino);
            /* Editors write in bursts (temp file, rename, chmod): wait for quiet. */
            while (poll(&pfd[1], 1, DEBOUNCE_MS) > 0) hit |= drain_events(ino);
            if (!hit) continue;
            watch_tree(ino, "src"); /* folders created since */
            fprintf(stderr, "chopin run: change detected, rebuilding\n");
            if (cli_build("run") != 0) {
                fprintf(stderr, "chopin run: build failed; %s\n",
                        child > 0 ? "the previous version keeps serving" : "waiting for changes");
                continue;
            }
            stop_app(child);
            child = start_app(app, app_args);
        }
    }
    stop_app(child);
    close(ino);
    close(sfd);
    return rc;
}
