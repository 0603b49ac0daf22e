package sensor

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"
)

// Options configure New. The zero value watches DefaultWatchedPaths for
// writes and DefaultReadPaths for reads too, enables every kind and uses an 8 MiB ring buffer.
type Options struct {
	// WatchedPaths are the path prefixes whose writes (opens for writing),
	// unlinks, renames and chmods are reported; nil means
	// DefaultWatchedPaths. A '*' matches one path component
	// ("/home/*/.ssh/"): the kernel matches the prefix up to the first '*'
	// and the rest is checked here.
	WatchedPaths []string
	// ReadPaths are the prefixes whose opens are reported even when not
	// for writing (reads of credentials and keys), and whose writes,
	// unlinks, renames and chmods are reported too; nil means
	// DefaultReadPaths. Both sets are filtered in the kernel: a read of a
	// path under WatchedPaths but not ReadPaths never reaches user space.
	ReadPaths []string
	// ExecPaths are the prefixes where a chmod that adds an execute bit
	// is reported (a downloaded payload made runnable in /tmp), nil
	// meaning DefaultExecPaths. A chmod that sets the setuid or setgid bit
	// is reported wherever the file is.
	ExecPaths []string
	// RingBufferSize is the ring buffer's size in bytes, a power of two
	// and a multiple of the page size; 0 means 2 MiB. The kernel wakes the
	// reader once 64 KiB wait, so the ring only fills when the reader is
	// starved; its pages count twice in the agent's RSS (the ring is
	// mapped twice so that records wrap without copies).
	RingBufferSize int
	// Kinds are the event kinds to deliver; nil means all. Programs of
	// kinds not listed are not attached (exec, fork and exit always are:
	// the process cache needs them).
	Kinds []Kind
	// Resolver names containers; nil leaves Container with only its ID.
	Resolver ContainerResolver
	// ProcCacheSize bounds the process cache; 0 means 65536.
	ProcCacheSize int
	// ExitGrace is how long an exited process stays in the cache; 0 means
	// 5 s.
	ExitGrace time.Duration
	// EventBuffer is the capacity of the Events channel; 0 means 1024.
	// When it is full the reader stops, the ring buffer fills and the
	// kernel counts drops. The ring buffer is the deep queue (thousands of
	// records); this one only absorbs the consumer's pauses, and its
	// slots (an Event is ~300 bytes) are held for the sensor's life.
	EventBuffer int
	// Degraded forces degraded mode (process connector and /proc) even if
	// eBPF could load; its value is the reason Mode reports.
	Degraded string
	// ProcRoot is where procfs is mounted; "" means /proc.
	ProcRoot string
}

// DefaultWatchedPaths are the prefixes watched for writes when
// Options.WatchedPaths is nil: credentials, persistence, container runtime
// sockets, kernel tunables, cgroups and logs.
var DefaultWatchedPaths = []string{
	"/etc/", "/root/.ssh/", "/root/.bashrc", "/root/.profile", "/root/.aws/", "/root/.kube/",
	"/root/.docker/config.json", "/home/*/.ssh/", "/home/*/.bashrc", "/home/*/.profile",
	"/home/*/.aws/", "/home/*/.kube/", "/home/*/.docker/config.json",
	"/var/run/docker.sock", "/run/docker.sock", "/run/containerd/", "/var/run/containerd/",
	"/var/spool/cron/", "/boot/", "/lib/modules/", "/usr/lib/systemd/system/",
	"/proc/sys/", "/sys/fs/cgroup/", "/sys/kernel/", "/sys/module/", "/var/log/",
	// PAM modules (a replaced pam_unix.so accepts any password)
	"/lib/x86_64-linux-gnu/security/", "/usr/lib/x86_64-linux-gnu/security/",
	"/lib/aarch64-linux-gnu/security/", "/usr/lib/aarch64-linux-gnu/security/",
	"/lib64/security/", "/usr/lib64/security/", "/lib/security/", "/usr/lib/security/",
	// web roots (webshells), block devices and raw memory (writes only)
	"/var/www/", "/srv/www/", "/srv/http/", "/usr/share/nginx/html/",
	"/dev/sd", "/dev/vd", "/dev/xvd", "/dev/nvme", "/dev/hd", "/dev/mmcblk", "/dev/dm-", "/dev/mapper/",
	"/dev/mem", "/dev/kmem", "/dev/port",
}

