/*
 * eBPF traffic capture for the sidecar (the guides' 3.2.2, "eBPF Redirection"): the same capture
 * the iptables rules of MeshRedirect make, without iptables. fsm interceptor loads this object,
 * attaches the cgroup programs to each meshed pod's cgroup (v2), the tc programs to the pod's
 * interfaces, and fills the pod maps from the same RedirectSettings iptables mode uses.
 *
 *   fsm_connect4    cgroup/connect4: an app's outbound TCP connect() goes to 127.0.0.1:<outbound
 *                   listener> (bound to the pod's address), its original destination recorded by
 *                   socket cookie. The sidecar's own connects (proxy uid or sidecar cgroup) pass,
 *                   except to a meshed pod of this node, whose port becomes its inbound listener's
 *                   (the guides' same-node inbound path). Excluded ports and ranges pass.
 *   fsm_sockops     sockops: once established, the recorded destination is re-keyed by the
 *                   connection's 4-tuple; same-host sockets join the sockmap (acceleration).
 *   fsm_getsockopt  cgroup/getsockopt: getsockopt(SOL_IP, SO_ORIGINAL_DST) answered from the 4-tuple
 *                   map, so the sidecar's iptables-mode code reads it unchanged.
 *   fsm_sk_msg      sk_msg on the sockmap: a send on a same-host socket goes straight into its
 *                   peer socket's receive queue (the guides' "network communication acceleration").
 *   fsm_tc_ingress  tc ingress on a pod interface: a new inbound connection to a captured port is
 *   fsm_tc_egress   rewritten to the inbound listener (the guides' cross-node path, like DNAT), and
 *                   the listener's replies get the original port back on egress.
 *
 * Decisions that are not the kernel's live here only; the Swift side only fills the maps.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "fsm_capture.h"

#define AF_INET 2
#define SOCK_STREAM 1
#define SOL_IP 0
#define SO_ORIGINAL_DST 80
#define PAGE_SIZE 4096
#define LOOPBACK_NET 127

char LICENSE[] SEC("license") = "GPL";

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FSM_MAX_PODS);
    __type(key, __u32);
    __type(value, struct fsm_pod);
} fsm_pods SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FSM_MAX_PODS);
    __type(key, __u64);
    __type(value, __u32);
} fsm_cgroups SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, FSM_MAX_PORT_RULES);
    __type(key, struct fsm_port_key);
    __type(value, __u8);
} fsm_ports SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, FSM_MAX_RANGES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct fsm_range_key);
    __type(value, __u8);
} fsm_excl_ranges SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, FSM_MAX_RANGES);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, struct fsm_range_key);
    __type(value, __u8);
} fsm_incl_ranges SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, FSM_MAX_CONNECTIONS);
    __type(key, __u64);
    __type(value, struct fsm_origin);
} fsm_cookie_dst SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, FSM_MAX_CONNECTIONS);
    __type(key, struct fsm_pair);
    __type(value, struct fsm_origin);
} fsm_pair_dst SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_SOCKHASH);
    __uint(max_entries, FSM_MAX_CONNECTIONS);
    __type(key, struct fsm_sock_key);
    __type(value, __u64);
} fsm_sockets SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct fsm_settings);
} fsm_settings SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, FSM_STAT_COUNT);
    __type(key, __u32);
    __type(value, __u64);
} fsm_stats SEC(".maps");

static __always_inline void count(enum fsm_stat stat)
{
    __u32 key = stat;
    __u64 *value = bpf_map_lookup_elem(&fsm_stats, &key);
    if (value)
        *value += 1;
}

static __always_inline int is_loopback(__u32 ip)
{
    return (bpf_ntohl(ip) >> 24) == LOOPBACK_NET;
}

static __always_inline int accelerating(void)
{
    __u32 key = 0;
    struct fsm_settings *settings = bpf_map_lookup_elem(&fsm_settings, &key);
    return settings && (settings->flags & FSM_SETTING_ACCELERATE);
}

static __always_inline int port_bypassed(__u32 pod_ip, __u16 port, __u8 direction)
{
    struct fsm_port_key key = {.pod_ip = pod_ip, .port = port, .direction = direction};
    return bpf_map_lookup_elem(&fsm_ports, &key) != NULL;
}

static __always_inline int in_ranges(void *trie, __u32 pod_ip, __u32 address)
{
    struct fsm_range_key key = {.prefixlen = 64, .pod_ip = pod_ip, .address = address};
    return bpf_map_lookup_elem(trie, &key) != NULL;
}

/* --- cgroup/connect4 ------------------------------------------------------------------------ */

/* The meshed pod the current task belongs to (its cgroup or an ancestor is a pod's), and whether
 * the task is that pod's sidecar by cgroup. */
