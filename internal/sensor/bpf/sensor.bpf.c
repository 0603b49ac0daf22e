//go:build ignore

// SPDX-License-Identifier: GPL-2.0
//
// Vigil's runtime sensor: tracepoint programs that report process, network,
// file and privilege events into one BPF ring buffer. CO-RE against the
// running kernel's BTF; no kprobes, no fentry.
//
// Every record starts with struct hdr; the body depends on hdr.kind. The
// layout is mirrored by internal/sensor/record.go, which decodes it with
// bounds checks. Keep both in step.

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

// Record kinds (record.go: rk*).
enum {
	RK_EXEC = 1,
	RK_FORK,
	RK_EXIT,
	RK_CONNECT,
	RK_ACCEPT,
	RK_BIND,
	RK_LISTEN,
	RK_TCP_STATE,
	RK_OPEN,
	RK_UNLINK,
	RK_RENAME,
	RK_CHMOD,
	RK_SETUID,
	RK_SETGID,
	RK_CAPSET,
	RK_PTRACE,
	RK_MEMFD,
	RK_MOUNT,
	RK_BPF,
	RK_MODULE,
	RK_LINK,
	RK_TRUNCATE,
	RK_SETNS,
	RK_MAX, // keep last; sizes the drop counters
};

// hdr.flags
#define HF_TTY 1
#define HF_EXE_DELETED 2
#define HF_EXE_MEMFD 4
#define HF_IO_URING 8 // the action was submitted through io_uring (no syscall; result unknown)
#define HF_OTHER_MNT 16 // an open's file is in another mount namespace than the process
#define HF_BY_HANDLE 32 // an open_by_handle_at: no path at all

#define PATH_SZ 256 // file paths, truncated (also the LPM key size)
#define ARGV_SZ 4096 // exec argument block, truncated
#define DNAME_SZ 32
#define SADDR_SZ 112 // raw sockaddr copied from user memory
#define BPFATTR_SZ 64

#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define S_IFIFO 0010000
#define S_IFCHR 0020000
#define EINPROGRESS 115
#define EAGAIN 11

#define O_WRONLY 01
#define O_RDWR 02
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_APPEND 02000
#define WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

struct hdr {
	u16 kind;
	u16 size; // whole record, header included
	u32 flags;
	u64 ktime; // boot-relative ns
	u64 start; // process start, boot-relative ns
	u64 cgroup;
	u64 cap_eff;
	u64 cap_prm;
	s64 result;
	u32 tid;
	u32 pid;
	u32 ppid;
	u32 uid;
	u32 gid;
	u32 euid;
	u32 egid;
	u32 mntns;
	u32 pidns;
	u32 _pad;
	char comm[16];
}; // 112 bytes

// exec_body.stdio: what fds 0 and 1 are (record.go: fdKinds).
enum { FK_NONE, FK_SOCKET, FK_PIPE, FK_TTY, FK_NULL, FK_FILE, FK_UNIX };

struct exec_body {
	u32 argv_len;
	u8 stdio[2]; // FK_* of fd 0 and fd 1
	u16 _pad;
	char dname[DNAME_SZ]; // the executable's file name (memfd:NAME for memfds)
	char filename[PATH_SZ]; // as passed to execve
	char exe[PATH_SZ]; // the executable's resolved path, "" if unresolved (path_of)
	char cwd[PATH_SZ]; // the working directory, likewise
	char argv[ARGV_SZ]; // NUL-separated, argv_len bytes sent
};

struct fork_body {
	u32 child_pid;
	u32 _pad;
	u64 child_start;
};

struct exit_body {
	s32 code;
	u32 _pad;
};

struct net_body {
	s32 fd;
	u16 family; // from the socket (0 if unknown)
	u16 type;
	u16 protocol;
	u16 sport; // host order
	u16 dport;
	u16 ulen; // bytes of uaddr
	u8 saddr[16];
	u8 daddr[16];
	u8 uaddr[SADDR_SZ]; // connect/bind: the sockaddr the caller passed
};

struct tcp_body {
	u16 family;
	u16 sport;
	u16 dport;
	u16 _pad;
	s32 oldstate;
	s32 newstate;
	u8 saddr[16];
	u8 daddr[16];
};

struct file_body {
	u32 flags; // open flags; rename and linkat flags
	u32 mode; // chmod: the mode; link: 1 symbolic, 0 hard
	char path[PATH_SZ]; // link: the target
	char path2[PATH_SZ]; // rename destination; link: the new link
};

struct cred_body {
	s64 args[3]; // requested ids (-1 = unchanged)
};

struct ptrace_body {
	s64 request;
	u32 target;
	u32 _pad;
};

struct memfd_body {
	u32 flags;
	u32 _pad;
	char name[PATH_SZ];
};

struct mount_body {
	u64 flags;
	char source[PATH_SZ];
	char target[PATH_SZ];
	char fstype[DNAME_SZ];
};

struct bpf_body {
	u32 cmd;
	u32 _pad;
	u8 attr[BPFATTR_SZ]; // head of union bpf_attr
};

struct module_body {
	s32 fd; // finit_module; -1 for init_module
	u32 _pad;
	char name[DNAME_SZ]; // finit_module: the file's name
	char args[PATH_SZ];
};

struct setns_body {
	u64 inum; // the namespace joined (an nsfs file's inode), 0 for a pidfd
	u32 nstype; // CLONE_NEW* asked for (0: any)
	u32 target; // a pidfd's process (init namespace's pid), 0 for an nsfs file
};

struct record {
	struct hdr h;
	union {
		struct exec_body exec;
		struct fork_body fork;
		struct exit_body exit;
		struct net_body net;
		struct tcp_body tcp;
		struct file_body file;
		struct cred_body cred;
		struct ptrace_body ptrace;
		struct memfd_body memfd;
		struct mount_body mount;
		struct bpf_body bpf;
		struct module_body module;
		struct setns_body setns;
	};
};

// A syscall between its enter and exit tracepoints.
struct inflight {
	u32 kind;
	u32 _pad;
	u64 args[6];
	char path[PATH_SZ]; // opens: the path as read (and matched) at entry
};

// The LPM key: a path prefix (prefixlen in bits) or, for lookups, a path.
struct path_key {
	u32 prefixlen;
	char path[PATH_SZ];
};

// Watched-path values: without PW_READS only opens for writing are
// reported (unlinks, renames and chmods always are). A PW_EXEC_ONLY
// prefix (Options.ExecPaths: /tmp/…) is not watched: only a chmod adding
// an execute bit there is reported.
#define PW_READS 1
#define PW_EXEC_ONLY 2

// watches says whether an LPM hit watches the file (is not exec-only).
static __always_inline bool watches(u32 *v)
{
	return v && !(*v & PW_EXEC_ONLY);
}

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); // resized from user space
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RK_MAX);
	__type(key, u32);
	__type(value, u64);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct record);
} scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct path_key);
} keybuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, u32);
	__type(value, struct inflight);
} inflights SEC(".maps");

// Stashes per record kind not yet reported (unstash): a count that an
// overwritten or abandoned stash leaves too high only costs lookups.
// Slot STASHED_ALL counts them all: while it is zero, syscall exits
// return at once (sys_exit).
#define STASHED_ALL RK_MAX
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, RK_MAX + 1);
	__type(key, u32);
	__type(value, s64);
} stashed SEC(".maps");

// Scratch for path_of: a path is built backwards in the first PATH_SZ
// bytes; the second half keeps every masked write in bounds.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, char[2 * PATH_SZ]);
} pathbuf SEC(".maps");

// Where processes run whose container user space has resolved (its
// cgroupKey: cgroup v2 id and mount namespace). An exec elsewhere wakes
// the reader at once, so that it reads /proc/PID/cgroup while the
// process, often short-lived, still runs; other execs are batched.
struct cgroup_key {
	u64 cgroup;
	u32 mntns;
	u32 _pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct cgroup_key);
	__type(value, u8);
} known_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 256);
	__type(key, struct path_key);
	__type(value, u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} watched SEC(".maps");

static __always_inline struct record *scratch_record(void)
{
	u32 zero = 0;
	return bpf_map_lookup_elem(&scratch, &zero);
}

static __always_inline void count_drop(u32 kind)
{
	u64 *n = bpf_map_lookup_elem(&drops, &kind);
	if (n)
		__sync_fetch_and_add(n, 1);
}

static __always_inline void fill_hdr(struct hdr *h, u32 kind)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	u64 id = bpf_get_current_pid_tgid();
	u64 ug = bpf_get_current_uid_gid();

	h->kind = kind;
	h->flags = 0;
	h->ktime = bpf_ktime_get_boot_ns();
	h->tid = (u32)id;
	h->pid = id >> 32;
	h->uid = (u32)ug;
	h->gid = ug >> 32;
	h->result = 0;
	h->cgroup = bpf_get_current_cgroup_id();
	h->start = BPF_CORE_READ(t, group_leader, start_boottime);
	h->ppid = BPF_CORE_READ(t, real_parent, tgid);
	h->euid = BPF_CORE_READ(t, cred, euid.val);
	h->egid = BPF_CORE_READ(t, cred, egid.val);
	h->cap_eff = BPF_CORE_READ(t, cred, cap_effective.val);
	h->cap_prm = BPF_CORE_READ(t, cred, cap_permitted.val);
	h->mntns = BPF_CORE_READ(t, nsproxy, mnt_ns, ns.inum);
	struct pid *tp = BPF_CORE_READ(t, thread_pid);
	unsigned int level = BPF_CORE_READ(tp, level);
	h->pidns = BPF_CORE_READ(tp, numbers[level].ns, ns.inum);
	if (BPF_CORE_READ(t, signal, tty))
		h->flags |= HF_TTY;
	// Running from an unlinked file (memfds too: tp_exec tells them apart).
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	if (exe && BPF_CORE_READ(exe, f_path.dentry, d_inode, __i_nlink) == 0)
		h->flags |= HF_EXE_DELETED;
	h->_pad = 0;
	bpf_get_current_comm(h->comm, sizeof(h->comm));
}

// Readers are woken in batches: a record other than an exec is queued
// without a wakeup unless WAKEUP_BYTES are waiting; the reader also polls every few
// milliseconds (load.go: pollEvery), which bounds the latency.
#define WAKEUP_BYTES (64 << 10)

