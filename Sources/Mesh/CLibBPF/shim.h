// libbpf (Debian's libbpf-dev) for MeshInterceptor, plus the few things Swift cannot spell: the
// option structs libbpf builds with macros, and setns(2), which Glibc's Swift overlay does not
// export. Kept apart from any libpcap module: both declare `struct bpf_insn`.
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

/// The filesystem type (statfs f_type, a magic number) of `path`; -1 with errno when it cannot be read.
static inline long fsm_filesystem_type(const char *path)
{
    struct statfs info;
    if (statfs(path, &info) != 0)
        return -1;
    return (long)info.f_type;
}

/// Moves the calling thread into the network namespace `fd` refers to (setns(fd, CLONE_NEWNET)).
static inline int fsm_enter_network_namespace(int fd)
{
    return (int)syscall(SYS_setns, fd, 0x40000000 /* CLONE_NEWNET */);
}

static inline struct bpf_tc_hook fsm_tc_hook(int ifindex, enum bpf_tc_attach_point point)
{
    struct bpf_tc_hook hook;
    memset(&hook, 0, sizeof(hook));
    hook.sz = sizeof(hook);
    hook.ifindex = ifindex;
    hook.attach_point = point;
    return hook;
}

static inline struct bpf_tc_opts fsm_tc_opts(int prog_fd, __u32 handle, __u32 priority, __u32 flags)
{
    struct bpf_tc_opts opts;
    memset(&opts, 0, sizeof(opts));
    opts.sz = sizeof(opts);
    opts.prog_fd = prog_fd;
    opts.handle = handle;
    opts.priority = priority;
    opts.flags = flags;
    return opts;
}

static inline struct bpf_object_open_opts fsm_object_open_opts(const char *name)
{
    struct bpf_object_open_opts opts;
    memset(&opts, 0, sizeof(opts));
    opts.sz = sizeof(opts);
    opts.object_name = name;
    return opts;
}

/// The name of a loaded program (bpf_prog_info.name), for telling our programs from others.
static inline int fsm_program_name(__u32 id, char *name, size_t size)
{
    int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0)
        return fd;
    struct bpf_prog_info info;
    memset(&info, 0, sizeof(info));
    __u32 length = sizeof(info);
    int status = bpf_obj_get_info_by_fd(fd, &info, &length);
    close(fd);
    if (status != 0)
        return status;
    strncpy(name, info.name, size - 1);
    name[size - 1] = '\0';
    return 0;
}
