package sensor

import "time"

// Kind is what happened.
type Kind string

// The kinds of event.
const (
	KindExec       Kind = "exec"        // a program was executed (execve/execveat succeeded)
	KindFork       Kind = "fork"        // a process was created
	KindExit       Kind = "exit"        // a process ended
	KindConnect    Kind = "connect"     // an outbound connection was attempted
	KindAccept     Kind = "accept"      // an inbound connection was accepted
	KindBind       Kind = "bind"        // a socket was bound to an address
	KindListen     Kind = "listen"      // a socket started listening
	KindTCPState   Kind = "tcp_state"   // a TCP socket changed state
	KindOpen       Kind = "open"        // a watched file was opened (read or write)
	KindUnlink     Kind = "unlink"      // a watched file was removed
	KindRename     Kind = "rename"      // a watched file was renamed
	KindChmod      Kind = "chmod"       // a watched file's mode changed
	KindSetUID     Kind = "setuid"      // setuid/setreuid/setresuid
	KindSetGID     Kind = "setgid"      // setgid/setregid/setresgid
	KindCapset     Kind = "capset"      // capabilities changed
	KindPtrace     Kind = "ptrace"      // ptrace attach/seize/poke
	KindMemfd      Kind = "memfd"       // memfd_create
	KindMount      Kind = "mount"       // mount
	KindBPF        Kind = "bpf"         // a bpf() program load or map creation
	KindModuleLoad Kind = "module_load" // init_module/finit_module attempted
	KindLink       Kind = "link"        // a link to a read-watched file, or at a watched path, was made
	KindTruncate   Kind = "truncate"    // a watched file was truncated (truncate, ftruncate)
	KindSetns      Kind = "setns"       // a process joined another namespace (setns)
)

// Event is one observed action with everything a rule needs to judge it.
// Field names are what rules use (docs/runtime-rules.md); keep them stable.
type Event struct {
	Kind Kind      `json:"kind"`
	Time time.Time `json:"time"`
	// Process is the actor; for exec, the process after the exec.
	Process Process `json:"process"`
	// Parents is the ancestry, nearest first, bounded (MaxAncestry).
	Parents   []Process  `json:"parents,omitempty"`
	Container *Container `json:"container,omitempty"`

	File    *File    `json:"file,omitempty"`    // open, unlink, rename, chmod, exec (the executable)
	Network *Network `json:"network,omitempty"` // connect, accept, bind, listen, tcp_state
	// Target is the other process of ptrace (and kill, later).
	Target *Process `json:"target,omitempty"`
	// Cred is the new credentials of setuid, setgid and capset.
	Cred *Cred `json:"cred,omitempty"`
	// Mount is the mount's source, target, filesystem type and flags.
	Mount *Mount `json:"mount,omitempty"`
	// Args holds kind-specific extras: memfd name and flags, bpf command,
	// module name, ptrace request, exit code, … (strings and integers only).
	Args map[string]any `json:"args,omitempty"`
	// Result is the syscall's return value where it matters (negative
	// errno on failure); 0 otherwise.
	Result int64 `json:"result,omitempty"`
}

// MaxAncestry bounds Event.Parents.
const MaxAncestry = 16

