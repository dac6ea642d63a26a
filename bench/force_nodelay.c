// LD_PRELOAD diagnostic for bench/run.sh (BENCH_TUNNEL_PRELOAD): force TCP_NODELAY on every TCP
// socket a tunnel process connects or accepts, to tell Nagle/delayed-ACK stalls from real work.
// Build: cc -O2 -shared -fPIC -o /tmp/force_nodelay.so bench/force_nodelay.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
static void nd(int fd) {
    int one = 1, type = 0; socklen_t l = sizeof type;
    struct sockaddr_storage ss; socklen_t sl = sizeof ss;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) || type != SOCK_STREAM) return;
    if (getsockname(fd, (struct sockaddr*)&ss, &sl) || (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) return;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}
int connect(int fd, const struct sockaddr* a, socklen_t l) {
    static int (*real)(int, const struct sockaddr*, socklen_t);
    if (!real) real = dlsym(RTLD_NEXT, "connect");
    nd(fd); return real(fd, a, l);
}
int accept(int fd, struct sockaddr* a, socklen_t* l) {
    static int (*real)(int, struct sockaddr*, socklen_t*);
    if (!real) real = dlsym(RTLD_NEXT, "accept");
    int r = real(fd, a, l); if (r >= 0) nd(r); return r;
}
int accept4(int fd, struct sockaddr* a, socklen_t* l, int f) {
    static int (*real)(int, struct sockaddr*, socklen_t*, int);
    if (!real) real = dlsym(RTLD_NEXT, "accept4");
    int r = real(fd, a, l, f); if (r >= 0) nd(r); return r;
}
