package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// loopResult is what a loop prints.
type loopResult struct {
	Elapsed time.Duration
	Ops     int64
	Errors  int64
	First   error
}

func runLoop(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 1000, "operations (exec-loop, connect-loop: in all; open-loop: per worker)")
	w := fs.Int("w", 2, "workers")
	path := fs.String("path", "", "open-loop: the file to open")
	bin := fs.String("bin", "/bin/true", "exec-loop: the program to run")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n <= 0 || *w <= 0 {
		return errors.New("-n and -w must be positive")
	}
	var (
		res loopResult
		err error
	)
	switch cmd {
	case "exec-loop":
		res, err = execLoop(ctx, *bin, *n, *w)
	case "open-loop":
		if *path == "" {
			return errors.New("open-loop needs -path")
		}
		res, err = openLoop(ctx, *path, *n, *w)
	case "connect-loop":
		res, err = connectLoop(ctx, *n, *w)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%.6f %d %d\n", res.Elapsed.Seconds(), res.Ops, res.Errors)
	if res.Errors > 0 {
		return fmt.Errorf("%s: %d of %d operations failed, first: %w", cmd, res.Errors, res.Ops, res.First)
	}
	return nil
}

// parallel runs work(worker, i) for i in [0, per[worker]) on len(per)
// goroutines, each locked to its OS thread, started together; it stops
// early when ctx ends.
func parallel(ctx context.Context, per []int, work func(worker, i int) error) loopResult {
	// Counts are kept per worker (no shared cache line in the hot loop)
	// and added up at the end.
	var (
		wg     sync.WaitGroup
		first  error
		once   sync.Once
		start  = make(chan struct{})
		ready  sync.WaitGroup
		doneAt = make([]time.Time, len(per))
		ops    = make([]int64, len(per))
		errs   = make([]int64, len(per))
	)
	for wk, count := range per {
		wg.Add(1)
		ready.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready.Done()
			<-start
			for i := range count {
				if i&255 == 0 && ctx.Err() != nil {
					break
				}
				if err := work(wk, i); err != nil {
					errs[wk]++
					once.Do(func() { first = err })
				}
				ops[wk]++
			}
			doneAt[wk] = time.Now()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	wg.Wait()
	end := t0
	for _, t := range doneAt {
		if t.After(end) {
			end = t
		}
	}
	r := loopResult{Elapsed: end.Sub(t0), First: first}
	for wk := range per {
		r.Ops += ops[wk]
		r.Errors += errs[wk]
	}
	if err := ctx.Err(); err != nil && r.First == nil {
		r.First, r.Errors = err, r.Errors+1
	}
	return r
}

// split divides n operations among w workers.
func split(n, w int) []int {
	per := make([]int, w)
	for i := range per {
		per[i] = n / w
		if i < n%w {
			per[i]++
		}
	}
	return per
}

// execLoop forks and executes bin n times in all (the Go runtime's
// clone(CLONE_VFORK)+execve, as every Go program does) and waits for it.
func execLoop(ctx context.Context, bin string, n, w int) (loopResult, error) {
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return loopResult{}, err
	}
	defer null.Close()
	attr := &os.ProcAttr{Files: []*os.File{null, null, null}}
	argv := []string{bin}
	return parallel(ctx, split(n, w), func(int, int) error {
		p, err := os.StartProcess(bin, argv, attr)
		if err != nil {
			return err
		}
		st, err := p.Wait()
		if err != nil {
			return err
		}
		if !st.Success() {
			return fmt.Errorf("%s: %s", bin, st)
		}
		return nil
	}), nil
}

// openLoop opens path read-only and closes it, n times per worker, with
// raw system calls (openat, close).
func openLoop(ctx context.Context, path string, n, w int) (loopResult, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return loopResult{}, fmt.Errorf("open %s: %w", path, err)
	}
	syscall.Close(fd)
	per := make([]int, w)
	for i := range per {
		per[i] = n
	}
	return parallel(ctx, per, func(int, int) error {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		return syscall.Close(fd)
	}), nil
}

// connectLoop starts a loopback listener that accepts and closes, then
// connects and closes n times in all with raw system calls (socket,
// connect, close). The client closes with SO_LINGER 0 (a reset) so that
// no TIME_WAIT sockets pile up and use up the ephemeral ports over the
// benchmark's hundreds of thousands of connections.
func connectLoop(ctx context.Context, n, w int) (loopResult, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return loopResult{}, err
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	sa := &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	linger := &syscall.Linger{Onoff: 1, Linger: 0}
	return parallel(ctx, split(n, w), func(int, int) error {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer syscall.Close(fd)
		if err := syscall.Connect(fd, sa); err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		return syscall.SetsockoptLinger(fd, syscall.SOL_SOCKET, syscall.SO_LINGER, linger)
	}), nil
}