// DefaultReadPaths are the prefixes whose reads are reported when
// Options.ReadPaths is nil: password hashes, sudo policy, SSH, cloud and
// Kubernetes credentials, and container runtime sockets.
var DefaultReadPaths = []string{
	"/etc/shadow", "/etc/gshadow", "/etc/sudoers", "/etc/ssh/ssh_host_", "/etc/kubernetes/",
	"/root/.ssh/", "/home/*/.ssh/", "/root/.aws/", "/home/*/.aws/", "/root/.kube/", "/home/*/.kube/",
	"/root/.docker/config.json", "/home/*/.docker/config.json", "/root/.config/gcloud/", "/root/.azure/",
	"/root/.git-credentials", "/root/.netrc", "/root/.pgpass", "/root/.my.cnf",
	"/home/*/.git-credentials", "/home/*/.netrc", "/home/*/.pgpass", "/home/*/.my.cnf",
	"/home/*/.config/gcloud/", "/home/*/.azure/", "/var/lib/kubelet/pki/",
	"/var/run/secrets/kubernetes.io/", "/run/secrets/kubernetes.io/",
	"/var/run/docker.sock", "/run/docker.sock", "/run/containerd/", "/var/run/containerd/",
}

// DefaultExecPaths are the prefixes where making a file executable is
// reported when Options.ExecPaths is nil: the world-writable temporary
// directories droppers stage payloads in.
var DefaultExecPaths = []string{"/tmp/", "/var/tmp/", "/dev/shm/"}

// maxPrefix is the longest prefix the kernel's LPM trie holds.
const maxPrefix = pathSize - 1

// ErrOptions is wrapped by every Validate error.
var ErrOptions = errors.New("invalid sensor options")

// Validate checks the options.
func (o *Options) Validate() error {
	for _, p := range slices.Concat(o.WatchedPaths, o.ReadPaths, o.ExecPaths) {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("%w: path %q is not absolute", ErrOptions, p)
		}
		if len(kernelPrefix(p)) > maxPrefix {
			return fmt.Errorf("%w: path %q is longer than %d bytes", ErrOptions, p, maxPrefix)
		}
	}
	if n := o.RingBufferSize; n != 0 && (n < 4096 || n&(n-1) != 0) {
		return fmt.Errorf("%w: ring buffer size %d is not a power of two of at least 4096", ErrOptions, n)
	}
	for _, k := range o.Kinds {
		if !slices.Contains(recordKinds[1:], k) {
			return fmt.Errorf("%w: unknown kind %q", ErrOptions, k)
		}
	}
	if o.ProcCacheSize < 0 || o.EventBuffer < 0 || o.ExitGrace < 0 {
		return fmt.Errorf("%w: negative size or duration", ErrOptions)
	}
	return nil
}