static __always_inline void submit(struct record *r, u32 size)
{
	if (size > sizeof(*r))
		size = sizeof(*r);
	r->h.size = size;
	bool wake = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES;
	if (!wake && r->h.kind == RK_EXEC) {
		struct cgroup_key k = {.cgroup = r->h.cgroup, .mntns = r->h.mntns};
		wake = !bpf_map_lookup_elem(&known_cgroups, &k);
	}
	u64 flags = wake ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, r, size, flags))
		count_drop(r->h.kind);
}

// ---- processes ----

#define PATH_DEPTH 32 // path components path_of follows

// walk is path_of's state between path_step calls.
struct walk {
	struct dentry *d;
	struct mount *m;
	u64 mnt_off; // offsetof(struct mount, mnt), mnt_parent, mnt_mountpoint
	u64 parent_off;
	u64 mountpoint_off;
	u32 off; // the path so far is pathbuf[off..PATH_SZ-1)
	s32 state; // 0 walking, 1 done, -1 no path
};

// path_step prepends one component of the path (or crosses one mount) and
// says whether to stop. A bpf_loop callback: the verifier checks it once,
// not once per iteration of an unrolled walk.
static long path_step(u64 i, void *arg)
{
	struct walk *w = arg;
	u32 zero = 0;
	char *buf = bpf_map_lookup_elem(&pathbuf, &zero);
	if (!buf) {
		w->state = -1;
		return 1;
	}
	struct vfsmount *vm = (struct vfsmount *)((void *)w->m + w->mnt_off);
	struct dentry *d = w->d;
	struct dentry *root = BPF_CORE_READ(vm, mnt_root);
	struct dentry *parent = BPF_CORE_READ(d, d_parent);
	if (d == root || d == parent) {
		if (d != root) { // a pseudo file (memfd) or a disconnected dentry
			w->state = -1;
			return 1;
		}
		// struct mount's offsets come from path_of: CO-RE relocations
		// of it in this callback come out poisoned.
		struct mount *mp = 0;
		struct dentry *mpoint = 0;
		if (bpf_probe_read_kernel(&mp, sizeof(mp), (void *)w->m + w->parent_off) ||
		    bpf_probe_read_kernel(&mpoint, sizeof(mpoint), (void *)w->m + w->mountpoint_off)) {
			w->state = -1;
			return 1;
		}
		if (mp == w->m) { // the namespace's root
			w->state = 1;
			return 1;
		}
		w->d = mpoint; // continue above the mount point
		w->m = mp;
		return 0;
	}
	u32 len = BPF_CORE_READ(d, d_name.len);
	u32 off = w->off;
	if (len + 1 > off) { // too long
		w->state = -1;
		return 1;
	}
	off -= len + 1;
	buf[off & (PATH_SZ - 1)] = '/';
	if (bpf_probe_read_kernel(&buf[(off + 1) & (PATH_SZ - 1)], len & (PATH_SZ - 1), BPF_CORE_READ(d, d_name.name))) {
		w->state = -1;
		return 1;
	}
	w->off = off;
	w->d = parent;
	return 0;
}

// path_of writes the path of p, as seen from the root of its mount
// namespace, to out (PATH_SZ bytes, NUL-terminated), walking dentries up
// to their mount's root and mounts up to their parents the way the
// kernel's d_path does, and returns its length. A path deeper than
// PATH_DEPTH components or longer than PATH_SZ - 1 bytes is left "" and
// -1 returned (user space reads /proc then). Tracepoints may not call
// bpf_d_path.
static __always_inline long path_of(const struct path *p, char *out)
{
	out[0] = 0;
	if (!p)
		return -1;
	struct walk w = {};
	w.mnt_off = bpf_core_field_offset(struct mount, mnt);
	w.parent_off = bpf_core_field_offset(struct mount, mnt_parent);
	w.mountpoint_off = bpf_core_field_offset(struct mount, mnt_mountpoint);
	w.d = BPF_CORE_READ(p, dentry);
	w.m = (struct mount *)((void *)BPF_CORE_READ(p, mnt) - w.mnt_off);
	w.off = PATH_SZ - 1;
	bpf_loop(PATH_DEPTH, path_step, &w, 0);
	if (w.state != 1)
		return -1;
	u32 zero = 0;
	char *buf = bpf_map_lookup_elem(&pathbuf, &zero);
	if (!buf)
		return -1;
	u32 n = PATH_SZ - 1 - w.off;
	if (n == 0) {
		out[0] = '/';
		out[1] = 0;
		return 1;
	}
	if (n >= PATH_SZ || bpf_probe_read_kernel(out, n & (PATH_SZ - 1), &buf[w.off & (PATH_SZ - 1)]))
		return -1;
	out[n & (PATH_SZ - 1)] = 0;
	return n;
}

static __always_inline u8 fd_kind(struct task_struct *t, long fd);

SEC("tracepoint/sched/sched_process_exec")
int tp_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct record *r = scratch_record();
	if (!r)
		return 0;
	fill_hdr(&r->h, RK_EXEC);
	struct exec_body *b = &r->exec;

	unsigned int loc = BPF_CORE_READ(ctx, __data_loc_filename) & 0xFFFF;
	b->filename[0] = 0;
	bpf_probe_read_kernel_str(b->filename, sizeof(b->filename), (void *)ctx + loc);

	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct file *exe = BPF_CORE_READ(t, mm, exe_file);
	struct dentry *d = BPF_CORE_READ(exe, f_path.dentry);
	b->dname[0] = 0;
	bpf_probe_read_kernel_str(b->dname, sizeof(b->dname), BPF_CORE_READ(d, d_name.name));
	bool memfd = b->dname[0] == 'm' && b->dname[1] == 'e' && b->dname[2] == 'm' &&
		     b->dname[3] == 'f' && b->dname[4] == 'd' && b->dname[5] == ':';
	if (memfd) {
		r->h.flags |= HF_EXE_MEMFD;
		r->h.flags &= ~HF_EXE_DELETED;
	}

	path_of(exe ? &exe->f_path : 0, b->exe);
	struct fs_struct *fs = BPF_CORE_READ(t, fs);
	path_of(fs ? &fs->pwd : 0, b->cwd);

	unsigned long start = BPF_CORE_READ(t, mm, arg_start);
	unsigned long end = BPF_CORE_READ(t, mm, arg_end);
	u64 n = end > start ? end - start : 0;
	if (n > ARGV_SZ - 1)
		n = ARGV_SZ - 1;
	n &= ARGV_SZ - 1;
	if (n && bpf_probe_read_user(b->argv, n, (void *)start))
		n = 0;
	b->argv_len = n;
	b->stdio[0] = fd_kind(t, 0);
	b->stdio[1] = fd_kind(t, 1);
	b->_pad = 0;
	submit(r, sizeof(struct hdr) + offsetof(struct exec_body, argv) + n);
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int rtp_fork(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx->args[1];
	u32 cpid = BPF_CORE_READ(child, pid);
	u32 ctgid = BPF_CORE_READ(child, tgid);
	if (cpid != ctgid) // a new thread, not a process
		return 0;
	struct record *r = scratch_record();
	if (!r)
		return 0;
	fill_hdr(&r->h, RK_FORK);
	r->fork.child_pid = cpid;
	r->fork._pad = 0;
	r->fork.child_start = BPF_CORE_READ(child, start_boottime);
	submit(r, sizeof(struct hdr) + sizeof(struct fork_body));
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int tp_exit(void *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	if (BPF_CORE_READ(t, signal, live.counter) != 0) // other threads remain
		return 0;
	struct record *r = scratch_record();
	if (!r)
		return 0;
	fill_hdr(&r->h, RK_EXIT);
	r->exit.code = BPF_CORE_READ(t, exit_code);
	r->exit._pad = 0;
	submit(r, sizeof(struct hdr) + sizeof(struct exit_body));
	return 0;
}

// ---- syscalls: entry stash, exit report ----

// ---- system calls ----
//
// Two raw tracepoints, sys_enter and sys_exit, see every system call and
// tail-call the program for its number (enter_calls, exit_calls: filled by
// load.go from SYS_ENTER/SYS_EXIT sections). One per-syscall tracepoint
// (syscalls/sys_enter_openat) costs more than both together: the perf
// path behind it builds a trace record for every call before the program
// runs: two empty programs on sys_enter_openat/sys_exit_openat added
// ~16–23 % to an open+close loop on this VM, two empty raw ones ~10 %.
// Arguments come from the task's saved registers. 32-bit (ia32 compat)
// system calls — a 32-bit program, or int 0x80 from a 64-bit one — use
// other numbers and other registers: the dispatchers pick the second pair
// of tables (enter_calls32, exit_calls32, filled by ia32 number) and
// load_enter reads the ia32 argument registers, so the same programs
// judge both. Per-syscall tracepoints never reported compat calls, and a
// sensor that judges only native ones is evaded by one int 0x80.

struct sysenter {
	u64 args[6];
};

struct sysexit {
	long ret;
};

#define MAX_SYSCALLS 512

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, u32);
	__type(value, u32);
} enter_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, u32);
	__type(value, u32);
} exit_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, u32);
	__type(value, u32);
} enter_calls32 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, MAX_SYSCALLS);
	__type(key, u32);
	__type(value, u32);
} exit_calls32 SEC(".maps");

#define TS_COMPAT 0x0002

// The task and its saved registers are read through BTF pointers
// (bpf_get_current_task_btf, bpf_task_pt_regs): plain loads, where
// bpf_probe_read_kernel is a helper call each.
static __always_inline bool native_syscall(struct task_struct *t)
{
	return !(t->thread_info.status & TS_COMPAT);
}

SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	u32 nr = (u32)ctx->args[1];
	if (native_syscall(bpf_get_current_task_btf()))
		bpf_tail_call(ctx, &enter_calls, nr);
	else
		bpf_tail_call(ctx, &enter_calls32, nr);
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int sys_exit(struct bpf_raw_tracepoint_args *ctx)
{
	u32 all = STASHED_ALL;
	s64 *n = bpf_map_lookup_elem(&stashed, &all);
	if (n && *n <= 0)
		return 0; // nothing stashed: no exit to report
	struct task_struct *t = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	u32 nr = (u32)regs->orig_ax;
	if (native_syscall(t))
		bpf_tail_call(ctx, &exit_calls, nr);
	else
		bpf_tail_call(ctx, &exit_calls32, nr);
	return 0;
}