// Process is a process as the sensor knows it.
type Process struct {
	PID  int32 `json:"pid"`
	PPID int32 `json:"ppid"`
	// StartTime (boot-relative nanoseconds) with PID identifies a process
	// uniquely: PIDs are reused, (PID, StartTime) is not.
	StartTime uint64 `json:"startTime"`
	// Name is the kernel's comm (16 bytes at most).
	Name string `json:"name"`
	// Exe is the executable's path; ExeDeleted says it was unlinked (runs
	// from a deleted file); ExeMemfd says it is a memfd (fileless).
	Exe        string   `json:"exe"`
	ExeDeleted bool     `json:"exeDeleted,omitempty"`
	ExeMemfd   bool     `json:"exeMemfd,omitempty"`
	Args       []string `json:"args,omitempty"`
	Cwd        string   `json:"cwd,omitempty"`
	UID        uint32   `json:"uid"`
	GID        uint32   `json:"gid"`
	EUID       uint32   `json:"euid"`
	EGID       uint32   `json:"egid"`
	// CapEffective and CapPermitted are capability bit sets.
	CapEffective uint64 `json:"capEffective"`
	CapPermitted uint64 `json:"capPermitted"`
	// TTY says the process has a controlling terminal.
	TTY bool `json:"tty,omitempty"`
	// Stdin and Stdout say what fd 0 and 1 are: "file", "pipe", "socket"
	// (a network socket; any socket when read from /proc in degraded
	// mode), "unix" (a Unix socket), "tty", "null" or "" (unknown). A shell
	// whose stdin is a network socket is a reverse shell.
	Stdin  string `json:"stdin,omitempty"`
	Stdout string `json:"stdout,omitempty"`
	// CgroupID is the cgroup v2 id; Container is resolved from it.
	CgroupID uint64 `json:"cgroupId,omitempty"`
	// MntNS and PidNS are namespace inode numbers; a process whose mount
	// namespace differs from its parent's changed namespaces (nsenter).
	MntNS uint32 `json:"mntNs,omitempty"`
	PidNS uint32 `json:"pidNs,omitempty"`
}

// Container is where a process runs, when not on the host.
type Container struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Image   string `json:"image,omitempty"`
	Runtime string `json:"runtime,omitempty"` // docker, containerd
	// Privileged and the host namespaces, when the runtime says so.
	Privileged bool `json:"privileged,omitempty"`
	// Kubernetes identity, from the runtime's labels.
	Pod       string `json:"pod,omitempty"`
	Namespace string `json:"namespace,omitempty"`
	// InitPID is the host PID of the container's first process when the
	// runtime said (it may be stale: check before acting on it).
	InitPID int32 `json:"initPid,omitempty"`
}

// File is the file an event is about.
type File struct {
	Path string `json:"path"`
	// NewPath is the destination of a rename, the new name of a link
	// (whose Path is its target).
	NewPath string `json:"newPath,omitempty"`
	// Flags are open(2) flags; Write says the file was opened for writing
	// (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND).
	Flags uint32 `json:"flags,omitempty"`
	Write bool   `json:"write,omitempty"`
	// Mode is the new mode of chmod.
	Mode uint32 `json:"mode,omitempty"`
}

// Network is the socket an event is about.
type Network struct {
	Family   string `json:"family"`   // inet, inet6, unix
	Protocol string `json:"protocol"` // tcp, udp, ""
	SrcAddr  string `json:"srcAddr,omitempty"`
	SrcPort  uint16 `json:"srcPort,omitempty"`
	DstAddr  string `json:"dstAddr,omitempty"`
	DstPort  uint16 `json:"dstPort,omitempty"`
	// OldState and NewState are TCP states (ESTABLISHED, CLOSE…) of
	// tcp_state events.
	OldState string `json:"oldState,omitempty"`
	NewState string `json:"newState,omitempty"`
	// Path is a unix socket's path.
	Path string `json:"path,omitempty"`
}

// Cred is a credential change.
type Cred struct {
	UID          uint32 `json:"uid"`
	EUID         uint32 `json:"euid"`
	GID          uint32 `json:"gid"`
	EGID         uint32 `json:"egid"`
	CapEffective uint64 `json:"capEffective"`
	CapPermitted uint64 `json:"capPermitted"`
}

// Mount is a mount call.
type Mount struct {
	Source string `json:"source"`
	Target string `json:"target"`
	FSType string `json:"fsType"`
	Flags  uint64 `json:"flags,omitempty"`
}

// Source is where events come from: the eBPF sensor, or the degraded
// /proc sensor. Events is closed when the source stops.
type Source interface {
	// Events delivers events until Close.
	Events() <-chan Event
	// Mode says "ebpf" or "degraded: <why>".
	Mode() string
	Close() error
}
