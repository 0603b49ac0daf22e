package guard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary act as an attack helper instead of
// running tests: the tests run it (on the host and copied into a
// container image) to do what no shell can.
const helperEnv = "VIGIL_GUARD_HELPER"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		if h == "handle-open" {
			res, err := handleOpen(os.Args[1])
			if err != nil {
				fmt.Fprintf(os.Stderr, "helper %s: %v\n", h, err)
				os.Exit(3)
			}
			fmt.Printf("open_by_handle_at: fd %d\n", res)
			os.Exit(0)
		}
		if h == "setns-net" {
			// Join PID's network namespace (from a container: the host's).
			runtime.LockOSThread()
			fd, err := unix.Open("/proc/"+os.Args[1]+"/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err == nil {
				err = unix.Setns(fd, unix.CLONE_NEWNET)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "helper %s: %v\n", h, err)
				os.Exit(3)
			}
			fmt.Println("joined")
			os.Exit(0)
		}
		if h == "pvm-read" {
			// process_vm_readv of another process (an unmapped address:
			// the attempt is what the sensor reports).
			pid, _ := strconv.Atoi(os.Args[1])
			buf := make([]byte, 8)
			_, err := unix.ProcessVMReadv(pid, []unix.Iovec{{Base: &buf[0], Len: 8}}, []unix.RemoteIovec{{Base: 0x1000, Len: 8}}, 0)
			fmt.Printf("process_vm_readv: %v\n", err)
			os.Exit(0)
		}
		if h == "uring-open" {
			res, err := uringOpen(os.Args[1])
			if err != nil {
				fmt.Fprintf(os.Stderr, "helper %s: %v\n", h, err)
				os.Exit(3)
			}
			fmt.Printf("io_uring open: %d\n", res)
			os.Exit(0)
		}
		err := helper(h, os.Args[1:])
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", h, err)
		os.Exit(1) // a helper that succeeds has exec'd something else
	}
	os.Exit(m.Run())
}

// helper runs one helper and does not return unless it fails.
//
//	handle-open PATH (run by TestMain): open PATH by its file handle
//	  (name_to_handle_at, then open_by_handle_at on its mount), as
//	  the "shocker" escape opens the host's files.
//	setns-net PID (run by TestMain): join PID's network namespace.
//	pvm-read PID (run by TestMain): read PID's memory with
//	  process_vm_readv.
//	uring-open PATH (run by TestMain): open PATH read-only through
//	  io_uring, with no open system call, and print the result.
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

// uringOpen opens path read-only through io_uring (IORING_OP_OPENAT) — as
// a rootkit hiding from system-call hooks would — and returns the
// request's result (the fd, or -errno). Written against the kernel's
// ring ABI (<linux/io_uring.h>) directly: one request, no library.
func uringOpen(path string) (int32, error) {
	var p struct { // struct io_uring_params
		SQEntries, CQEntries, Flags, SQThreadCPU, SQThreadIdle, Features, WQFd uint32
		Resv                                                                   [3]uint32
		SQOff                                                                  struct {
			Head, Tail, RingMask, RingEntries, Flags, Dropped, Array, Resv1 uint32
			UserAddr                                                        uint64
		}
		CQOff struct {
			Head, Tail, RingMask, RingEntries, Overflow, CQEs, Flags, Resv1 uint32
			UserAddr                                                        uint64
		}
	}
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return 0, fmt.Errorf("io_uring_setup: %w", errno)
	}
	defer unix.Close(int(fd))
	mmap := func(off int64, n uint32) ([]byte, error) {
		return unix.Mmap(int(fd), off, int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	}
	sq, err := mmap(0, p.SQOff.Array+p.SQEntries*4) // IORING_OFF_SQ_RING
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(sq)
	cq, err := mmap(0x8000000, p.CQOff.CQEs+p.CQEntries*16) // IORING_OFF_CQ_RING
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(cq)
	sqes, err := mmap(0x10000000, p.SQEntries*64) // IORING_OFF_SQES
	if err != nil {
		return 0, err
	}
	defer unix.Munmap(sqes)
	name := append([]byte(path), 0)
	sqe := sqes[:64]
	clear(sqe)
	sqe[0] = 18 // IORING_OP_OPENAT
	atFdcwd := int32(unix.AT_FDCWD)
	binary.LittleEndian.PutUint32(sqe[4:], uint32(atFdcwd)) // fd
	binary.LittleEndian.PutUint64(sqe[16:], uint64(uintptr(unsafe.Pointer(&name[0]))))
	binary.LittleEndian.PutUint32(sqe[28:], unix.O_RDONLY) // open_flags
	binary.LittleEndian.PutUint32(sq[p.SQOff.Array:], 0)
	tail := (*uint32)(unsafe.Pointer(&sq[p.SQOff.Tail]))
	atomic.StoreUint32(tail, atomic.LoadUint32(tail)+1)
	_, _, errno = unix.Syscall6(unix.SYS_IO_URING_ENTER, fd, 1, 1, 1 /* IORING_ENTER_GETEVENTS */, 0, 0)
	runtime.KeepAlive(name)
	if errno != 0 {
		return 0, fmt.Errorf("io_uring_enter: %w", errno)
	}
	if atomic.LoadUint32((*uint32)(unsafe.Pointer(&cq[p.CQOff.Tail]))) == atomic.LoadUint32((*uint32)(unsafe.Pointer(&cq[p.CQOff.Head]))) {
		return 0, errors.New("io_uring: no completion")
	}
	head := atomic.LoadUint32((*uint32)(unsafe.Pointer(&cq[p.CQOff.Head])))
	mask := binary.LittleEndian.Uint32(cq[p.CQOff.RingMask:])
	cqe := cq[p.CQOff.CQEs+(head&mask)*16:]
	return int32(binary.LittleEndian.Uint32(cqe[8:])), nil
}

// handleOpen opens path by its file handle, on the path's own mount (in
// a container, /etc/hostname is the host's file bind-mounted).
func handleOpen(path string) (int, error) {
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, path, 0)
	if err != nil {
		return 0, fmt.Errorf("name_to_handle_at: %w", err)
	}
	mnt, err := unix.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(mnt)
	fd, err := unix.OpenByHandleAt(mnt, h, unix.O_RDONLY)
	if err != nil {
		return 0, fmt.Errorf("open_by_handle_at: %w", err)
	}
	unix.Close(fd)
	return fd, nil
}
