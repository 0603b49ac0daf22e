package iac

import (
	"context"
	"runtime"
	"sync"
)

// ForEach calls fn(i) for every i in [0, n) on at most GOMAXPROCS
// goroutines and returns when all calls are done or ctx is cancelled
// (calls not yet started are then skipped). Loaders parse files with it:
// fn writes its result into a slot of its own, so the caller keeps the
// file order.
func ForEach(ctx context.Context, n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			if ctx.Err() != nil {
				return
			}
			fn(i)
		}
		return
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// ParseFiles is the body of a loader whose formats are one file each: it
// reads every file of in that match accepts (bounded by in.ReadFile),
// parses them on the ForEach pool and returns the resources in file order
// and one FileError per file that could not be read or parsed.
func ParseFiles(ctx context.Context, in *Input, match func(name string) bool, parse func(name string, data []byte) ([]Resource, error)) ([]Resource, []FileError) {
	var files []string
	for _, f := range in.Files {
		if match(f) {
			files = append(files, f)
		}
	}
	type result struct {
		res []Resource
		err error
	}
	out := make([]result, len(files))
	ForEach(ctx, len(files), func(i int) {
		data, err := in.ReadFile(files[i])
		if err != nil {
			out[i].err = err
			return
		}
		out[i].res, out[i].err = parse(files[i], data)
	})
	var rs []Resource
	var errs []FileError
	for i, r := range out {
		if r.err != nil {
			errs = append(errs, FileError{File: files[i], Err: r.err})
			continue
		}
		rs = append(rs, r.res...)
	}
	return rs, errs
}