// withDefaults returns the options with zero values replaced.
func (o Options) withDefaults() Options {
	if o.WatchedPaths == nil {
		o.WatchedPaths = DefaultWatchedPaths
	}
	if o.ReadPaths == nil {
		o.ReadPaths = DefaultReadPaths
	}
	if o.ExecPaths == nil {
		o.ExecPaths = DefaultExecPaths
	}
	if o.RingBufferSize == 0 {
		o.RingBufferSize = 2 << 20
	}
	if o.ProcCacheSize == 0 {
		o.ProcCacheSize = 1 << 16
	}
	if o.ExitGrace == 0 {
		o.ExitGrace = 5 * time.Second
	}
	if o.EventBuffer == 0 {
		o.EventBuffer = 1024
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	return o
}

// enabled reports whether a kind is delivered.
func (o *Options) enabled(k Kind) bool {
	return o.Kinds == nil || slices.Contains(o.Kinds, k)
}

// kernelPrefix is the part of a watched path the kernel matches: up to the
// first '*'.
func kernelPrefix(p string) string {
	if i := strings.IndexByte(p, '*'); i >= 0 {
		return p[:i]
	}
	return p
}

// pathMatcher does the user-space half of path matching: the patterns with
// a '*', whose kernel prefix is shorter than the pattern.
type pathMatcher struct {
	plain []string // no wildcard: the kernel's prefix match is exact
	globs []string
}

func newPathMatcher(watched []string) pathMatcher {
	var m pathMatcher
	for _, p := range watched {
		if strings.Contains(p, "*") {
			m.globs = append(m.globs, p)
		} else {
			m.plain = append(m.plain, p)
		}
	}
	return m
}

// match reports whether a path the kernel passed is really watched.
func (m pathMatcher) match(p string) bool {
	for _, w := range m.plain {
		if strings.HasPrefix(p, w) {
			return true
		}
	}
	for _, g := range m.globs {
		if globPrefix(g, p) {
			return true
		}
	}
	return false
}

// globPrefix reports whether p starts with something that matches the
// pattern, where '*' matches within one path component. A pattern ending
// in '/' matches everything under that directory.
func globPrefix(pattern, p string) bool {
	dir := strings.HasSuffix(pattern, "/")
	pc := strings.Split(strings.TrimSuffix(pattern, "/"), "/")
	xc := strings.Split(p, "/")
	if len(xc) < len(pc) {
		return false
	}
	for i, c := range pc {
		last := i == len(pc)-1
		if last && !dir && !strings.Contains(c, "*") {
			// Plain prefix of the last component ("/home/*/.bash" matches
			// .bashrc), as the kernel's prefix match would.
			return strings.HasPrefix(xc[i], c)
		}
		ok, err := path.Match(c, xc[i])
		if err != nil || !ok {
			return false
		}
		if last && dir && len(xc) == len(pc) {
			return false // the directory itself, not something under it
		}
	}
	return true
}

// Delivers says whether the sensor, with these options, reports an
// event such as ev: its kind enabled and, for a file action, its paths
// watched as the kernel and the enricher match them — an open for
// reading under ReadPaths, any other file action under WatchedPaths or
// ReadPaths, a link by its new path or a read-watched target. A rule
// that judges files the sensor never reports cannot fire; this tells.
func (o Options) Delivers(ev *Event) bool {
	o = o.withDefaults()
	if !o.enabled(ev.Kind) {
		return false
	}
	if ev.File == nil {
		return true
	}
	pr, f := newPathRules(o), ev.File
	switch ev.Kind {
	case KindOpen:
		// What the kernel passes without a path to match (enricher.details).
		if opensAnother(ev) || ev.Args["via"] == "open_by_handle_at" {
			return true
		}
		return pr.open(f.Path, f.Write)
	case KindChmod:
		return pr.chmod(f.Path, f.Mode)
	case KindUnlink, KindRename, KindTruncate:
		return pr.changed(f.Path, f.NewPath)
	case KindLink:
		return pr.link(f.Path, f.NewPath)
	}
	return true
}

// pathRules are the user-space half of the watched-path filter, one
// place for the enricher and Delivers: the kernel matched prefixes up to
// a '*' (and passed what it could not judge), these check the rest.
type pathRules struct {
	all   pathMatcher // WatchedPaths and ReadPaths
	reads pathMatcher // ReadPaths
	execs pathMatcher // ExecPaths
}

func newPathRules(o Options) pathRules {
	return pathRules{
		all:   newPathMatcher(slices.Concat(o.WatchedPaths, o.ReadPaths)),
		reads: newPathMatcher(o.ReadPaths),
		execs: newPathMatcher(o.ExecPaths),
	}
}

// open: a watched path opened for writing, a read-watched one read, and
// what no prefix says but a rule needs — a cgroup release_agent written
// wherever the hierarchy is mounted, another process's memory read.
func (pr pathRules) open(path string, write bool) bool {
	return pr.all.match(path) && (write || pr.reads.match(path)) ||
		write && isReleaseAgent(path) || !write && procMem.MatchString(path)
}

// chmod: on a watched path, setuid or setgid anywhere, an execute bit
// under ExecPaths.
func (pr pathRules) chmod(path string, mode uint32) bool {
	return pr.all.match(path) || mode&0o6000 != 0 || mode&0o111 != 0 && pr.execs.match(path)
}

// changed: an unlink, rename or truncation of a watched path (either of
// a rename's).
func (pr pathRules) changed(path, path2 string) bool {
	return pr.all.match(path) || pr.all.match(path2)
}

// link: a link made at a watched path or to a read-watched target.
func (pr pathRules) link(target, newPath string) bool {
	return pr.all.match(newPath) || pr.reads.match(target)
}
