/*
 * The layouts fsm interceptor (Sources/Mesh/Interceptor, InterceptorMaps.swift) writes into the
 * maps of fsm_capture.bpf.c. Every field is fixed-size and explicitly padded, so the Swift side
 * encodes them byte for byte: addresses in network byte order, ports and ids in host order.
 */
#pragma once

#include <linux/types.h>

#define FSM_MAX_PODS 1024
#define FSM_MAX_PORT_RULES 16384
#define FSM_MAX_RANGES 16384
#define FSM_MAX_CONNECTIONS 65536
#define FSM_MAX_CGROUP_DEPTH 16

/* fsm_pods: pod IPv4 address (network order) -> the pod's capture settings. */
struct fsm_pod {
    __u32 proxy_uid;       /* the sidecar's uid: its connections are never captured */
    __u16 outbound_port;   /* outbound listener, 15001 */
    __u16 inbound_port;    /* inbound listener, 15003 */
    __u64 sidecar_cgroup;  /* cgroup v2 id of the sidecar's own cgroup (0: none), also never captured */
    __u32 flags;           /* FSM_POD_* */
    __u32 pad;
};

#define FSM_POD_HAS_INCLUSIONS 1 /* only outbound destinations in fsm_incl_ranges are captured */

/* fsm_ports: (pod, port, direction) -> 1 for a port that bypasses the sidecar. */
struct fsm_port_key {
    __u32 pod_ip;  /* network order */
    __u16 port;    /* host order */
    __u8 direction;
    __u8 pad;
};

#define FSM_DIRECTION_OUTBOUND 1
#define FSM_DIRECTION_INBOUND 2

/* fsm_excl_ranges, fsm_incl_ranges (LPM tries): prefixlen is 32 (the pod) + the range's prefix. */
struct fsm_range_key {
    __u32 prefixlen;
    __u32 pod_ip;  /* network order */
    __u32 address; /* network order */
};

/* Where a captured connection was going. */
struct fsm_origin {
    __u32 ip;      /* network order */
    __u16 port;    /* host order */
    __u16 flags;   /* FSM_ORIGIN_* */
};

/* Set by the tc programs: the inbound connection's port was rewritten in its packets, so replies
 * from the inbound listener get their source port back. */
#define FSM_ORIGIN_NAT 1

/* fsm_pair_dst key: one TCP connection as its client sees it (after any rewrite). */
struct fsm_pair {
    __u32 sip;     /* network order */
    __u32 dip;     /* network order */
    __u16 sport;   /* host order */
    __u16 dport;   /* host order */
};

/* fsm_sockets (SOCKHASH) key: a socket by its own local and remote ends. netns is the socket's
 * network namespace cookie when both ends are loopback addresses (every pod has its own
 * 127.0.0.1), else 0 (pod addresses are unique on a node). */
struct fsm_sock_key {
    __u64 netns;
    __u32 local_ip;
    __u32 remote_ip;
    __u16 local_port;
    __u16 remote_port;
    __u32 pad;
};

/* fsm_settings[0] */
struct fsm_settings {
    __u32 flags; /* FSM_SETTING_* */
};

#define FSM_SETTING_ACCELERATE 1 /* sk_msg + sockmap shortcut for same-host sockets */

/* fsm_stats: per-CPU counters, one array slot each. */
enum fsm_stat {
    FSM_STAT_OUTBOUND_REDIRECTED = 0,  /* app connection sent to the outbound listener */
    FSM_STAT_OUTBOUND_BYPASSED,        /* app connection left alone: excluded port or range, not included */
    FSM_STAT_SIDECAR_PASSED,           /* sidecar's own connection left alone */
    FSM_STAT_LOCAL_INBOUND_REDIRECTED, /* sidecar connection to a pod on this node sent to its inbound listener */
    FSM_STAT_INBOUND_NAT,              /* inbound connection (tc) sent to the inbound listener */
    FSM_STAT_INBOUND_BYPASSED,         /* inbound connection to a reserved or excluded port */
    FSM_STAT_ORIGINAL_DST_ANSWERED,    /* getsockopt(SO_ORIGINAL_DST) answered from the maps */
    FSM_STAT_ORIGINAL_DST_MISSING,     /* getsockopt(SO_ORIGINAL_DST) for a connection the maps do not know */
    FSM_STAT_SOCKETS_ACCELERATED,      /* socket added to the sockmap */
    FSM_STAT_MESSAGES_REDIRECTED,      /* sendmsg delivered straight to the peer socket */
    FSM_STAT_BIND_FAILED,              /* could not bind a captured app socket to its pod address */
    FSM_STAT_RECORD_FAILED,            /* could not record an original destination: left uncaptured */
    FSM_STAT_COUNT
};