// load_enter reads the six argument registers: di, si, dx, r10, r8, r9
// for a native call; bx, cx, dx, si, di, bp (32 bits each) for an ia32 one.
static __always_inline bool load_enter(struct bpf_raw_tracepoint_args *raw, struct sysenter *c)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if (native_syscall(t)) {
		c->args[0] = regs->di;
		c->args[1] = regs->si;
		c->args[2] = regs->dx;
		c->args[3] = regs->r10;
		c->args[4] = regs->r8;
		c->args[5] = regs->r9;
	} else {
		c->args[0] = (u32)regs->bx;
		c->args[1] = (u32)regs->cx;
		c->args[2] = (u32)regs->dx;
		c->args[3] = (u32)regs->si;
		c->args[4] = (u32)regs->di;
		c->args[5] = (u32)regs->bp;
	}
	return true;
}

static __always_inline bool load_exit(struct bpf_raw_tracepoint_args *raw, struct sysexit *c)
{
	c->ret = (long)raw->args[1];
	return true;
}

// SYS_ENTER(name, fn) { body } defines program fn, run at the entry of
// system call name with ctx (struct sysenter *) holding its arguments;
// SYS_EXIT likewise at its exit with ctx->ret.
#define SYS_PROG(dir, name, fn)                                                 \
	static __always_inline int fn##_on(struct sys##dir *ctx);              \
	SEC("raw_tracepoint/sys_" #dir "_" #name)                              \
	int fn(struct bpf_raw_tracepoint_args *raw)                            \
	{                                                                       \
		struct sys##dir c;                                              \
		if (!load_##dir(raw, &c))                                       \
			return 0;                                               \
		return fn##_on(&c);                                             \
	}                                                                       \
	static __always_inline int fn##_on(struct sys##dir *ctx)

#define SYS_ENTER(name, fn) SYS_PROG(enter, name, fn)
#define SYS_EXIT(name, fn) SYS_PROG(exit, name, fn)

// Record kinds user space does not want (bit 1 << RK_*; Sensor.Deliver):
// their syscalls are neither stashed nor reported. Exec, fork and exit
// are always reported: the process cache needs them.
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} unwanted SEC(".maps");

static __always_inline bool wanted(u32 kind)
{
	u32 zero = 0;
	u64 *m = bpf_map_lookup_elem(&unwanted, &zero);
	return !m || !(*m & (1ULL << (kind & 63)));
}

// stashed_add counts the stashes of a kind not yet reported.
static __always_inline void stashed_add(u32 kind, s64 d)
{
	s64 *n = bpf_map_lookup_elem(&stashed, &kind);
	if (n)
		__sync_fetch_and_add(n, d);
	u32 all = STASHED_ALL;
	n = bpf_map_lookup_elem(&stashed, &all);
	if (n)
		__sync_fetch_and_add(n, d);
}

// stash remembers a syscall's first nargs arguments until its exit.
static __always_inline void stash(struct sysenter *ctx, u32 kind, int nargs)
{
	if (!wanted(kind))
		return;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct inflight in = {};
	in.kind = kind;
	// Only the first nargs: the others are left zero.
	for (int i = 0; i < 6; i++)
		if (i < nargs)
			in.args[i] = ctx->args[i];
	if (!bpf_map_update_elem(&inflights, &tid, &in, BPF_ANY))
		stashed_add(kind, 1);
}

// unstash returns this thread's stash of kind. When none of that kind is
// pending anywhere (opens: unless the path was watched) it returns at once,
// without a hash lookup: exits of unwatched opens cost a counter read.
static __always_inline struct inflight *unstash(u32 kind)
{
	s64 *n = bpf_map_lookup_elem(&stashed, &kind);
	if (n && *n <= 0)
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct inflight *in = bpf_map_lookup_elem(&inflights, &tid);
	if (!in || in->kind != kind)
		return 0;
	return in;
}

// unstash_done drops the stash unstash returned.
static __always_inline void unstash_done(struct inflight *in)
{
	u32 kind = in->kind;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	if (!bpf_map_delete_elem(&inflights, &tid))
		stashed_add(kind, -1);
}

static __always_inline struct file *fd_file(struct task_struct *t, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	unsigned int max = BPF_CORE_READ(fdt, max_fds);
	if (fd < 0 || fd >= max)
		return 0;
	struct file **arr = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	bpf_probe_read_kernel(&f, sizeof(f), &arr[fd]);
	return f;
}

// fd_kind classifies an open fd as /proc/PID/fd's link would
// (procfs.go: linkKind): socket, pipe, tty (pts, tty*, console), null,
// file; and Unix sockets apart from network ones, which the link does not
// tell.
static __always_inline u8 fd_kind(struct task_struct *t, long fd)
{
	struct file *f = fd_file(t, fd);
	if (!f)
		return FK_NONE;
	struct inode *ino = BPF_CORE_READ(f, f_inode);
	umode_t mode = BPF_CORE_READ(ino, i_mode);
	switch (mode & S_IFMT) {
	case S_IFSOCK: {
		// A Unix socket (a service's socket activation, a supervisor's
		// stream) is not a network peer.
		struct socket *sock = BPF_CORE_READ(f, private_data);
		u16 family = BPF_CORE_READ(sock, sk, __sk_common.skc_family);
		return family == AF_UNIX ? FK_UNIX : FK_SOCKET;
	}
	case S_IFIFO:
		return FK_PIPE;
	case S_IFCHR: {
		u32 rdev = BPF_CORE_READ(ino, i_rdev);
		u32 major = rdev >> 20, minor = rdev & 0xfffff;
		if (major == 1 && minor == 3)
			return FK_NULL;
		if (major == 4 || major == 5 || (major >= 136 && major <= 143))
			return FK_TTY;
		return FK_FILE;
	}
	}
	return FK_FILE;
}

// sock_of returns the socket behind fd, or NULL if fd is not a socket.
static __always_inline struct sock *sock_of(long fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct file *f = fd_file(t, fd);
	if (!f)
		return 0;
	umode_t mode = BPF_CORE_READ(f, f_inode, i_mode);
	if ((mode & S_IFMT) != S_IFSOCK)
		return 0;
	struct socket *s = BPF_CORE_READ(f, private_data);
	return BPF_CORE_READ(s, sk);
}

static __always_inline void fill_sock(struct net_body *b, struct sock *sk)
{
	b->family = 0;
	b->type = 0;
	b->protocol = 0;
	b->sport = 0;
	b->dport = 0;
	__builtin_memset(b->saddr, 0, sizeof(b->saddr));
	__builtin_memset(b->daddr, 0, sizeof(b->daddr));
	if (!sk)
		return;
	b->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	b->type = BPF_CORE_READ(sk, sk_type);
	b->protocol = BPF_CORE_READ(sk, sk_protocol);
	if (b->family == AF_INET) {
		bpf_core_read(b->saddr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(b->daddr, 4, &sk->__sk_common.skc_daddr);
	} else if (b->family == AF_INET6) {
		bpf_core_read(b->saddr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(b->daddr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	if (b->family == AF_INET || b->family == AF_INET6) {
		b->sport = BPF_CORE_READ(sk, __sk_common.skc_num);
		b->dport = __builtin_bswap16(BPF_CORE_READ(sk, __sk_common.skc_dport));
	}
}

static __always_inline void net_exit(struct sysexit *ctx, u32 kind, int with_uaddr)
{
	struct inflight *in = unstash(kind);
	if (!in)
		return;
	struct record *r = scratch_record();
	// A non-blocking accept with nothing to accept (every event-loop
	// server makes one after each connection) is noise.
	if (!r || (kind == RK_ACCEPT && ctx->ret == -EAGAIN)) {
		unstash_done(in);
		return;
	}
	fill_hdr(&r->h, kind);
	r->h.result = ctx->ret;
	struct net_body *b = &r->net;
	long fd = kind == RK_ACCEPT ? ctx->ret : (long)in->args[0];
	b->fd = fd;
	b->ulen = 0;
	fill_sock(b, ctx->ret >= 0 || ctx->ret == -EINPROGRESS ? sock_of(fd) : sock_of((long)in->args[0]));
	if (with_uaddr) {
		u64 len = in->args[2];
		if (len > SADDR_SZ)
			len = SADDR_SZ;
		if (len && !bpf_probe_read_user(b->uaddr, len & 0x7f, (void *)in->args[1]))
			b->ulen = len;
	}
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct net_body));
}

SYS_ENTER(connect, enter_connect) { stash(ctx, RK_CONNECT, 3); return 0; }
SYS_EXIT(connect, exit_connect) { net_exit(ctx, RK_CONNECT, 1); return 0; }

SYS_ENTER(bind, enter_bind) { stash(ctx, RK_BIND, 3); return 0; }
SYS_EXIT(bind, exit_bind) { net_exit(ctx, RK_BIND, 1); return 0; }

SYS_ENTER(listen, enter_listen) { stash(ctx, RK_LISTEN, 2); return 0; }
SYS_EXIT(listen, exit_listen) { net_exit(ctx, RK_LISTEN, 0); return 0; }

SYS_ENTER(accept4, enter_accept4) { stash(ctx, RK_ACCEPT, 4); return 0; }
SYS_EXIT(accept4, exit_accept4) { net_exit(ctx, RK_ACCEPT, 0); return 0; }

SYS_ENTER(accept, enter_accept) { stash(ctx, RK_ACCEPT, 3); return 0; }
SYS_EXIT(accept, exit_accept) { net_exit(ctx, RK_ACCEPT, 0); return 0; }

// socketcall (ia32 only: no native number) is the one entry older 32-bit
// code — and most 32-bit shellcode — makes every socket call through:
// socketcall(call, args) with args an array of 32-bit words in user
// memory. Its connect, bind, listen, accept and accept4 are stashed with
// their arguments unpacked, as the direct calls stash theirs.
static __always_inline void socketcall_stash(struct sysenter *ctx, u32 kind, int nargs)
{
	u32 a[4] = {};
	struct sysenter c = {};
	long err;
	if (nargs == 2)
		err = bpf_probe_read_user(a, 2 * sizeof(u32), (void *)ctx->args[1]);
	else if (nargs == 3)
		err = bpf_probe_read_user(a, 3 * sizeof(u32), (void *)ctx->args[1]);
	else
		err = bpf_probe_read_user(a, 4 * sizeof(u32), (void *)ctx->args[1]);
	if (err)
		return;
	c.args[0] = a[0];
	c.args[1] = a[1];
	c.args[2] = a[2];
	c.args[3] = a[3];
	stash(&c, kind, nargs);
}

SYS_ENTER(socketcall, enter_socketcall)
{
	switch (ctx->args[0]) {
	case 2: // SYS_BIND
		socketcall_stash(ctx, RK_BIND, 3);
		break;
	case 3: // SYS_CONNECT
		socketcall_stash(ctx, RK_CONNECT, 3);
		break;
	case 4: // SYS_LISTEN
		socketcall_stash(ctx, RK_LISTEN, 2);
		break;
	case 5: // SYS_ACCEPT
		socketcall_stash(ctx, RK_ACCEPT, 3);
		break;
	case 18: // SYS_ACCEPT4
		socketcall_stash(ctx, RK_ACCEPT, 4);
		break;
	}
	return 0;
}

SYS_EXIT(socketcall, exit_socketcall)
{
	// The call number is still in the saved bx.
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	switch ((u32)regs->bx) {
	case 2:
		net_exit(ctx, RK_BIND, 1);
		break;
	case 3:
		net_exit(ctx, RK_CONNECT, 1);
		break;
	case 4:
		net_exit(ctx, RK_LISTEN, 0);
		break;
	case 5:
	case 18:
		net_exit(ctx, RK_ACCEPT, 0);
		break;
	}
	return 0;
}

SEC("tracepoint/sock/inet_sock_set_state")
int tp_tcp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP || !wanted(RK_TCP_STATE))
		return 0;
	struct record *r = scratch_record();
	if (!r)
		return 0;
	fill_hdr(&r->h, RK_TCP_STATE);
	struct tcp_body *b = &r->tcp;
	b->family = ctx->family;
	b->sport = ctx->sport;
	b->dport = ctx->dport;
	b->_pad = 0;
	b->oldstate = ctx->oldstate;
	b->newstate = ctx->newstate;
	// Copied by helper: the verifier refuses loads through a moved ctx pointer.
	__builtin_memset(b->saddr, 0, 16);
	__builtin_memset(b->daddr, 0, 16);
	if (ctx->family == AF_INET6) {
		bpf_probe_read_kernel(b->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(b->daddr, 16, ctx->daddr_v6);
	} else {
		bpf_probe_read_kernel(b->saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(b->daddr, 4, ctx->daddr);
	}
	submit(r, sizeof(struct hdr) + sizeof(struct tcp_body));
	return 0;
}

// ---- files on watched paths ----

// scan is magic_step's state over the key buffer's path (n bytes read,
// NUL included).
struct scan {
	long n;
	bool found;
};

static __always_inline char *key_path(void)
{
	u32 zero = 0;
	struct path_key *k = bpf_map_lookup_elem(&keybuf, &zero);
	return k ? k->path : 0;
}

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

// bytes_eq has 0x80 in each byte of w equal to c, 0 in the others
// (exact: no borrow crosses bytes).
static __always_inline u64 bytes_eq(u64 w, u8 c)
{
	u64 x = w ^ (ONES * c);
	return ~(((x & ~HIGHS) + ~HIGHS) | x) & HIGHS;
}

// alias_word says whether one of the 8 bytes of p from i, before the
// NUL at n - 1, is a '/' starting "//", "/./" or "/../" (or a final "/."
// or "/..") — word-wide, without a loop over bytes. Bytes past the NUL
// (what an earlier, longer path left) only ever meet a NUL or a '.' test
// that already failed.
static __always_inline bool alias_word(const char *p, long n, u64 i)
{
	u64 c0 = *(u64 *)(p + i), c1 = *(u64 *)(p + i + 1);
	u64 c2 = *(u64 *)(p + i + 2), c3 = *(u64 *)(p + i + 3);
	u64 slash = bytes_eq(c0, '/');
	u64 left = n - 1 - i; // bytes before the NUL from i
	if (left < 8)
		slash &= (1ULL << (8 * left)) - 1;
	u64 dot1 = bytes_eq(c1, '.');
	u64 end2 = bytes_eq(c2, '/') | bytes_eq(c2, 0);
	u64 end3 = bytes_eq(c3, '/') | bytes_eq(c3, 0);
	return slash & (bytes_eq(c1, '/') | (dot1 & end2) | (dot1 & bytes_eq(c2, '.') & end3));
}

// alias_scan runs alias_word over the key buffer's path, n bytes read
// (NUL included, at most PATH_SZ - 16): a few instructions a word. A
// global function, which the verifier checks once, on its own, not at
// each call.
__noinline int alias_scan(long n)
{
	char *p = key_path();
	if (!p || n > PATH_SZ - 16)
		return true;
	for (u64 i = 0; i < PATH_SZ - 16; i += 8) {
		if (i + 1 >= n)
			break;
		if (alias_word(p, n, i))
			return true;
	}
	return false;
}

// magic_step looks at byte i of a /proc path: a component named root,
// cwd, fd or map_files (under /proc/PID, self, thread-self, task/TID:
// a false alarm costs one resolution at the exit).
static long magic_step(u64 i, void *arg)
{
	struct scan *s = arg;
	char *p = key_path();
	if (!p || i + 1 >= s->n || i >= PATH_SZ - 8)
		return 1;
	if (p[i] != '/')
		return 0;
	char a = p[i + 1], b = p[i + 2], c = p[i + 3], d = p[i + 4], e = p[i + 5];
	if ((a == 'r' && b == 'o' && c == 'o' && d == 't' && (e == '/' || e == 0)) ||
	    (a == 'c' && b == 'w' && c == 'd' && (d == '/' || d == 0)) ||
	    (a == 'f' && b == 'd' && (c == '/' || c == 0)) ||
	    (a == 'm' && b == 'a' && c == 'p' && d == '_' && e == 'f')) {
		s->found = true;
		return 1;
	}
	return 0;
}

// aliased reports whether the absolute path in the key buffer, n bytes
// read (NUL included), may name its file by other than its plain
// components: "//", "/./" or "/../" (also at the end), a /proc magic link
// (/proc/PID/root, cwd, fd, map_files; /dev/fd), which open follows to
// wherever it points, or a path of more than 239 bytes. A
// prefix match on such a string says nothing of the file it opens
// ("//etc/shadow", "/etc/ssh/../shadow", "/proc/self/root/etc/shadow"):
// its file is resolved at the exit instead.
static __always_inline bool aliased(const char *p, long n)
{
	if (n > PATH_SZ - 16) // long paths are resolved (alias_word's loads stay in bounds)
		return true;
	if (alias_scan(n))
		return true;
	struct scan s = {.n = n};
	if (n > 8 && p[0] == '/' && p[1] == 'd' && p[2] == 'e' && p[3] == 'v' && p[4] == '/' &&
	    p[5] == 'f' && p[6] == 'd' && p[7] == '/')
		return true;
	if (n < 7 || p[1] != 'p' || p[2] != 'r' || p[3] != 'o' || p[4] != 'c' || p[5] != '/')
		return false;
	bpf_loop(PATH_SZ, magic_step, &s, 0);
	return s.found;
}

// An open's stash says, in args[2], how its file is known at the exit:
// by the path read at the entry (0), from the opened file (RESOLVE_PATH),
// or — open_by_handle_at — from the file alone (RESOLVE_HANDLE).
#define RESOLVE_PATH 1
#define RESOLVE_HANDLE 2

// proc_mem says whether the path in the key buffer, n bytes read, is a
// process's memory file (/proc/PID/mem, /proc/PID/task/TID/mem): reading
// another process's memory is reported wherever /proc is watched or not.
static __always_inline bool proc_mem(const char *p, long n)
{
	if (n < 12 || n > PATH_SZ || p[1] != 'p' || p[2] != 'r' || p[3] != 'o' || p[4] != 'c' || p[5] != '/')
		return false;
	u32 e = n - 5; // "/mem" before the NUL
	return p[e & (PATH_SZ - 1)] == '/' && p[(e + 1) & (PATH_SZ - 1)] == 'm' &&
	       p[(e + 2) & (PATH_SZ - 1)] == 'e' && p[(e + 3) & (PATH_SZ - 1)] == 'm';
}

// release_agent says whether dentry d is a cgroup v1 release_agent or
// notify_on_release file: written wherever the hierarchy is mounted (the
// classic escape mounts it under /tmp), it is reported.
static __always_inline bool release_agent(struct dentry *d)
{
	char name[20] = {};
	bpf_probe_read_kernel_str(name, sizeof(name), BPF_CORE_READ(d, d_name.name));
	const char *a = "release_agent", *b = "notify_on_release";
	bool ra = true, nr = true;
	for (int i = 0; i < 18; i++) {
		if (i < 14 && name[i] != a[i])
			ra = false;
		if (name[i] != b[i])
			nr = false;
	}
	return ra || nr;
}

// other_mnt says whether file f is in another mount namespace than the
// current process: a file reached through /proc/PID/root of a process
// elsewhere — from a container sharing the host's PID namespace, the
// host's own files.
static __always_inline bool other_mnt(struct file *f)
{
	u64 off = bpf_core_field_offset(struct mount, mnt);
	struct mount *m = (struct mount *)((void *)BPF_CORE_READ(f, f_path.mnt) - off);
	struct mnt_namespace *ns = 0;
	bpf_probe_read_kernel(&ns, sizeof(ns), (void *)m + bpf_core_field_offset(struct mount, mnt_ns));
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	return ns && ns != BPF_CORE_READ(t, nsproxy, mnt_ns);
}

// stash_open stashes an open: its flags, mode, how its file is known at
// the exit (RESOLVE_*) and the path as read (path[0] == 0: none). The
// entry is built in the scratch record: it holds a path, too large for
// the stack.
static __always_inline void stash_open(u64 flags, u64 mode, u64 how, const char *path)
{
	struct record *r = scratch_record();
	if (!r)
		return;
	struct inflight *in = (struct inflight *)r;
	in->kind = RK_OPEN;
	in->_pad = 0;
	in->args[0] = flags;
	in->args[1] = mode;
	in->args[2] = how;
	in->path[0] = 0;
	if (path[0])
		__builtin_memcpy(in->path, path, PATH_SZ);
	u32 tid = (u32)bpf_get_current_pid_tgid();
	if (!bpf_map_update_elem(&inflights, &tid, in, BPF_ANY))
		stashed_add(RK_OPEN, 1);
}

// open_enter stashes an open whose path is watched and either opened for
// writing or under a read-watched prefix (PW_READS). It stashes, to be
// resolved at the exit by the file opened, every open of a relative
// path, of an aliased one (aliased) and every open for writing its
// prefix match missed: a symbolic link can lead anywhere, and a write
// is rare enough to be resolved. An unwatched absolute read costs one
// string read, one scan of it and one LPM lookup, and never reaches user
// space.
static __always_inline void open_enter(const char *upath, u64 flags, u64 mode)
{
	if (!wanted(RK_OPEN))
		return;
	u32 zero = 0;
	struct path_key *k = bpf_map_lookup_elem(&keybuf, &zero);
	if (!k)
		return;
	long n = bpf_probe_read_user_str(k->path, sizeof(k->path), upath);
	if (n == 0 || n == 1)
		return;
	// A path not readable now (see path_lookup) is resolved at the exit
	// by its file, as a relative one is.
	bool resolve = n < 0 || k->path[0] != '/';
	if (!resolve) {
		k->prefixlen = (n - 1) * 8; // without the NUL
		u32 *v = bpf_map_lookup_elem(&watched, k);
		if (watches(v) && ((*v & PW_READS) || (flags & WRITE_FLAGS)))
			resolve = aliased(k->path, n);
		else if (flags & WRITE_FLAGS)
			resolve = true;
		else if (aliased(k->path, n))
			resolve = true;
		else if (!proc_mem(k->path, n))
			return;
	} else if (n < 0) {
		k->path[0] = 0; // not read: nothing of an earlier path
	}
	stash_open(flags, mode, resolve ? RESOLVE_PATH : 0, k->path);
}

SYS_ENTER(openat, enter_openat)
{
	open_enter((const char *)ctx->args[1], ctx->args[2], ctx->args[3]);
	return 0;
}

SYS_ENTER(open, enter_open)
{
	open_enter((const char *)ctx->args[0], ctx->args[1], ctx->args[2]);
	return 0;
}

SYS_ENTER(creat, enter_creat)
{
	open_enter((const char *)ctx->args[0], O_CREAT | O_WRONLY | O_TRUNC, ctx->args[1]);
	return 0;
}

// open_by_handle_at(mount_fd, handle, flags) opens a file by its file
// handle, no path at all: stashed to be reported at the exit.
SYS_ENTER(open_by_handle_at, enter_open_by_handle_at)
{
	if (wanted(RK_OPEN))
		stash_open(ctx->args[2], 0, RESOLVE_HANDLE, "");
	return 0;
}
SYS_ENTER(openat2, enter_openat2)
{
	u64 how[2] = {}; // struct open_how: flags, mode
	bpf_probe_read_user(how, sizeof(how), (void *)ctx->args[2]);
	open_enter((const char *)ctx->args[1], how[0], how[1]);
	return 0;
}

static __always_inline void open_exit(struct sysexit *ctx)
{
	struct inflight *in = unstash(RK_OPEN);
	if (!in)
		return;
	struct record *r = scratch_record();
	if (!r) {
		unstash_done(in);
		return;
	}
	u64 flags = in->args[0];
	bool by_handle = in->args[2] == RESOLVE_HANDLE;
	if (by_handle) {
		// No path was given: every one is reported, attempts included
		// (the "shocker" escape guesses handles of the host's files from
		// a container); the path is the file's where it can be walked.
		struct file *f = ctx->ret >= 0 ? fd_file((struct task_struct *)bpf_get_current_task(), ctx->ret) : 0;
		if (!f || path_of(&f->f_path, r->file.path) <= 0)
			r->file.path[0] = 0;
		fill_hdr(&r->h, RK_OPEN);
		r->h.flags |= HF_BY_HANDLE | (f && other_mnt(f) ? HF_OTHER_MNT : 0);
		r->file.path2[0] = 0;
	} else if (in->args[2]) {
		// A path to resolve: what was opened is known now, by its file.
		u32 zero = 0;
		struct path_key *k = bpf_map_lookup_elem(&keybuf, &zero);
		struct file *f = ctx->ret >= 0 ? fd_file((struct task_struct *)bpf_get_current_task(), ctx->ret) : 0;
		long n = f ? path_of(&f->f_path, r->file.path) : -1;
		if (!k || n <= 0) {
			unstash_done(in);
			return;
		}
		__builtin_memcpy(k->path, r->file.path, PATH_SZ);
		k->prefixlen = (n & (PATH_SZ - 1)) * 8;
		u32 *v = bpf_map_lookup_elem(&watched, k);
		u32 hf = 0;
		if (!watches(v) || (!(*v & PW_READS) && !(flags & WRITE_FLAGS))) {
			// Not watched by its path; still news: a release_agent
			// written, a file of another mount namespace.
			if (other_mnt(f))
				hf = HF_OTHER_MNT;
			else if (!((flags & WRITE_FLAGS) && release_agent(BPF_CORE_READ(f, f_path.dentry)))) {
				unstash_done(in);
				return;
			}
		}
		fill_hdr(&r->h, RK_OPEN);
		r->h.flags |= hf;
		__builtin_memcpy(r->file.path2, in->path, PATH_SZ); // as written
	} else {
		__builtin_memcpy(r->file.path, in->path, PATH_SZ);
		fill_hdr(&r->h, RK_OPEN);
		r->file.path2[0] = 0;
	}
	r->h.result = ctx->ret;
	r->file.flags = flags;
	r->file.mode = in->args[1];
	bool resolved = in->args[2] == RESOLVE_PATH;
	unstash_done(in);
	submit(r, sizeof(struct hdr) + (resolved ? sizeof(struct file_body) : offsetof(struct file_body, path2)));
}

SYS_EXIT(openat, exit_openat) { open_exit(ctx); return 0; }
SYS_EXIT(open, exit_open) { open_exit(ctx); return 0; }
SYS_EXIT(creat, exit_creat) { open_exit(ctx); return 0; }
SYS_EXIT(openat2, exit_openat2) { open_exit(ctx); return 0; }
SYS_EXIT(open_by_handle_at, exit_open_by_handle_at) { open_exit(ctx); return 0; }

#define AT_FDCWD -100

// dir_of is the directory a relative path of a *at call starts from:
// dirfd's file, or the working directory for AT_FDCWD.
static __always_inline const struct path *dir_of(long dirfd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	if ((int)dirfd == AT_FDCWD) {
		struct fs_struct *fs = BPF_CORE_READ(t, fs);
		return fs ? &fs->pwd : 0;
	}
	struct file *f = fd_file(t, (int)dirfd);
	return f ? &f->f_path : 0;
}

// read_str reads a string from kernel memory (kern) or user memory.
static __always_inline long read_str(char *dst, u32 size, const char *src, bool kern)
{
	return kern ? bpf_probe_read_kernel_str(dst, size, src) : bpf_probe_read_user_str(dst, size, src);
}

// join_at_k writes to out the path of dirfd's directory, a '/' and the
// relative path rel (in kernel memory if kern, else the caller's), and
// returns its length (NUL excluded), or -1. out has PATH_SZ bytes of
// room past its PATH_SZ (a scratch record's). join_at is for a system
// call's argument.
static __always_inline long join_at_k(long dirfd, const char *rel, char *out, bool kern)
{
	long n = path_of(dir_of(dirfd), out);
	if (n <= 0)
		return -1;
	u32 off = n == 1 ? 1 : n + 1; // "/" + rel, or dir + "/" + rel
	out[(off - 1) & (PATH_SZ - 1)] = '/';
	long m = read_str(out + (off & (PATH_SZ - 1)), PATH_SZ, rel, kern);
	if (m <= 0)
		return -1;
	long total = off + m - 1;
	if (total >= PATH_SZ) {
		out[PATH_SZ - 1] = 0;
		return -1;
	}
	return total;
}

static __always_inline long join_at(long dirfd, const char *rel, char *out)
{
	return join_at_k(dirfd, rel, out, false);
}

// lookup_at reads a path (relative to dirfd; in kernel memory if kern,
// else the caller's) to out — joined to its directory's when relative
// (join_at_k; out has room past PATH_SZ) — and looks it up in the watched
// prefixes: 1 found (its value in *val), 0 not, -1 for user space to
// judge. User space judges a path not readable now (a system call's
// entry can find it on a page the process never touched yet — a static
// program's read-only data, say — and a tracepoint program cannot fault
// pages in; the exit reads it again), an aliased one (aliased: user space
// cleans "//", "." and "..") and one it could not join: skipping those
// would let any program hide a call by its string.
static __always_inline int lookup_at(long dirfd, const char *name, bool kern, char *out, u32 *val)
{
	u32 zero = 0;
	struct path_key *k = bpf_map_lookup_elem(&keybuf, &zero);
	if (!k)
		return 0;
	long n = read_str(out, PATH_SZ, name, kern);
	if (n < 0)
		return -1;
	if (n <= 1)
		return 0;
	if (out[0] != '/') {
		long m = join_at_k(dirfd, name, out, kern);
		if (m <= 0)
			return -1;
		n = m + 1;
	}
	__builtin_memcpy(k->path, out, PATH_SZ);
	if (aliased(k->path, n))
		return -1;
	k->prefixlen = ((n - 1) & (PATH_SZ - 1)) * 8; // without the NUL
	u32 *v = bpf_map_lookup_elem(&watched, k);
	if (!v)
		return 0;
	*val = *v;
	return 1;
}

// path_lookup is lookup_at for a system call's path argument, built in
// the scratch record.
static __always_inline int path_lookup(long dirfd, const char *upath, u32 *val)
{
	struct record *r = scratch_record();
	return r ? lookup_at(dirfd, upath, false, r->file.path, val) : -1;
}

static __always_inline int path_watched(long dirfd, const char *upath)
{
	u32 v = 0;
	int w = path_lookup(dirfd, upath, &v);
	return w > 0 && (v & PW_EXEC_ONLY) ? 0 : w;
}

// path_enter stashes a path syscall when p1 (or, for renames, p2),
// relative to d1 (d2), is watched or for user space to judge
// (path_watched). The paths are passed as pointers: the verifier refuses
// a variable index into the context.
static __always_inline void path_enter(struct sysenter *ctx, u32 kind, int nargs, long d1, const char *p1, long d2, const char *p2)
{
	if (!wanted(kind))
		return;
	if (!path_watched(d1, p1)) {
		if (!p2 || !path_watched(d2, p2))
			return;
	}
	stash(ctx, kind, nargs);
}

#define NOJOIN -2

// path_arg writes path argument pi, relative to the directory fd in
// argument di (-1: the working directory; NOJOIN: left relative), to
// out: joined to the directory's path when relative (out has room past
// PATH_SZ), as read otherwise, "" when pi < 0.
static __always_inline void path_arg(struct inflight *in, int pi, int di, char *out)
{
	out[0] = 0;
	if (pi < 0 || pi >= 6)
		return;
	const char *p = (const char *)in->args[pi];
	char c = 0;
	bpf_probe_read_user(&c, 1, p);
	if (c != '/' && di != NOJOIN && join_at(di >= 0 && di < 6 ? (long)in->args[di] : AT_FDCWD, p, out) > 0)
		return;
	bpf_probe_read_user_str(out, PATH_SZ, p);
}

// LINK_SYMBOLIC as path_exit's mi: the mode field says 1, a symbolic
// link (a link's is 1 symbolic, 0 hard).
#define LINK_SYMBOLIC -3

// path_exit reports a stashed path syscall: path arguments pi and pi2
// (relative to the directory fds in di, di2: path_arg; a link's target
// first, NOJOIN for a symbolic link's, which is relative to the link)
// read again, flags and mode from args[fi], args[mi].
static __always_inline void path_exit(struct sysexit *ctx, u32 kind, int pi, int di, int pi2, int di2, int fi, int mi)
{
	struct inflight *in = unstash(kind);
	if (!in)
		return;
	struct record *r = scratch_record();
	if (!r) {
		unstash_done(in);
		return;
	}
	fill_hdr(&r->h, kind);
	r->h.result = ctx->ret;
	struct file_body *b = &r->file;
	b->flags = fi >= 0 && fi < 6 ? in->args[fi] : 0;
	b->mode = mi == LINK_SYMBOLIC ? 1 : mi >= 0 && mi < 6 ? in->args[mi] : 0;
	path_arg(in, pi, di, b->path); // first: its join may write into path2
	path_arg(in, pi2, di2, b->path2);
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct file_body));
}

// A link is reported when the new link's path is watched (a symbolic
// link planted where a unit, a cron job or ld.so.preload is read) or when
// its target is read-watched: a hard link to /etc/shadow, or a symbolic
// link to it, is a name no prefix matches, by which the file is then read
// unseen. A relative symbolic link target without ".." stays in the
// link's own directory (the new path's match covers it); one with ".."
// (and an aliased absolute one) goes to user space, which resolves it
// against the link's directory.
//
// target_lookup judges a symbolic link's target as written (in kernel
// memory if kern), copied to out: 1 read-watched, 0 not, -1 for user
// space.
static __always_inline int target_lookup(const char *target, bool kern, char *out)
{
	u32 zero = 0;
	struct path_key *k = bpf_map_lookup_elem(&keybuf, &zero);
	if (!k)
		return 0;
	long n = read_str(out, PATH_SZ, target, kern);
	if (n < 0)
		return -1;
	if (n <= 1)
		return 0;
	if (out[0] != '/') {
		if (n > 3 && out[0] == '.' && out[1] == '.' && out[2] == '/')
			return -1;
		__builtin_memcpy(k->path, out, PATH_SZ);
		return alias_scan(n) ? -1 : 0;
	}
	u32 v = 0;
	int w = lookup_at(AT_FDCWD, target, kern, out, &v);
	return w < 0 ? -1 : w && (v & PW_READS);
}

static __always_inline int link_target(const char *target)
{
	struct record *r = scratch_record();
	return r ? target_lookup(target, false, r->file.path) : -1;
}

// hard_target is link_target for a hard link's existing path (relative
// to dirfd).
static __always_inline int hard_target(long dirfd, const char *old)
{
	u32 v = 0;
	int w = path_lookup(dirfd, old, &v);
	return w < 0 ? -1 : w && (v & PW_READS);
}

static __always_inline void link_enter(struct sysenter *ctx, int nargs, bool symbolic, long od, const char *old, long nd, const char *newp)
{
	if (!wanted(RK_LINK))
		return;
	if (!path_watched(nd, newp) && !(symbolic ? link_target(old) : hard_target(od, old)))
		return;
	stash(ctx, RK_LINK, nargs);
}

// fd_lookup looks fd's file up in the watched prefixes (its path walked
// in the kernel): the prefix's value, -1 if none. fchmod and ftruncate
// name their file by fd.
static __always_inline long fd_lookup(long fd)
{
	u32 zero = 0;
	struct path_key *k = bpf_map_lookup_elem(&keybuf, &zero);
	struct record *r = scratch_record();
	struct file *f = fd_file((struct task_struct *)bpf_get_current_task(), fd);
	if (!k || !r || !f)
		return -1;
	long n = path_of(&f->f_path, r->file.path);
	if (n <= 0)
		return -1;
	__builtin_memcpy(k->path, r->file.path, PATH_SZ);
	k->prefixlen = (n & (PATH_SZ - 1)) * 8;
	u32 *v = bpf_map_lookup_elem(&watched, k);
	return v ? *v : -1;
}

// chmod_wanted says whether a chmod to mode of a file whose prefix value
// is v (-1: none; -2: for user space to judge) is reported: on a watched
// path, wherever it sets the setuid or setgid bit, and under an exec
// prefix when it adds an execute bit.
static __always_inline bool chmod_wanted(long v, u64 mode)
{
	if (mode & 06000)
		return true;
	if (v == -2)
		return true;
	if (v < 0)
		return false;
	return !(v & PW_EXEC_ONLY) || (mode & 0111);
}

static __always_inline void chmod_enter(struct sysenter *ctx, int nargs, long dfd, const char *p, u64 mode)
{
	if (!wanted(RK_CHMOD))
		return;
	u32 v = 0;
	int w = path_lookup(dfd, p, &v);
	if (chmod_wanted(w < 0 ? -2 : w == 0 ? -1 : (long)v, mode))
		stash(ctx, RK_CHMOD, nargs);
}

// fd_exit reports a stashed fd call (args[0] the fd) of kind, its mode
// from args[mi].
static __always_inline void fd_exit(struct sysexit *ctx, u32 kind, int mi)
{
	struct inflight *in = unstash(kind);
	if (!in)
		return;
	struct record *r = scratch_record();
	struct file *f = fd_file((struct task_struct *)bpf_get_current_task(), (long)in->args[0]);
	if (!r || !f || path_of(&f->f_path, r->file.path) <= 0) {
		unstash_done(in);
		return;
	}
	fill_hdr(&r->h, kind);
	r->h.result = ctx->ret;
	r->file.flags = 0;
	r->file.mode = mi >= 0 && mi < 6 ? in->args[mi] : 0;
	r->file.path2[0] = 0;
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct file_body));
}

