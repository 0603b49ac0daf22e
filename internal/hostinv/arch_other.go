//go:build !linux

package hostinv

import "runtime"

// machineArch returns GOARCH: uname is only read on Linux.
func machineArch() string { return runtime.GOARCH }
