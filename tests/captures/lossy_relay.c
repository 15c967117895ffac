/*
 * lossy_relay: a pure layer-2 relay between two network interfaces, used by
 * make-captures.sh to put real loss and reordering on a veth path (this
 * machine has no netem).
 *
 * It opens one AF_PACKET raw socket per interface and forwards every frame
 * received on one interface, unchanged, out of the other (both ways). There
 * is no IP forwarding and no address on either interface: the two end hosts
 * are on the same /24 and see each other as direct neighbours.
 *
 * Trouble is applied to TCP *data* frames only (IPv4 or IPv6, TCP payload
 * length > 0), per direction, with a seeded PRNG, so that handshakes, pure
 * ACKs and FINs always pass:
 *   --drop-c2s P / --drop-s2c P      drop a data frame with probability P %
 *   --reorder-c2s P / --reorder-s2c P  hold a data frame with probability P %
 *                                    and send it right after the next frame
 *                                    of the same direction (or after
 *                                    --hold-ms if none comes)
 * "c2s" is from --client-if to --server-if, "s2c" the other way.
 *
 * --log FILE writes one line per dropped/held frame: time, direction,
 * action, raw TCP sequence number, payload length, index of the data frame
 * in its direction (1-based).  On SIGINT/SIGTERM (or after --max-seconds)
 * it prints counters, including PACKET_STATISTICS drops of its own sockets
 * (which must be 0, or the loss was not only the planned one), and exits.
 *
 * Build: cc -O2 -Wall -o lossy_relay lossy_relay.c      (Linux only)
 * Run as root inside the relay namespace, e.g.
 *   lossy_relay --client-if plr0 --server-if plr1 --seed 7 --drop-s2c 3
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXFRAME 65536

enum { C2S = 0, S2C = 1 };
static const char *dir_name[2] = {"c2s", "s2c"};

struct dirstate {
    double drop_pct, reorder_pct;
    unsigned long frames, data_frames, dropped, held, released_late, forwarded;
    unsigned char held_buf[MAXFRAME];
    ssize_t held_len;       /* 0: nothing held */
    double held_since;
    uint32_t held_seq;
    unsigned long held_idx;
};

static struct dirstate dirs[2];
static int fds[2];          /* 0: client side, 1: server side */
static int ifindex[2];
static volatile sig_atomic_t stop_flag;
static FILE *logf;
/* one PRNG stream per direction: the decision for the n-th data frame of a
 * direction depends only on the seed, the direction and n */
static uint64_t rng_state[2];