static __always_inline void truncate_enter(struct sysenter *ctx)
{
	long v;
	if (wanted(RK_TRUNCATE) && (v = fd_lookup(ctx->args[0])) >= 0 && !(v & PW_EXEC_ONLY))
		stash(ctx, RK_TRUNCATE, 2);
}

SYS_ENTER(fchmod, enter_fchmod)
{
	if (wanted(RK_CHMOD) && chmod_wanted(fd_lookup(ctx->args[0]), ctx->args[1]))
		stash(ctx, RK_CHMOD, 2);
	return 0;
}
SYS_EXIT(fchmod, exit_fchmod) { fd_exit(ctx, RK_CHMOD, 1); return 0; }
SYS_ENTER(ftruncate, enter_ftruncate) { truncate_enter(ctx); return 0; }
SYS_EXIT(ftruncate, exit_ftruncate) { fd_exit(ctx, RK_TRUNCATE, -1); return 0; }
SYS_ENTER(ftruncate64, enter_ftruncate64) { truncate_enter(ctx); return 0; } // ia32 only
SYS_EXIT(ftruncate64, exit_ftruncate64) { fd_exit(ctx, RK_TRUNCATE, -1); return 0; }

#define CWD AT_FDCWD
#define ARG(i) ((const char *)ctx->args[i])

