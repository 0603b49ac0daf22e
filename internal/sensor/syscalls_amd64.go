package sensor

import "golang.org/x/sys/unix"

// syscallNumbers are the numbers of the system calls the programs hook,
// by name (their SYS_ENTER/SYS_EXIT sections): the sys_enter and sys_exit
// dispatchers tail-call through tables indexed by them. The programs read
// arguments from x86-64 registers, so only this architecture has a table.
var syscallNumbers = map[string]uint32{
	"connect": unix.SYS_CONNECT, "accept": unix.SYS_ACCEPT, "accept4": unix.SYS_ACCEPT4,
	"bind": unix.SYS_BIND, "listen": unix.SYS_LISTEN,
	"open": unix.SYS_OPEN, "openat": unix.SYS_OPENAT, "openat2": unix.SYS_OPENAT2, "creat": unix.SYS_CREAT,
	"unlink": unix.SYS_UNLINK, "unlinkat": unix.SYS_UNLINKAT, "rmdir": unix.SYS_RMDIR,
	"rename": unix.SYS_RENAME, "renameat": unix.SYS_RENAMEAT, "renameat2": unix.SYS_RENAMEAT2,
	"chmod": unix.SYS_CHMOD, "fchmodat": unix.SYS_FCHMODAT, "fchmodat2": unix.SYS_FCHMODAT2,
	"setuid": unix.SYS_SETUID, "setreuid": unix.SYS_SETREUID, "setresuid": unix.SYS_SETRESUID, "setfsuid": unix.SYS_SETFSUID,
	"setgid": unix.SYS_SETGID, "setregid": unix.SYS_SETREGID, "setresgid": unix.SYS_SETRESGID, "setfsgid": unix.SYS_SETFSGID,
	"capset": unix.SYS_CAPSET, "ptrace": unix.SYS_PTRACE, "memfd_create": unix.SYS_MEMFD_CREATE, "mount": unix.SYS_MOUNT,
	"bpf": unix.SYS_BPF, "init_module": unix.SYS_INIT_MODULE, "finit_module": unix.SYS_FINIT_MODULE,
	"symlink": unix.SYS_SYMLINK, "symlinkat": unix.SYS_SYMLINKAT, "link": unix.SYS_LINK, "linkat": unix.SYS_LINKAT,
	"fchmod": unix.SYS_FCHMOD, "truncate": unix.SYS_TRUNCATE, "ftruncate": unix.SYS_FTRUNCATE,
	"open_by_handle_at": unix.SYS_OPEN_BY_HANDLE_AT, "setns": unix.SYS_SETNS,
	"process_vm_readv": unix.SYS_PROCESS_VM_READV, "process_vm_writev": unix.SYS_PROCESS_VM_WRITEV,
}

// compatSyscallNumbers are the ia32 numbers of the same calls, for a
// 32-bit program's system calls or a 64-bit program's int 0x80: the
// dispatchers tail-call through a second pair of tables for those, and
// the programs read the ia32 argument registers. Where ia32 has both an
// original 16-bit-id call and a 32-bit one (setuid, setuid32), the
// 32-bit one runs the program of the name and the 16-bit one a program of
// its own (setuid16: its 0xffff means -1); truncate64 and ftruncate64,
// ia32's calls with a 64-bit length, run programs of their own too
// (the length is not read). ia32 has no accept of its own
// (accept4, or socketcall); socketcall, the multiplexed socket entry, has
// no native counterpart. x/sys/unix has these numbers only in 386
// builds, hence the literals (arch/x86/entry/syscalls/syscall_32.tbl;
// TestCompatSyscallNumbers checks them against <asm/unistd_32.h>).
var compatSyscallNumbers = map[string]uint32{
	"connect": 362, "accept4": 364, "bind": 361, "listen": 363, "socketcall": 102,
	"open": 5, "openat": 295, "openat2": 437, "creat": 8,
	"unlink": 10, "unlinkat": 301, "rmdir": 40,
	"rename": 38, "renameat": 302, "renameat2": 353,
	"chmod": 15, "fchmodat": 306, "fchmodat2": 452,
	"setuid": 213, "setreuid": 203, "setresuid": 208, "setfsuid": 215,
	"setgid": 214, "setregid": 204, "setresgid": 210, "setfsgid": 216,
	"setuid16": 23, "setreuid16": 70, "setresuid16": 164, "setfsuid16": 138,
	"setgid16": 46, "setregid16": 71, "setresgid16": 170, "setfsgid16": 139,
	"capset": 185, "ptrace": 26, "memfd_create": 356, "mount": 21,
	"bpf": 357, "init_module": 128, "finit_module": 350,
	"symlink": 83, "symlinkat": 304, "link": 9, "linkat": 303,
	"fchmod": 94, "truncate": 92, "ftruncate": 93, "truncate64": 193, "ftruncate64": 194,
	"open_by_handle_at": 342, "setns": 346, "process_vm_readv": 347, "process_vm_writev": 348,
}