struct caller {
    struct fsm_pod *pod;
    __u32 pod_ip;
    int in_sidecar_cgroup;
};

static __always_inline void find_caller(struct caller *caller)
{
    for (int level = 1; level < FSM_MAX_CGROUP_DEPTH; level++) {
        __u64 id = bpf_get_current_ancestor_cgroup_id(level);
        if (id == 0)
            break;
        if (!caller->pod) {
            __u32 *ip = bpf_map_lookup_elem(&fsm_cgroups, &id);
            if (ip) {
                caller->pod_ip = *ip;
                caller->pod = bpf_map_lookup_elem(&fsm_pods, ip);
            }
        }
        if (caller->pod && caller->pod->sidecar_cgroup == id)
            caller->in_sidecar_cgroup = 1;
    }
}

static __always_inline int record_origin(struct bpf_sock_addr *ctx, __u32 ip, __u16 port)
{
    __u64 cookie = bpf_get_socket_cookie(ctx);
    struct fsm_origin origin = {.ip = ip, .port = port, .flags = 0};
    if (bpf_map_update_elem(&fsm_cookie_dst, &cookie, &origin, BPF_ANY) != 0) {
        count(FSM_STAT_RECORD_FAILED);
        return 0;
    }
    return 1;
}

static __always_inline int outbound_bypassed(struct fsm_pod *pod, __u32 pod_ip, __u32 dst, __u16 port)
{
    if (port_bypassed(pod_ip, port, FSM_DIRECTION_OUTBOUND))
        return 1;
    if (in_ranges(&fsm_excl_ranges, pod_ip, dst))
        return 1;
    return (pod->flags & FSM_POD_HAS_INCLUSIONS) && !in_ranges(&fsm_incl_ranges, pod_ip, dst);
}

/* An app connection: to the outbound listener unless it stays in the pod or is excluded. */
static __always_inline int app_connect(struct bpf_sock_addr *ctx, struct caller *caller)
{
    __u32 dst = ctx->user_ip4;
    __u16 port = bpf_ntohs((__u16)ctx->user_port);
    if (is_loopback(dst) || dst == caller->pod_ip)
        return 1; /* the app talking to itself */
    if (outbound_bypassed(caller->pod, caller->pod_ip, dst, port)) {
        count(FSM_STAT_OUTBOUND_BYPASSED);
        return 1;
    }
    if (!record_origin(ctx, dst, port))
        return 1;
    /* From the pod's own address, so the 4-tuple is unique on the node (every pod has its own
     * 127.0.0.1) and the sidecar sees the app's address as the source, as under iptables. */
    struct sockaddr_in source = {.sin_family = AF_INET, .sin_port = 0, .sin_addr = {.s_addr = caller->pod_ip}};
    if (bpf_bind(ctx, (struct sockaddr *)&source, sizeof(source)) != 0)
        count(FSM_STAT_BIND_FAILED);
    ctx->user_ip4 = bpf_htonl(0x7f000001);
    ctx->user_port = bpf_htons(caller->pod->outbound_port);
    count(FSM_STAT_OUTBOUND_REDIRECTED);
    return 1;
}

/* The sidecar's own connection: untouched, except to a meshed pod on this node (itself included),
 * which goes to that pod's inbound listener unless the port bypasses it. */
static __always_inline int sidecar_connect(struct bpf_sock_addr *ctx)
{
    __u32 dst = ctx->user_ip4;
    __u16 port = bpf_ntohs((__u16)ctx->user_port);
    struct fsm_pod *target = bpf_map_lookup_elem(&fsm_pods, &dst);
    if (!target || port == target->inbound_port || port == target->outbound_port || port_bypassed(dst, port, FSM_DIRECTION_INBOUND)) {
        count(FSM_STAT_SIDECAR_PASSED);
        return 1;
    }
    if (!record_origin(ctx, dst, port))
        return 1;
    ctx->user_port = bpf_htons(target->inbound_port);
    count(FSM_STAT_LOCAL_INBOUND_REDIRECTED);
    return 1;
}

SEC("cgroup/connect4")
int fsm_connect4(struct bpf_sock_addr *ctx)
{
    if (ctx->type != SOCK_STREAM || (ctx->protocol != IPPROTO_TCP && ctx->protocol != 0))
        return 1; /* only TCP is captured; UDP and ICMP pass, as under iptables */
    struct caller caller = {};
    find_caller(&caller);
    if (!caller.pod)
        return 1;
    __u32 uid = (__u32)bpf_get_current_uid_gid();
    if (uid == caller.pod->proxy_uid || caller.in_sidecar_cgroup)
        return sidecar_connect(ctx);
    return app_connect(ctx, &caller);
}

/* --- sockops -------------------------------------------------------------------------------- */