SYS_ENTER(unlinkat, enter_unlinkat) { path_enter(ctx, RK_UNLINK, 3, ctx->args[0], ARG(1), 0, 0); return 0; }
SYS_EXIT(unlinkat, exit_unlinkat) { path_exit(ctx, RK_UNLINK, 1, 0, -1, -1, 2, -1); return 0; }
SYS_ENTER(unlink, enter_unlink) { path_enter(ctx, RK_UNLINK, 1, CWD, ARG(0), 0, 0); return 0; }
SYS_EXIT(unlink, exit_unlink) { path_exit(ctx, RK_UNLINK, 0, -1, -1, -1, -1, -1); return 0; }
SYS_ENTER(rmdir, enter_rmdir) { path_enter(ctx, RK_UNLINK, 1, CWD, ARG(0), 0, 0); return 0; }
SYS_EXIT(rmdir, exit_rmdir) { path_exit(ctx, RK_UNLINK, 0, -1, -1, -1, -1, -1); return 0; }

SYS_ENTER(renameat2, enter_renameat2) { path_enter(ctx, RK_RENAME, 5, ctx->args[0], ARG(1), ctx->args[2], ARG(3)); return 0; }
SYS_EXIT(renameat2, exit_renameat2) { path_exit(ctx, RK_RENAME, 1, 0, 3, 2, 4, -1); return 0; }
SYS_ENTER(renameat, enter_renameat) { path_enter(ctx, RK_RENAME, 4, ctx->args[0], ARG(1), ctx->args[2], ARG(3)); return 0; }
SYS_EXIT(renameat, exit_renameat) { path_exit(ctx, RK_RENAME, 1, 0, 3, 2, -1, -1); return 0; }
SYS_ENTER(rename, enter_rename) { path_enter(ctx, RK_RENAME, 2, CWD, ARG(0), CWD, ARG(1)); return 0; }
SYS_EXIT(rename, exit_rename) { path_exit(ctx, RK_RENAME, 0, -1, 1, -1, -1, -1); return 0; }

