package guard

import (
	"fmt"
	"io"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary act as an attack helper instead of
// running tests: the tests run it (on the host and copied into a
// container image) to do what no shell can.
const helperEnv = "VIGIL_GUARD_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		err := helper(h, os.Args[1:])
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", h, err)
		os.Exit(1) // a helper that succeeds has exec'd something else
	}
	os.Exit(m.Run())
}

// helper runs one helper and does not return unless it fails.
//
//	memfd SRC ARGV...: copy SRC into a memfd and execute it from there
//	  (fileless execution).
//	deleted SRC TMP ARGV...: copy SRC to TMP, open it, remove TMP and
//	  execute the open, deleted file.
func helper(name string, args []string) error {
	n := 2
	if name == "deleted" {
		n = 3
	}
	if len(args) < n {
		return fmt.Errorf("too few arguments: %q", args)
	}
	src, argv := args[0], args[n-1:]
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	var fd int
	switch name {
	case "memfd":
		if fd, err = unix.MemfdCreate("vigil-payload", 0); err != nil {
			return fmt.Errorf("memfd_create: %w", err)
		}
		out := os.NewFile(uintptr(fd), "memfd")
		if _, err := io.Copy(out, in); err != nil {
			return err
		}
		// fd stays open (not close-on-exec) for the exec below.
	case "deleted":
		tmp := args[1]
		out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, in)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		// Opened read-only: a file open for writing cannot be executed.
		if fd, err = unix.Open(tmp, unix.O_RDONLY, 0); err != nil {
			return err
		}
		if err := os.Remove(tmp); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown helper")
	}
	return unix.Exec(fmt.Sprintf("/proc/self/fd/%d", fd), argv, os.Environ())
}