static void on_signal(int sig) { (void)sig; stop_flag = 1; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* splitmix64: small, seedable, good enough for drop decisions */
static uint64_t rng_next(int d) {
    uint64_t z = (rng_state[d] += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int chance(int d, double pct) {
    if (pct <= 0) return 0;
    return (double)(rng_next(d) >> 11) / (double)(1ULL << 53) * 100.0 < pct;
}

/* Returns 1 for an IPv4/IPv6 TCP frame with payload (seq stored), else 0.
 * Lengths come from the IP header, so this works on any frame size. */
static int tcp_data_frame(const unsigned char *f, ssize_t n, uint32_t *seq, unsigned *plen) {
    size_t off = 14;
    if (n < 14) return 0;
    unsigned et = (unsigned)f[12] << 8 | f[13];
    if (et == 0x8100 && n >= 18) {
        et = (unsigned)f[16] << 8 | f[17];
        off = 18;
    }
    size_t ip_payload, l4;
    if (et == ETH_P_IP) {
        if ((size_t)n < off + 20 || (f[off] >> 4) != 4) return 0;
        size_t ihl = (size_t)(f[off] & 0x0f) * 4;
        size_t tot = (size_t)f[off + 2] << 8 | f[off + 3];
        if (f[off + 9] != 6 || ihl < 20 || tot < ihl) return 0;
        if ((f[off + 6] & 0x1f) || f[off + 7]) return 0; /* fragment */
        l4 = off + ihl;
        ip_payload = tot - ihl;
    } else if (et == ETH_P_IPV6) {
        if ((size_t)n < off + 40 || (f[off] >> 4) != 6) return 0;
        if (f[off + 6] != 6) return 0; /* no extension headers expected */
        l4 = off + 40;
        ip_payload = (size_t)f[off + 4] << 8 | f[off + 5];
    } else {
        return 0;
    }
    if ((size_t)n < l4 + 20) return 0;
    size_t doff = (size_t)(f[l4 + 12] >> 4) * 4;
    if (doff < 20 || ip_payload < doff) return 0;
    *plen = (unsigned)(ip_payload - doff);
    *seq = (uint32_t)f[l4 + 4] << 24 | (uint32_t)f[l4 + 5] << 16 | (uint32_t)f[l4 + 6] << 8 | f[l4 + 7];
    return *plen > 0;
}

static int open_if(const char *name, int *index) {
    int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    if (fd < 0) { perror("socket(AF_PACKET)"); exit(1); }
    unsigned idx = if_nametoindex(name);
    if (!idx) { fprintf(stderr, "lossy_relay: no interface %s\n", name); exit(1); }
    *index = (int)idx;
    int one = 1;
    /* never see our own transmissions on this socket */
    if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one) < 0)
        perror("PACKET_IGNORE_OUTGOING (falling back to sll_pkttype)");
    int buf = 16 << 20; /* bursts of a full window must not overflow the socket */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) < 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
    struct sockaddr_ll sll;
    memset(&sll, 0, sizeof sll);
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = (int)idx;
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) { perror("bind"); exit(1); }
    struct packet_mreq mr;
    memset(&mr, 0, sizeof mr);
    mr.mr_ifindex = (int)idx;
    mr.mr_type = PACKET_MR_PROMISC;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) perror("PACKET_MR_PROMISC");
    /* discard anything queued before the bind took effect */
    unsigned char junk[MAXFRAME];
    while (recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0) {}
    struct tpacket_stats st;
    socklen_t sl = sizeof st;
    getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl); /* reset the counters */
    return fd;
}

static void send_out(int out, const unsigned char *f, ssize_t n) {
    for (int tries = 0; tries < 1000; ++tries) {
        if (send(fds[out], f, (size_t)n, 0) == n) return;
        if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR) break;
        usleep(100);
    }
    perror("lossy_relay: send");
}

static void log_line(int d, const char *action, uint32_t seq, unsigned plen, unsigned long idx) {
    if (!logf) return;
    fprintf(logf, "%.6f %s %s seq=%u len=%u data_frame=%lu\n", now_s(), dir_name[d], action, seq, plen, idx);
    fflush(logf);
}

static void release_held(int d, const char *why) {
    struct dirstate *s = &dirs[d];
    if (!s->held_len) return;
    send_out(d == C2S ? 1 : 0, s->held_buf, s->held_len);
    ++s->forwarded;
    if (why) {
        ++s->released_late;
        log_line(d, why, s->held_seq, 0, s->held_idx);
    }
    s->held_len = 0;
}

/* One frame received from side `in` (0 client side, 1 server side). */
static void handle(int in, const unsigned char *f, ssize_t n) {
    int d = in == 0 ? C2S : S2C;
    int out = in == 0 ? 1 : 0;
    struct dirstate *s = &dirs[d];
    ++s->frames;
    uint32_t seq = 0;
    unsigned plen = 0;
    int data = tcp_data_frame(f, n, &seq, &plen);
    if (data) {
        ++s->data_frames;
        if (chance(d, s->drop_pct)) {
            ++s->dropped;
            log_line(d, "drop", seq, plen, s->data_frames);
            return;
        }
        if (!s->held_len && chance(d, s->reorder_pct)) {
            memcpy(s->held_buf, f, (size_t)n);
            s->held_len = n;
            s->held_since = now_s();
            s->held_seq = seq;
            s->held_idx = s->data_frames;
            ++s->held;
            log_line(d, "hold", seq, plen, s->data_frames);
            return;
        }
    }
    send_out(out, f, n);
    ++s->forwarded;
    release_held(d, NULL); /* the held frame goes right after this one */
}