SYS_ENTER(symlink, enter_symlink) { link_enter(ctx, 2, true, CWD, ARG(0), CWD, ARG(1)); return 0; }
SYS_EXIT(symlink, exit_symlink) { path_exit(ctx, RK_LINK, 0, NOJOIN, 1, -1, -1, LINK_SYMBOLIC); return 0; }
SYS_ENTER(symlinkat, enter_symlinkat) { link_enter(ctx, 3, true, CWD, ARG(0), ctx->args[1], ARG(2)); return 0; }
SYS_EXIT(symlinkat, exit_symlinkat) { path_exit(ctx, RK_LINK, 0, NOJOIN, 2, 1, -1, LINK_SYMBOLIC); return 0; }
SYS_ENTER(link, enter_link) { link_enter(ctx, 2, false, CWD, ARG(0), CWD, ARG(1)); return 0; }
SYS_EXIT(link, exit_link) { path_exit(ctx, RK_LINK, 0, -1, 1, -1, -1, -1); return 0; }
SYS_ENTER(linkat, enter_linkat) { link_enter(ctx, 5, false, ctx->args[0], ARG(1), ctx->args[2], ARG(3)); return 0; }
SYS_EXIT(linkat, exit_linkat) { path_exit(ctx, RK_LINK, 1, 0, 3, 2, 4, -1); return 0; }

