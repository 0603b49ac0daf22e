//go:build !amd64

package sensor

// syscallNumbers is empty off x86-64: the programs read system call
// arguments from x86-64 registers, so loadEBPF refuses to load them and
// the sensor runs degraded (proc connector and /proc).
var syscallNumbers = map[string]uint32{}

// compatSyscallNumbers is empty off x86-64 (no ia32 compat layer).
var compatSyscallNumbers = map[string]uint32{}
