package hostinv

import (
	"runtime"
	"syscall"
)

// machineArch returns the machine hardware name of uname(2) ("x86_64"),
// or GOARCH when uname fails.
func machineArch() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return runtime.GOARCH
	}
	if s := cString(u.Machine[:]); s != "" {
		return s
	}
	return runtime.GOARCH
}

// cString converts a NUL-terminated uname field (int8 or uint8 by
// architecture) to a string.
func cString[T ~int8 | ~uint8](b []T) string {
	buf := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		buf = append(buf, byte(c))
	}
	return string(buf)
}