SYS_ENTER(truncate, enter_truncate) { path_enter(ctx, RK_TRUNCATE, 1, CWD, ARG(0), 0, 0); return 0; }
SYS_EXIT(truncate, exit_truncate) { path_exit(ctx, RK_TRUNCATE, 0, -1, -1, -1, -1, -1); return 0; }
SYS_ENTER(truncate64, enter_truncate64) { path_enter(ctx, RK_TRUNCATE, 1, CWD, ARG(0), 0, 0); return 0; } // ia32 only
SYS_EXIT(truncate64, exit_truncate64) { path_exit(ctx, RK_TRUNCATE, 0, -1, -1, -1, -1, -1); return 0; }

SYS_ENTER(fchmodat, enter_fchmodat) { chmod_enter(ctx, 3, ctx->args[0], ARG(1), ctx->args[2]); return 0; }
SYS_EXIT(fchmodat, exit_fchmodat) { path_exit(ctx, RK_CHMOD, 1, 0, -1, -1, -1, 2); return 0; }
SYS_ENTER(fchmodat2, enter_fchmodat2) { chmod_enter(ctx, 4, ctx->args[0], ARG(1), ctx->args[2]); return 0; }
SYS_EXIT(fchmodat2, exit_fchmodat2) { path_exit(ctx, RK_CHMOD, 1, 0, -1, -1, 3, 2); return 0; }
SYS_ENTER(chmod, enter_chmod) { chmod_enter(ctx, 2, CWD, ARG(0), ctx->args[1]); return 0; }
SYS_EXIT(chmod, exit_chmod) { path_exit(ctx, RK_CHMOD, 0, -1, -1, -1, -1, 1); return 0; }

// ---- io_uring ----
//
// An operation submitted through io_uring makes no system call of its
// own: an open, an unlink or a connect that way passes every system-call
// hook (the "curing" rootkit works so). The io_uring_submit_req
// tracepoint fires once the request is prepared — paths already copied
// into the kernel (struct filename), a connect's address still in user
// memory — and its file, network and link operations are judged here as
// their system calls are, but at submission: the result is not known
// (HF_IO_URING), and a write through a symbolic link is not resolved.

#define IORING_OP_CONNECT 16
#define IORING_OP_OPENAT 18
#define IORING_OP_OPENAT2 28
#define IORING_OP_RENAMEAT 35
#define IORING_OP_UNLINKAT 36
#define IORING_OP_SYMLINKAT 38
#define IORING_OP_LINKAT 39

// ring_path is lookup_at for the path in struct filename f (relative to
// dirfd), written to out (room past PATH_SZ); an exec-only prefix does
// not count.
static __always_inline int ring_path(struct filename *f, long dirfd, char *out, u32 *val)
{
	int w = lookup_at(dirfd, BPF_CORE_READ(f, name), true, out, val);
	return w > 0 && (*val & PW_EXEC_ONLY) ? 0 : w;
}

static __always_inline void ring_submit(struct record *r, u32 kind, u32 size)
{
	fill_hdr(&r->h, kind);
	r->h.flags |= HF_IO_URING;
	submit(r, size);
}

static __always_inline void ring_open(struct io_open *o, struct record *r)
{
	u64 flags = BPF_CORE_READ(o, how.flags);
	u32 v = 0;
	int w = ring_path(BPF_CORE_READ(o, filename), BPF_CORE_READ(o, dfd), r->file.path, &v);
	if (w == 0 || (w > 0 && !(v & PW_READS) && !(flags & WRITE_FLAGS)))
		return;
	r->file.flags = flags;
	r->file.mode = BPF_CORE_READ(o, how.mode);
	r->file.path2[0] = 0;
	ring_submit(r, RK_OPEN, sizeof(struct hdr) + offsetof(struct file_body, path2));
}

static __always_inline void ring_unlink(struct io_unlink *u, struct record *r)
{
	u32 v = 0;
	if (!ring_path(BPF_CORE_READ(u, filename), BPF_CORE_READ(u, dfd), r->file.path, &v))
		return;
	r->file.flags = BPF_CORE_READ(u, flags);
	r->file.mode = 0;
	r->file.path2[0] = 0;
	ring_submit(r, RK_UNLINK, sizeof(struct hdr) + sizeof(struct file_body));
}

// ring_rename reports a rename when either path is watched.
static __always_inline void ring_rename(struct io_rename *rn, struct record *r)
{
	u32 v = 0;
	int w1 = ring_path(BPF_CORE_READ(rn, oldpath), BPF_CORE_READ(rn, old_dfd), r->file.path, &v);
	// path2 second: its join may write past it, within the record.
	int w2 = ring_path(BPF_CORE_READ(rn, newpath), BPF_CORE_READ(rn, new_dfd), r->file.path2, &v);
	if (!w1 && !w2)
		return;
	r->file.flags = BPF_CORE_READ(rn, flags);
	r->file.mode = 0;
	ring_submit(r, RK_RENAME, sizeof(struct hdr) + sizeof(struct file_body));
}

// ring_link reports a link when its new path is watched or its target
// read-watched (link_enter's rule).
static __always_inline void ring_link(struct io_link *l, struct record *r, bool symbolic)
{
	u32 v1 = 0, v2 = 0;
	int w1;
	if (symbolic) {
		w1 = target_lookup(BPF_CORE_READ(l, oldpath, name), true, r->file.path);
	} else {
		w1 = ring_path(BPF_CORE_READ(l, oldpath), BPF_CORE_READ(l, old_dfd), r->file.path, &v1);
		if (w1 > 0 && !(v1 & PW_READS))
			w1 = 0; // a link to a file watched for writes only is no news
	}
	int w2 = ring_path(BPF_CORE_READ(l, newpath), BPF_CORE_READ(l, new_dfd), r->file.path2, &v2);
	if (!w1 && !w2)
		return;
	r->file.flags = BPF_CORE_READ(l, flags);
	r->file.mode = symbolic;
	ring_submit(r, RK_LINK, sizeof(struct hdr) + sizeof(struct file_body));
}

static __always_inline void ring_connect(struct io_kiocb *req, struct io_connect *c, struct record *r)
{
	struct net_body *b = &r->net;
	long fd = BPF_CORE_READ(req, cqe.fd);
	b->fd = fd;
	fill_sock(b, sock_of(fd));
	b->ulen = 0;
	u64 len = BPF_CORE_READ(c, addr_len);
	if (len > SADDR_SZ)
		len = SADDR_SZ;
	if (len && !bpf_probe_read_user(b->uaddr, len & 0x7f, BPF_CORE_READ(c, addr)))
		b->ulen = len;
	ring_submit(r, RK_CONNECT, sizeof(struct hdr) + sizeof(struct net_body));
}

SEC("raw_tracepoint/io_uring_submit_req")
int rtp_ring_submit(struct bpf_raw_tracepoint_args *ctx)
{
	struct io_kiocb *req = (struct io_kiocb *)ctx->args[0];
	u8 op = BPF_CORE_READ(req, opcode);
	u32 kind;
	switch (op) {
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2:
		kind = RK_OPEN;
		break;
	case IORING_OP_UNLINKAT:
		kind = RK_UNLINK;
		break;
	case IORING_OP_RENAMEAT:
		kind = RK_RENAME;
		break;
	case IORING_OP_SYMLINKAT:
	case IORING_OP_LINKAT:
		kind = RK_LINK;
		break;
	case IORING_OP_CONNECT:
		kind = RK_CONNECT;
		break;
	default:
		return 0;
	}
	if (!wanted(kind))
		return 0;
	struct record *r = scratch_record();
	if (!r)
		return 0;
	r->h.result = 0;
	// The request's command area (struct io_cmd_data) is the first member
	// of struct io_kiocb; each operation lays its own struct over it.
	switch (op) {
	case IORING_OP_OPENAT:
	case IORING_OP_OPENAT2:
		ring_open((struct io_open *)req, r);
		break;
	case IORING_OP_UNLINKAT:
		ring_unlink((struct io_unlink *)req, r);
		break;
	case IORING_OP_RENAMEAT:
		ring_rename((struct io_rename *)req, r);
		break;
	case IORING_OP_SYMLINKAT:
		ring_link((struct io_link *)req, r, true);
		break;
	case IORING_OP_LINKAT:
		ring_link((struct io_link *)req, r, false);
		break;
	case IORING_OP_CONNECT:
		ring_connect(req, (struct io_connect *)req, r);
		break;
	}
	return 0;
}

// ---- credentials: the new values are read at exit ----

static __always_inline void cred_exit(struct sysexit *ctx, u32 kind)
{
	struct inflight *in = unstash(kind);
	if (!in)
		return;
	struct record *r = scratch_record();
	if (!r) {
		unstash_done(in);
		return;
	}
	fill_hdr(&r->h, kind);
	r->h.result = ctx->ret;
	r->cred.args[0] = (s64)(s32)in->args[0];
	r->cred.args[1] = (s64)(s32)in->args[1];
	r->cred.args[2] = (s64)(s32)in->args[2];
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct cred_body));
}

