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
}