static void usage(void) {
    fprintf(stderr,
            "usage: lossy_relay --client-if IF --server-if IF [--seed N]\n"
            "       [--drop-c2s PCT] [--drop-s2c PCT] [--reorder-c2s PCT] [--reorder-s2c PCT]\n"
            "       [--hold-ms MS] [--log FILE] [--max-seconds S]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *cif = NULL, *sif = NULL, *logpath = NULL;
    unsigned long long seed = 1;
    double hold_ms = 20, max_s = 120;
    static const struct option opts[] = {
        {"client-if", required_argument, 0, 'c'}, {"server-if", required_argument, 0, 's'},
        {"seed", required_argument, 0, 'S'},      {"drop-c2s", required_argument, 0, 1},
        {"drop-s2c", required_argument, 0, 2},    {"reorder-c2s", required_argument, 0, 3},
        {"reorder-s2c", required_argument, 0, 4}, {"hold-ms", required_argument, 0, 'H'},
        {"log", required_argument, 0, 'l'},       {"max-seconds", required_argument, 0, 'm'},
        {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
            case 'c': cif = optarg; break;
            case 's': sif = optarg; break;
            case 'S': seed = strtoull(optarg, NULL, 0); break;
            case 1: dirs[C2S].drop_pct = atof(optarg); break;
            case 2: dirs[S2C].drop_pct = atof(optarg); break;
            case 3: dirs[C2S].reorder_pct = atof(optarg); break;
            case 4: dirs[S2C].reorder_pct = atof(optarg); break;
            case 'H': hold_ms = atof(optarg); break;
            case 'l': logpath = optarg; break;
            case 'm': max_s = atof(optarg); break;
            default: usage();
        }
    }
    if (!cif || !sif || optind != argc) usage();
    rng_state[C2S] = seed * 0x2545f4914f6cdd1dULL;
    rng_state[S2C] = seed * 0x2545f4914f6cdd1dULL ^ 0xd1b54a32d192ed03ULL;
    if (logpath && !(logf = fopen(logpath, "w"))) { perror(logpath); return 1; }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    fds[0] = open_if(cif, &ifindex[0]);
    fds[1] = open_if(sif, &ifindex[1]);
    fprintf(stderr, "lossy_relay: ready %s <-> %s seed %llu drop c2s %.2f%% s2c %.2f%% reorder c2s %.2f%% s2c %.2f%%\n",
            cif, sif, seed, dirs[C2S].drop_pct, dirs[S2C].drop_pct, dirs[C2S].reorder_pct, dirs[S2C].reorder_pct);

    static unsigned char buf[MAXFRAME];
    double deadline = now_s() + max_s;
    struct pollfd p[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    while (!stop_flag && now_s() < deadline) {
        int timeout = (dirs[0].held_len || dirs[1].held_len) ? 1 : 200;
        int r = poll(p, 2, timeout);
        if (r < 0 && errno != EINTR) { perror("poll"); break; }
        for (int i = 0; r > 0 && i < 2; ++i) {
            if (!(p[i].revents & POLLIN)) continue;
            for (;;) { /* drain the socket */
                struct sockaddr_ll from;
                socklen_t fl = sizeof from;
                ssize_t n = recvfrom(fds[i], buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fl);
                if (n < 0) break;
                if (from.sll_pkttype == PACKET_OUTGOING) continue;
                if (n > (ssize_t)sizeof buf) { fprintf(stderr, "lossy_relay: frame too big (%zd)\n", n); continue; }
                handle(i, buf, n);
            }
        }
        for (int d = 0; d < 2; ++d) {
            if (dirs[d].held_len && (now_s() - dirs[d].held_since) * 1000.0 >= hold_ms) release_held(d, "release-timeout");
        }
    }
    for (int d = 0; d < 2; ++d) release_held(d, "release-exit");

    unsigned long sock_drops = 0;
    for (int i = 0; i < 2; ++i) {
        struct tpacket_stats st;
        socklen_t sl = sizeof st;
        if (getsockopt(fds[i], SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0) sock_drops += st.tp_drops;
    }
    for (int d = 0; d < 2; ++d) {
        struct dirstate *s = &dirs[d];
        fprintf(stderr, "lossy_relay: %s frames %lu data %lu dropped %lu held %lu (late %lu) forwarded %lu\n",
                dir_name[d], s->frames, s->data_frames, s->dropped, s->held, s->released_late, s->forwarded);
    }
    fprintf(stderr, "lossy_relay: socket drops %lu\n", sock_drops);
    if (logf) fclose(logf);
    return sock_drops ? 3 : 0;
}