// CRED_PAIR_PREP(name, kind, nargs, prep) hooks a credential call: prep
// runs on the arguments at the entry, before they are stashed.
#define CRED_PAIR_PREP(name, kind, nargs, prep)                                               \
	SYS_ENTER(name, enter_##name) { prep; stash(ctx, kind, nargs); return 0; }      \
	SYS_EXIT(name, exit_##name) { cred_exit(ctx, kind); return 0; }
#define CRED_PAIR(name, kind, nargs) CRED_PAIR_PREP(name, kind, nargs, (void)0)

CRED_PAIR(setuid, RK_SETUID, 1)
CRED_PAIR(setreuid, RK_SETUID, 2)
CRED_PAIR(setresuid, RK_SETUID, 3)
CRED_PAIR(setfsuid, RK_SETUID, 1)
CRED_PAIR(setgid, RK_SETGID, 1)
CRED_PAIR(setregid, RK_SETGID, 2)
CRED_PAIR(setresgid, RK_SETGID, 3)
CRED_PAIR(setfsgid, RK_SETGID, 1)
CRED_PAIR(capset, RK_CAPSET, 2)

// The ia32 table's original calls take 16-bit ids, 0xffff meaning -1
// ("unchanged"): setuid16 and the like, hooked by ia32 number only.
static __always_inline void widen16(struct sysenter *ctx)
{
	for (int i = 0; i < 3; i++)
		ctx->args[i] = (ctx->args[i] & 0xffff) == 0xffff ? 0xffffffff : (ctx->args[i] & 0xffff);
}

#define CRED16_PAIR(name, kind, nargs) CRED_PAIR_PREP(name, kind, nargs, widen16(ctx))

CRED16_PAIR(setuid16, RK_SETUID, 1)
CRED16_PAIR(setreuid16, RK_SETUID, 2)
CRED16_PAIR(setresuid16, RK_SETUID, 3)
CRED16_PAIR(setfsuid16, RK_SETUID, 1)
CRED16_PAIR(setgid16, RK_SETGID, 1)
CRED16_PAIR(setregid16, RK_SETGID, 2)
CRED16_PAIR(setresgid16, RK_SETGID, 3)
CRED16_PAIR(setfsgid16, RK_SETGID, 1)

// ---- kernel-facing calls ----

SYS_ENTER(ptrace, enter_ptrace)
{
	long req = ctx->args[0];
	// PTRACE_POKETEXT/POKEDATA/POKEUSER, SETREGS, ATTACH, SEIZE: the
	// requests that take control of or change another process.
	if (req == 4 || req == 5 || req == 6 || req == 13 || req == 16 || req == 0x4206)
		stash(ctx, RK_PTRACE, 4);
	return 0;
}

static __always_inline void ptrace_exit(struct sysexit *ctx)
{
	struct inflight *in = unstash(RK_PTRACE);
	if (!in)
		return;
	struct record *r = scratch_record();
	if (!r) {
		unstash_done(in);
		return;
	}
	fill_hdr(&r->h, RK_PTRACE);
	r->h.result = ctx->ret;
	r->ptrace.request = in->args[0];
	r->ptrace.target = in->args[1];
	r->ptrace._pad = 0;
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct ptrace_body));
}

SYS_EXIT(ptrace, exit_ptrace) { ptrace_exit(ctx); return 0; }

// process_vm_readv and process_vm_writev read and write another process's
// memory without ptrace: reported as ptrace requests of their own
// (PVM_READV, PVM_WRITEV: no ptrace request has these numbers).
#define PVM_READV 0x10000
#define PVM_WRITEV 0x10001

static __always_inline void pvm_enter(struct sysenter *ctx, long req)
{
	if ((u32)ctx->args[0] == bpf_get_current_pid_tgid() >> 32)
		return; // its own memory
	struct sysenter c = *ctx;
	c.args[1] = c.args[0]; // the target, where ptrace has it
	c.args[0] = req;
	stash(&c, RK_PTRACE, 2);
}

SYS_ENTER(process_vm_readv, enter_process_vm_readv) { pvm_enter(ctx, PVM_READV); return 0; }
SYS_EXIT(process_vm_readv, exit_process_vm_readv) { ptrace_exit(ctx); return 0; }
SYS_ENTER(process_vm_writev, enter_process_vm_writev) { pvm_enter(ctx, PVM_WRITEV); return 0; }
SYS_EXIT(process_vm_writev, exit_process_vm_writev) { ptrace_exit(ctx); return 0; }

// setns joins the namespaces of an nsfs file (/proc/PID/ns/mnt …) or of a
// pidfd's process: from a container, joining the host's is an escape
// whatever the tool (nsenter is only one).
#define NSFS_MAGIC 0x6e736673
#define PIDFS_MAGIC 0x50494446

SYS_ENTER(setns, enter_setns) { stash(ctx, RK_SETNS, 2); return 0; }

SYS_EXIT(setns, exit_setns)
{
	struct inflight *in = unstash(RK_SETNS);
	if (!in)
		return 0;
	struct record *r = scratch_record();
	struct file *f = fd_file((struct task_struct *)bpf_get_current_task(), (long)in->args[0]);
	if (!r) {
		unstash_done(in);
		return 0;
	}
	fill_hdr(&r->h, RK_SETNS);
	r->h.result = ctx->ret;
	r->setns.inum = 0;
	r->setns.target = 0;
	r->setns.nstype = in->args[1];
	unsigned long magic = f ? BPF_CORE_READ(f, f_inode, i_sb, s_magic) : 0;
	if (magic == NSFS_MAGIC) {
		r->setns.inum = BPF_CORE_READ(f, f_inode, i_ino);
	} else if (magic == PIDFS_MAGIC) {
		// The pidfd's struct pid: its inode's i_private (pidfs), the
		// file's private_data on kernels before that.
		struct pid *p = BPF_CORE_READ(f, f_inode, i_private);
		if (!p)
			p = BPF_CORE_READ(f, private_data);
		r->setns.target = BPF_CORE_READ(p, numbers[0].nr);
	}
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct setns_body));
	return 0;
}

SYS_ENTER(memfd_create, enter_memfd) { stash(ctx, RK_MEMFD, 2); return 0; }

SYS_EXIT(memfd_create, exit_memfd)
{
	struct inflight *in = unstash(RK_MEMFD);
	if (!in)
		return 0;
	struct record *r = scratch_record();
	if (!r) {
		unstash_done(in);
		return 0;
	}
	fill_hdr(&r->h, RK_MEMFD);
	r->h.result = ctx->ret;
	r->memfd.flags = in->args[1];
	r->memfd._pad = 0;
	r->memfd.name[0] = 0;
	bpf_probe_read_user_str(r->memfd.name, PATH_SZ, (void *)in->args[0]);
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct memfd_body));
	return 0;
}

SYS_ENTER(mount, enter_mount) { stash(ctx, RK_MOUNT, 5); return 0; }

SYS_EXIT(mount, exit_mount)
{
	struct inflight *in = unstash(RK_MOUNT);
	if (!in)
		return 0;
	struct record *r = scratch_record();
	if (!r) {
		unstash_done(in);
		return 0;
	}
	fill_hdr(&r->h, RK_MOUNT);
	r->h.result = ctx->ret;
	struct mount_body *b = &r->mount;
	b->flags = in->args[3];
	b->source[0] = 0;
	b->target[0] = 0;
	b->fstype[0] = 0;
	bpf_probe_read_user_str(b->source, PATH_SZ, (void *)in->args[0]);
	bpf_probe_read_user_str(b->target, PATH_SZ, (void *)in->args[1]);
	bpf_probe_read_user_str(b->fstype, DNAME_SZ, (void *)in->args[2]);
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct mount_body));
	return 0;
}

SYS_ENTER(bpf, enter_bpf)
{
	long cmd = ctx->args[0];
	// BPF_MAP_CREATE, BPF_PROG_LOAD, BPF_RAW_TRACEPOINT_OPEN, BPF_LINK_CREATE
	if (cmd == 0 || cmd == 5 || cmd == 17 || cmd == 28)
		stash(ctx, RK_BPF, 3);
	return 0;
}

SYS_EXIT(bpf, exit_bpf)
{
	struct inflight *in = unstash(RK_BPF);
	if (!in)
		return 0;
	struct record *r = scratch_record();
	if (!r) {
		unstash_done(in);
		return 0;
	}
	fill_hdr(&r->h, RK_BPF);
	r->h.result = ctx->ret;
	r->bpf.cmd = in->args[0];
	r->bpf._pad = 0;
	__builtin_memset(r->bpf.attr, 0, BPFATTR_SZ);
	u64 n = in->args[2];
	if (n > BPFATTR_SZ)
		n = BPFATTR_SZ;
	if (n)
		bpf_probe_read_user(r->bpf.attr, n & (2 * BPFATTR_SZ - 1), (void *)in->args[1]);
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct bpf_body));
	return 0;
}

static __always_inline void module_exit(struct sysexit *ctx, int finit)
{
	struct inflight *in = unstash(RK_MODULE);
	if (!in)
		return;
	struct record *r = scratch_record();
	if (!r) {
		unstash_done(in);
		return;
	}
	fill_hdr(&r->h, RK_MODULE);
	r->h.result = ctx->ret;
	struct module_body *b = &r->module;
	b->fd = finit ? (s32)in->args[0] : -1;
	b->_pad = 0;
	b->name[0] = 0;
	b->args[0] = 0;
	if (finit) {
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		struct file *f = fd_file(t, (long)in->args[0]);
		if (f)
			bpf_probe_read_kernel_str(b->name, DNAME_SZ, BPF_CORE_READ(f, f_path.dentry, d_name.name));
		bpf_probe_read_user_str(b->args, PATH_SZ, (void *)in->args[1]);
	} else {
		bpf_probe_read_user_str(b->args, PATH_SZ, (void *)in->args[2]);
	}
	unstash_done(in);
	submit(r, sizeof(struct hdr) + sizeof(struct module_body));
}

SYS_ENTER(init_module, enter_init_module) { stash(ctx, RK_MODULE, 3); return 0; }
SYS_EXIT(init_module, exit_init_module) { module_exit(ctx, 0); return 0; }
SYS_ENTER(finit_module, enter_finit_module) { stash(ctx, RK_MODULE, 3); return 0; }
SYS_EXIT(finit_module, exit_finit_module) { module_exit(ctx, 1); return 0; }