static __always_inline void remember_pair(struct bpf_sock_ops *skops, struct fsm_pair *pair)
{
    __u64 cookie = bpf_get_socket_cookie(skops);
    struct fsm_origin *origin = bpf_map_lookup_elem(&fsm_cookie_dst, &cookie);
    if (!origin)
        return;
    struct fsm_origin copy = *origin;
    bpf_map_update_elem(&fsm_pair_dst, pair, &copy, BPF_ANY);
    bpf_map_delete_elem(&fsm_cookie_dst, &cookie);
}

static __always_inline int same_host(__u32 remote_ip)
{
    return is_loopback(remote_ip) || bpf_map_lookup_elem(&fsm_pods, &remote_ip) != NULL;
}

static __always_inline void accelerate(struct bpf_sock_ops *skops, struct fsm_pair *pair)
{
    if (!accelerating() || !same_host(pair->dip))
        return;
    struct fsm_sock_key key = {
        .netns = (is_loopback(pair->sip) && is_loopback(pair->dip)) ? bpf_get_netns_cookie(skops) : 0,
        .local_ip = pair->sip,
        .remote_ip = pair->dip,
        .local_port = pair->sport,
        .remote_port = pair->dport,
    };
    if (bpf_sock_hash_update(skops, &fsm_sockets, &key, BPF_NOEXIST) == 0)
        count(FSM_STAT_SOCKETS_ACCELERATED);
}

SEC("sockops")
int fsm_sockops(struct bpf_sock_ops *skops)
{
    if (skops->family != AF_INET)
        return 0;
    if (skops->op != BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB && skops->op != BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
        return 0;
    /* This socket's own view: local end first. */
    struct fsm_pair pair = {
        .sip = skops->local_ip4,
        .dip = skops->remote_ip4,
        .sport = (__u16)skops->local_port,
        .dport = bpf_ntohs((__u16)(skops->remote_port >> 16)),
    };
    if (skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB)
        remember_pair(skops, &pair);
    accelerate(skops, &pair);
    return 0;
}

/* --- cgroup/getsockopt ---------------------------------------------------------------------- */

SEC("cgroup/getsockopt")
int fsm_getsockopt(struct bpf_sockopt *ctx)
{
    if (ctx->level != SOL_IP || ctx->optname != SO_ORIGINAL_DST) {
        if (ctx->optlen > PAGE_SIZE)
            ctx->optlen = 0; /* not ours: the kernel's answer stands */
        return 1;
    }
    struct bpf_sock *sk = ctx->sk;
    if (!sk || sk->family != AF_INET)
        return 1;
    /* The accepted socket's peer is the connection's client. */
    struct fsm_pair pair = {
        .sip = sk->dst_ip4,
        .dip = sk->src_ip4,
        .sport = bpf_ntohs(sk->dst_port),
        .dport = (__u16)sk->src_port,
    };
    struct fsm_origin *origin = bpf_map_lookup_elem(&fsm_pair_dst, &pair);
    if (!origin) {
        count(FSM_STAT_ORIGINAL_DST_MISSING);
        return 1; /* the kernel's own answer (ENOENT or ENOPROTOOPT) stands */
    }
    struct sockaddr_in *address = ctx->optval;
    if ((void *)(address + 1) > ctx->optval_end)
        return 1;
    address->sin_family = AF_INET;
    address->sin_port = bpf_htons(origin->port);
    address->sin_addr.s_addr = origin->ip;
    __builtin_memset(address->__pad, 0, sizeof(address->__pad));
    ctx->optlen = sizeof(*address);
    /* Two separate 32-bit stores: the verifier refuses one 64-bit store across both fields. */
    asm volatile("" ::: "memory");
    ctx->retval = 0;
    count(FSM_STAT_ORIGINAL_DST_ANSWERED);
    return 1;
}

/* --- sk_msg --------------------------------------------------------------------------------- */

SEC("sk_msg")
int fsm_sk_msg(struct sk_msg_md *msg)
{
    if (msg->family != AF_INET)
        return SK_PASS;
    /* The peer socket's key: its local end is this socket's remote end. */
    __u32 local_ip = msg->local_ip4, remote_ip = msg->remote_ip4;
    struct fsm_sock_key peer = {
        .netns = (is_loopback(local_ip) && is_loopback(remote_ip)) ? bpf_get_netns_cookie(msg) : 0,
        .local_ip = remote_ip,
        .remote_ip = local_ip,
        .local_port = bpf_ntohs((__u16)(msg->remote_port >> 16)),
        .remote_port = (__u16)msg->local_port,
    };
    /* Without a peer in the map the helper fails and the message takes the normal path. */
    if (bpf_msg_redirect_hash(msg, &fsm_sockets, &peer, BPF_F_INGRESS) == SK_PASS)
        count(FSM_STAT_MESSAGES_REDIRECTED);
    return SK_PASS;
}

/* --- tc ------------------------------------------------------------------------------------- */

struct tcp_packet {
    __u32 l4_offset;
    __u32 saddr, daddr; /* network order */
    __u16 source, dest; /* host order */
    int syn_only;
};

/* An Ethernet IPv4 TCP packet's addresses and ports; 0 for anything else (fragments included). */
static __always_inline int parse_tcp(struct __sk_buff *skb, struct tcp_packet *packet)
{
    if (skb->protocol != bpf_htons(ETH_P_IP))
        return 0;
    struct iphdr ip;
    if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) != 0)
        return 0;
    if (ip.protocol != IPPROTO_TCP || ip.ihl < 5 || (ip.frag_off & bpf_htons(0x3fff)) != 0)
        return 0;
    struct tcphdr tcp;
    packet->l4_offset = ETH_HLEN + ip.ihl * 4;
    if (bpf_skb_load_bytes(skb, packet->l4_offset, &tcp, sizeof(tcp)) != 0)
        return 0;
    packet->saddr = ip.saddr;
    packet->daddr = ip.daddr;
    packet->source = bpf_ntohs(tcp.source);
    packet->dest = bpf_ntohs(tcp.dest);
    packet->syn_only = tcp.syn && !tcp.ack;
    return 1;
}

