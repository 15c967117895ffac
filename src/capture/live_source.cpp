// Live capture through libpcap (pcap_create / pcap_activate), with optional
// saving of the raw packets (-w, rotated by size like tcpdump -C).
#include <grp.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "pcaplens/capture/live.hpp"

namespace pcaplens {

namespace {
int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace

struct LiveSource::Impl {
    LiveOptions opt;
    const std::atomic<bool>* stop = nullptr;
    pcap_t* handle = nullptr;
    pcap_dumper_t* dumper = nullptr;
    int file_no = 0;
    uint64_t dumped_bytes = 0;
    bool nano = false;
    int64_t deadline = 0;
    int fd = -1;
    FileStats stats;
    uint64_t last_drops = 0, last_ifdrops = 0;
    // After a stop request or the --duration deadline: read on until this
    // time, so packets the kernel still holds in a block it has not handed
    // over yet (up to the 100 ms timeout) are not lost.
    int64_t drain_until = 0;
    std::optional<std::string> write_error;
};

LiveSource::LiveSource(const LiveOptions& opt, const std::atomic<bool>* stop) : impl_(std::make_unique<Impl>()) {
    Impl& m = *impl_;
    m.opt = opt;
    m.stop = stop;
    char err[PCAP_ERRBUF_SIZE] = {0};
    m.handle = pcap_create(opt.interface.c_str(), err);
    if (!m.handle) throw InputError(opt.interface + ": " + err);
    pcap_set_snaplen(m.handle, opt.snaplen);
    pcap_set_promisc(m.handle, opt.promiscuous ? 1 : 0);
    pcap_set_immediate_mode(m.handle, opt.immediate ? 1 : 0);
    pcap_set_timeout(m.handle, 100);
    if (opt.buffer_size_kib > 0) pcap_set_buffer_size(m.handle, opt.buffer_size_kib * 1024);
    m.nano = pcap_set_tstamp_precision(m.handle, PCAP_TSTAMP_PRECISION_NANO) == 0;
    const int rc = pcap_activate(m.handle);
    if (rc < 0) {
        std::string why = pcap_geterr(m.handle);
        if (rc == PCAP_ERROR_NO_SUCH_DEVICE) why = "no such interface (" + why + "); list them with -D";
        else if (rc == PCAP_ERROR_PERM_DENIED) why = "permission denied (" + why + "); run as root or give the binary CAP_NET_RAW";
        else if (rc == PCAP_ERROR_IFACE_NOT_UP) why = "interface is down";
        pcap_close(m.handle);
        m.handle = nullptr;
        throw InputError(opt.interface + ": " + why);
    }
    // Non-blocking reads plus our own poll(): with immediate mode libpcap
    // may ignore its timeout, and a signal must be able to stop us.
    if (!opt.filter.empty()) {
        bpf_u_int32 net = 0, mask = PCAP_NETMASK_UNKNOWN;
        char e2[PCAP_ERRBUF_SIZE];
        if (pcap_lookupnet(opt.interface.c_str(), &net, &mask, e2) != 0) mask = PCAP_NETMASK_UNKNOWN;
        bpf_program prog{};
        if (pcap_compile(m.handle, &prog, opt.filter.c_str(), 1, mask) != 0) {
            std::string why = pcap_geterr(m.handle);
            pcap_close(m.handle);
            m.handle = nullptr;
            throw UsageError("bad filter expression '" + opt.filter + "': " + why);
        }
        const int set = pcap_setfilter(m.handle, &prog);
        pcap_freecode(&prog);
        if (set != 0) {
            std::string why = pcap_geterr(m.handle);
            pcap_close(m.handle);
            m.handle = nullptr;
            throw UsageError("cannot set filter: " + why);
        }
    }
    if (pcap_setnonblock(m.handle, 1, err) != 0) {
        std::string why = err;
        pcap_close(m.handle);
        m.handle = nullptr;
        throw InputError(opt.interface + ": cannot read non-blocking: " + why);
    }
    m.fd = pcap_get_selectable_fd(m.handle);
    m.stats.path = "live:" + opt.interface;
    m.stats.format = "live";
    m.stats.snaplen = static_cast<uint32_t>(pcap_snapshot(m.handle));
    m.stats.link_types.insert(pcap_datalink(m.handle));
    if (opt.duration_s > 0) m.deadline = now_ns() + static_cast<int64_t>(opt.duration_s * 1e9);
    if (!opt.write_file.empty()) open_dump();
}

LiveSource::~LiveSource() {
    if (impl_->dumper) pcap_dump_close(impl_->dumper);
    if (impl_->handle) pcap_close(impl_->handle);
}

void LiveSource::open_dump() {
    Impl& m = *impl_;
    if (m.dumper) pcap_dump_close(m.dumper);
    m.dumper = nullptr;
    std::string path = m.opt.write_file;
    if (m.opt.rotate_bytes > 0 && m.file_no > 0) path += std::to_string(m.file_no);  // tcpdump -C naming
    m.dumper = pcap_dump_open(m.handle, path.c_str());
    if (!m.dumper) throw InputError(path + ": cannot write: " + pcap_geterr(m.handle));
    ++m.file_no;
    m.dumped_bytes = 0;
}

std::optional<std::string> LiveSource::write_error() const { return impl_->write_error; }

bool LiveSource::next(PacketView& out) {
    Impl& m = *impl_;
    for (;;) {
        if (m.write_error) return false;
        if (m.drain_until == 0 && ((m.stop && m.stop->load(std::memory_order_relaxed)) || (m.deadline && now_ns() >= m.deadline))) {
            m.drain_until = now_ns() + (m.opt.immediate ? 0 : 150'000'000);
        }
        if (m.drain_until != 0 && now_ns() >= m.drain_until) return false;
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        const int rc = pcap_next_ex(m.handle, &hdr, &data);
        if (rc == 1) {
            out = PacketView{};
            out.ts_ns = timestamp_ns(static_cast<int64_t>(hdr->ts.tv_sec),
                                     static_cast<int64_t>(hdr->ts.tv_usec) * (m.nano ? 1 : 1000));
            out.caplen = hdr->caplen;
            out.wirelen = hdr->len;
            out.data = data;
            out.linktype = pcap_datalink(m.handle);
            out.frame = ++frame_;
            ++m.stats.packets;
            m.stats.bytes += hdr->caplen;
            m.stats.wire_bytes += hdr->len;
            if (m.stats.packets == 1) m.stats.first_ts_ns = out.ts_ns;
            m.stats.last_ts_ns = out.ts_ns;
            if (m.dumper) {
                if (m.opt.rotate_bytes > 0 && m.dumped_bytes + hdr->caplen + 16 > m.opt.rotate_bytes && m.dumped_bytes > 0) {
                    try {
                        open_dump();
                    } catch (const InputError& e) {
                        // (-Z: the next file is created as the new user.) The
                        // capture stops here; the analysis so far is reported.
                        m.write_error = e.what();
                        return true;   // this packet is analysed, not saved
                    }
                }
                pcap_dump(reinterpret_cast<u_char*>(m.dumper), hdr, data);
                m.dumped_bytes += hdr->caplen + 16;
            }
            return true;
        }
        if (rc == 0) {
            // Nothing buffered: the saved file catches up (flushed here, not
            // per packet: a write per packet costs drops on a busy line).
            if (m.dumper) pcap_dump_flush(m.dumper);
            // Wait up to 100 ms, then give the pipeline a tick so it can
            // expire connections and notice a stop request.
            if (m.fd >= 0) {
                pollfd pfd{m.fd, POLLIN, 0};
                const int pr = ::poll(&pfd, 1, m.drain_until != 0 ? 20 : 100);
                if (pr > 0) continue;
                if (pr < 0 && errno != EINTR) {
                    CaptureDamage d;
                    d.kind = "read_error";
                    d.packet = m.stats.packets + 1;
                    d.message = std::string("poll: ") + std::strerror(errno);
                    m.stats.damage = d;
                    return false;
                }
            }
            out = PacketView{};
            out.ts_ns = now_ns();
            return true;
        }
        if (rc == PCAP_ERROR_BREAK) return false;
        CaptureDamage d;
        d.kind = "read_error";
        d.packet = m.stats.packets + 1;
        d.message = pcap_geterr(m.handle);
        m.stats.damage = d;
        return false;
    }
}

std::vector<FileStats> LiveSource::file_stats() const { return {impl_->stats}; }

uint64_t LiveSource::drops() const {
    pcap_stat st{};
    if (impl_->handle && pcap_stats(impl_->handle, &st) == 0) impl_->last_drops = st.ps_drop;
    return impl_->last_drops;
}

uint64_t LiveSource::ifdrops() const {
    pcap_stat st{};
    if (impl_->handle && pcap_stats(impl_->handle, &st) == 0) impl_->last_ifdrops = st.ps_ifdrop;
    return impl_->last_ifdrops;
}

std::vector<InterfaceInfo> list_interfaces() {
    std::vector<InterfaceInfo> v;
    pcap_if_t* all = nullptr;
    char err[PCAP_ERRBUF_SIZE];
    if (pcap_findalldevs(&all, err) != 0) throw InputError(std::string("cannot list interfaces: ") + err);
    for (pcap_if_t* d = all; d; d = d->next) {
        InterfaceInfo i;
        i.name = d->name;
        if (d->description) i.description = d->description;
        i.up = (d->flags & PCAP_IF_UP) != 0;
        i.running = (d->flags & PCAP_IF_RUNNING) != 0;
        i.loopback = (d->flags & PCAP_IF_LOOPBACK) != 0;
        v.push_back(std::move(i));
    }
    pcap_freealldevs(all);
    return v;
}

namespace {
const passwd& user_entry(const std::string& user) {
    const passwd* pw = getpwnam(user.c_str());
    if (!pw) throw UsageError("-Z: no such user '" + user + "'");
    return *pw;
}
}  // namespace

void check_user(const std::string& user) { (void)user_entry(user); }

void drop_privileges(const std::string& user) {
    const passwd* pw = &user_entry(user);
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        throw UsageError("-Z: cannot change to user '" + user + "': " + std::strerror(errno));
    }
}

}  // namespace pcaplens
