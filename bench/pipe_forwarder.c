// SPDX-License-Identifier: AGPL-3.0-or-later
// The benchmark's reference forwarder: the least work any tunnel with two user-space hops can
// do. bench/run.sh runs it twice in a chain (visitor -> hop -> hop -> nginx), the shape of a
// relay and an agent, without any protocol: no HTTP parsing, no framing, no multiplexing, no
// event loop. Each accepted connection gets a fresh connection to the target and one blocking
// thread per direction that copies with read/write through a 256 KiB buffer (splice() was
// slower on loopback here). What it moves per second is the ceiling for nexus-relay, bore and
// rathole on the same machine: every byte still crosses two processes' memory.
//
//   cc -O2 -pthread -o pipe_forwarder bench/pipe_forwarder.c
//   pipe_forwarder LISTEN_PORT TARGET_PORT      (both on 127.0.0.1; runs until killed)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kBuffer = 256 * 1024 };

struct pump {
    int from;
    int to;
};

static int target_port;

static struct sockaddr_in loopback(int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((unsigned short)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void no_delay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

// Copies until end of stream or error, then passes the end on (half-close), so a keep-alive
// HTTP exchange and an upload whose answer comes after the body both work.
static void* run_pump(void* arg) {
    struct pump p = *(struct pump*)arg;
    free(arg);
    char* buffer = malloc(kBuffer);
    for (ssize_t n; buffer && (n = read(p.from, buffer, kBuffer)) > 0;) {
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(p.to, buffer + done, (size_t)(n - done));
            if (w <= 0) {
                goto out;
            }
            done += w;
        }
    }
out:
    free(buffer);
    shutdown(p.to, SHUT_WR);
    shutdown(p.from, SHUT_RD);
    return NULL;
}

static int start_pump(int from, int to, pthread_t* thread) {
    struct pump* p = malloc(sizeof *p);
    if (!p) {
        return -1;
    }
    p->from = from;
    p->to = to;
    if (pthread_create(thread, NULL, run_pump, p) != 0) {
        free(p);
        return -1;
    }
    return 0;
}

// One accepted connection: two pumps, then both sockets closed once both directions ended.
static void* run_connection(void* arg) {
    int visitor = (int)(long)arg;
    int target = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = loopback(target_port);
    if (target >= 0 && connect(target, (struct sockaddr*)&to, sizeof to) == 0) {
        no_delay(target);
        pthread_t up, down;
        if (start_pump(visitor, target, &up) == 0) {
            if (start_pump(target, visitor, &down) == 0) {
                pthread_join(down, NULL);
            }
            pthread_join(up, NULL);
        }
    }
    if (target >= 0) {
        close(target);
    }
    close(visitor);
    return NULL;
}

int main(int argc, char** argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: pipe_forwarder LISTEN_PORT TARGET_PORT\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    target_port = atoi(argv[2]);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in at = loopback(atoi(argv[1]));
    if (listener < 0 || bind(listener, (struct sockaddr*)&at, sizeof at) != 0 ||
        listen(listener, 1024) != 0) {
        perror("pipe_forwarder: listen");
        return 1;
    }
    for (;;) {
        int visitor = accept(listener, NULL, NULL);
        if (visitor < 0) {
            continue;
        }
        no_delay(visitor);
        pthread_t thread;
        if (pthread_create(&thread, NULL, run_connection, (void*)(long)visitor) != 0) {
            close(visitor);
            continue;
        }
        pthread_detach(thread);
    }
}