/* Replaces a TCP port (the source or destination field) and fixes the checksum. */
static __always_inline int rewrite_port(struct __sk_buff *skb, struct tcp_packet *packet, __u32 field, __u16 from, __u16 to)
{
    __be16 old_port = bpf_htons(from), new_port = bpf_htons(to);
    if (bpf_l4_csum_replace(skb, packet->l4_offset + offsetof(struct tcphdr, check), old_port, new_port, sizeof(new_port)) != 0)
        return TC_ACT_SHOT;
    if (bpf_skb_store_bytes(skb, packet->l4_offset + field, &new_port, sizeof(new_port), 0) != 0)
        return TC_ACT_SHOT;
    return TC_ACT_OK;
}

SEC("tc")
int fsm_tc_ingress(struct __sk_buff *skb)
{
    struct tcp_packet packet = {};
    if (!parse_tcp(skb, &packet))
        return TC_ACT_OK;
    __u32 pod_ip = packet.daddr;
    struct fsm_pod *pod = bpf_map_lookup_elem(&fsm_pods, &pod_ip);
    if (!pod || packet.dest == pod->inbound_port || packet.dest == pod->outbound_port)
        return TC_ACT_OK;
    struct fsm_pair pair = {.sip = packet.saddr, .dip = pod_ip, .sport = packet.source, .dport = pod->inbound_port};
    if (packet.syn_only) {
        if (port_bypassed(pod_ip, packet.dest, FSM_DIRECTION_INBOUND)) {
            count(FSM_STAT_INBOUND_BYPASSED);
            return TC_ACT_OK;
        }
        struct fsm_origin origin = {.ip = pod_ip, .port = packet.dest, .flags = FSM_ORIGIN_NAT};
        if (bpf_map_update_elem(&fsm_pair_dst, &pair, &origin, BPF_ANY) != 0) {
            count(FSM_STAT_RECORD_FAILED);
            return TC_ACT_OK;
        }
        count(FSM_STAT_INBOUND_NAT);
    } else {
        /* Only connections that began with a captured SYN: replies to the pod's own outbound
         * connections arrive on ephemeral ports that must stay as they are. */
        struct fsm_origin *origin = bpf_map_lookup_elem(&fsm_pair_dst, &pair);
        if (!origin || !(origin->flags & FSM_ORIGIN_NAT) || origin->port != packet.dest)
            return TC_ACT_OK;
    }
    return rewrite_port(skb, &packet, offsetof(struct tcphdr, dest), packet.dest, pod->inbound_port);
}

SEC("tc")
int fsm_tc_egress(struct __sk_buff *skb)
{
    struct tcp_packet packet = {};
    if (!parse_tcp(skb, &packet))
        return TC_ACT_OK;
    __u32 pod_ip = packet.saddr;
    struct fsm_pod *pod = bpf_map_lookup_elem(&fsm_pods, &pod_ip);
    if (!pod || packet.source != pod->inbound_port)
        return TC_ACT_OK;
    struct fsm_pair pair = {.sip = packet.daddr, .dip = pod_ip, .sport = packet.dest, .dport = pod->inbound_port};
    struct fsm_origin *origin = bpf_map_lookup_elem(&fsm_pair_dst, &pair);
    if (!origin || !(origin->flags & FSM_ORIGIN_NAT))
        return TC_ACT_OK;
    return rewrite_port(skb, &packet, offsetof(struct tcphdr, source), packet.source, origin->port);
}
